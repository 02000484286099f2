from django.urls import path

from evidence import views

app_name = "evidence"

urlpatterns = [
    path("complaints/<str:reference>/evidence/", views.upload, name="upload"),
    path("complaints/<str:reference>/dossier.zip", views.dossier, name="dossier"),
    path("evidence/<uuid:public_id>/<str:variant>/", views.download, name="download"),
]
