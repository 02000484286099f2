"""The staff pages, all under /staff/ and the `staff:` namespace."""

from django.urls import path

from staff.views import access, case, compliance, incidents, mail, privacy, queues, related, reports

app_name = "staff"

urlpatterns = [
    path("queue/", queues.agent_queue, name="queue"),
    path("queue/<slug:tab>/", queues.agent_queue, name="queue_tab"),
    path("escalated/", queues.manager_queue, name="manager_queue"),
    path("cases/<str:reference>/", case.case, name="case"),
    # The actions on a case, all POST.
    path("cases/<str:reference>/reply/", case.reply, name="reply"),
    path("cases/<str:reference>/note/", case.note, name="note"),
    path("cases/<str:reference>/request_info/", case.request_info, name="request_info"),
    path("cases/<str:reference>/reclassify/", case.reclassify, name="reclassify"),
    path("cases/<str:reference>/assign/", case.assign, name="assign"),
    path("cases/<str:reference>/escalate/", case.escalate, name="escalate"),
    path("cases/<str:reference>/de_escalate/", case.de_escalate, name="de_escalate"),
    path("cases/<str:reference>/resolve/", case.resolve, name="resolve"),
    path("cases/<str:reference>/incident/", incidents.link_case, name="link_incident"),
    # Its related and linked cases: link to each other (staff), or to an incident (leads).
    path("cases/<str:reference>/links/", related.relate, name="relate"),
    path("cases/<str:reference>/links/remove/", related.unrelate, name="unrelate"),
    path(
        "cases/<str:reference>/related-incident/", related.link_related_incident, name="link_related_incident"
    ),
    # Incidents: team leads and managers.
    path("incidents/", incidents.incidents, name="incidents"),
    path("incidents/link-search/", incidents.link_search, name="link_search"),
    path("incidents/<slug:slug>/", incidents.incident, name="incident"),
    path("incidents/<slug:slug>/update/", incidents.update, name="incident_update"),
    path("incidents/<slug:slug>/resolve/", incidents.resolve, name="incident_resolve"),
    path("incidents/<slug:slug>/reply-all/", incidents.reply_linked, name="incident_reply_all"),
    path("incidents/<slug:slug>/resolve-all/", incidents.resolve_linked, name="incident_resolve_all"),
    # Wave alerts (the queues' banner): dismissed here, declared through the incidents' form.
    path("waves/<uuid:public_id>/dismiss/", incidents.dismiss_wave, name="wave_dismiss"),
    # Who saw what: the access log, for managers and privacy officers.
    path("cases/<str:reference>/access/", access.case_access, name="case_access"),
    path("access/", access.access_log, name="access_log"),
    path("mail/", mail.mail_review, name="mail_review"),
    path("mail/<slug:tab>/", mail.mail_review, name="mail_review_tab"),
    path("mail/<int:pk>/original.eml", mail.mail_original, name="mail_original"),
    path("mail/<int:pk>/attach/", mail.mail_attach, name="mail_attach"),
    path("mail/<int:pk>/open/", mail.mail_open, name="mail_open"),
    path("mail/<int:pk>/discard/", mail.mail_discard, name="mail_discard"),
    path("privacy/", privacy.privacy_requests, name="privacy_requests"),
    path("privacy/<slug:tab>/", privacy.privacy_requests, name="privacy_requests_tab"),
    path("privacy/requests/<int:pk>/", privacy.privacy_request, name="privacy_request"),
    path("privacy/requests/<int:pk>/answer/", privacy.privacy_answer, name="privacy_answer"),
    path("privacy/cases/<str:reference>/lift/", privacy.privacy_lift, name="privacy_lift"),
    path("dashboard/", reports.sla_dashboard, name="dashboard"),
    path("export.csv", reports.export_complaints, name="export"),
    path("compliance/", compliance.compliance_report, name="compliance"),
    path("compliance.csv", compliance.compliance_csv, name="compliance_csv"),
]
