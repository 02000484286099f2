"""Root URLconf: each app's URLs under its own namespace. The only importer of `staff`."""

from django.contrib import admin
from django.urls import include, path

from complaints import views as complaint_views
from config import views

urlpatterns = [
    path("", complaint_views.home, name="home"),
    path("privacy/", complaint_views.privacy_notice, name="privacy"),
    path("accounts/", include("accounts.urls")),
    path("", include("evidence.urls")),
    path("complaints/", include("complaints.urls")),
    # A known problem's public page (complaints.services.incidents).
    path("incidents/<slug:slug>/", complaint_views.incident_page, name="incident"),
    path("staff/", include("staff.urls")),
    # Mail providers' inbound webhooks (django-anymail), e.g. /inbound/postmark/inbound/.
    path("inbound/", include("complaints.webhooks")),
    path("admin/", admin.site.urls),
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon, name="favicon"),
]

handler400 = "config.views.bad_request"
handler500 = "config.views.server_error"
