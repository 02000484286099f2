from django.urls import path

from complaints import views

app_name = "complaints"

urlpatterns = [
    path("new/", views.complaint_create, name="create"),
    path("new/incidents/", views.known_incidents, name="matching_incidents"),
    path("find/", views.find_complaint, name="find"),
    path("mine/", views.my_complaints, name="mine"),
    path("mine/my-data.zip", views.my_data_export, name="my_data"),
    path("track/<str:token>/", views.track, name="track"),
    path("<str:reference>/", views.complaint_detail, name="detail"),
    path("<str:reference>/submitted/", views.complaint_submitted, name="submitted"),
    path("<str:reference>/incident/", views.complaint_join_incident, name="join_incident"),
    path("<str:reference>/complete/", views.complaint_complete, name="complete"),
    path("<str:reference>/reply/", views.complaint_reply, name="reply"),
    path("<str:reference>/contacts/", views.complaint_add_contact, name="add_contact"),
    path("<str:reference>/remind/", views.complaint_remind, name="remind"),
    path("<str:reference>/withdraw/", views.complaint_withdraw, name="withdraw"),
    path("<str:reference>/consent/", views.complaint_withdraw_consent, name="withdraw_consent"),
    path("<str:reference>/contact-details/", views.complaint_correct_contact, name="correct_contact"),
    path("<str:reference>/my-data.zip", views.complaint_export, name="export"),
    path("<str:reference>/privacy-request/", views.complaint_privacy_request, name="privacy_request"),
    path("<str:reference>/accept/", views.complaint_accept, name="accept"),
    path("<str:reference>/dispute/", views.complaint_dispute, name="dispute"),
    path("<str:reference>/rate/", views.complaint_rate, name="rate"),
    path("<str:reference>/escalate/", views.complaint_request_escalation, name="request_escalation"),
]
