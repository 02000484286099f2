from django.urls import path

from complaints import queue_views

app_name = "staff"

urlpatterns = [
    path("queue/", queue_views.agent_queue, name="queue"),
    path("queue/<slug:tab>/", queue_views.agent_queue, name="queue_tab"),
]
