from django.urls import path

from escalation import dashboard_views, views

app_name = "escalation"

urlpatterns = [
    path("escalated/", views.manager_queue, name="manager_queue"),
    path("dashboard/", dashboard_views.sla_dashboard, name="dashboard"),
    path("export.csv", dashboard_views.export_complaints, name="export"),
]
