from django.urls import path

from complaints import queue_views, workspace_views

app_name = "staff"

urlpatterns = [
    path("queue/", queue_views.agent_queue, name="queue"),
    path("queue/<slug:tab>/", queue_views.agent_queue, name="queue_tab"),
    # The staff actions on a case (complaints.workspace_views), all POST.
    path("cases/<str:reference>/reply/", workspace_views.staff_reply, name="reply"),
    path("cases/<str:reference>/note/", workspace_views.staff_note, name="note"),
    path("cases/<str:reference>/request_info/", workspace_views.staff_request_info, name="request_info"),
    path("cases/<str:reference>/reclassify/", workspace_views.staff_reclassify, name="reclassify"),
    path("cases/<str:reference>/assign/", workspace_views.staff_assign, name="assign"),
    path("cases/<str:reference>/escalate/", workspace_views.staff_escalate, name="escalate"),
    path("cases/<str:reference>/de_escalate/", workspace_views.staff_de_escalate, name="de_escalate"),
    path("cases/<str:reference>/resolve/", workspace_views.staff_resolve, name="resolve"),
]
