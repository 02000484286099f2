from django.urls import path

from escalation import views

app_name = "escalation"

urlpatterns = [
    path("escalated/", views.manager_queue, name="manager_queue"),
]
