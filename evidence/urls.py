from django.urls import path

from evidence import views

app_name = "evidence"

urlpatterns = [
    path("complaints/<str:reference>/evidence/", views.upload, name="upload"),
    path("complaints/<str:reference>/dossier.zip", views.dossier, name="dossier"),
    path("evidence/staged/", views.stage, name="stage"),
    path("evidence/staged/<uuid:public_id>/remove/", views.unstage, name="unstage"),
    path("evidence/<uuid:public_id>/<str:variant>/", views.download, name="download"),
]
