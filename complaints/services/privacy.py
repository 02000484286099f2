"""Requests about personal data: access, correction, erasure, restriction and objection.

A complainant makes one from a case's page; it becomes its own kind of case for the
privacy officers, due PRIVACY_REQUEST_WORKING_HOURS of working time later on the case's
business calendar (the SLA engine's), and each step goes on the case's timeline. A
restriction, once granted, freezes the case's processing (no notice goes out, no dossier
or staff export includes it) until lifted. The notices about the request itself are not
tied to the case, so a restriction does not hold them back.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from complaints.models import (
    ActorRole,
    Complaint,
    EventKind,
    Notification,
    NotificationStatus,
    PrivacyRequest,
    PrivacyRequestKind,
    PrivacyRequestStatus,
)
from complaints.records import notice_values, nudge_delivery, record_event
from complaints.refusals import ActionRefused
from complaints.security import alert_recipients
from complaints.services import retention
from escalation import sla
from escalation.policies import policy_for


def due_at(complaint: Complaint, now: datetime) -> datetime:
    """PRIVACY_REQUEST_WORKING_HOURS of working time from `now` on the case's calendar."""
    _policy, calendar = policy_for(complaint)
    return sla.add_business_time(now, timedelta(hours=settings.PRIVACY_REQUEST_WORKING_HOURS), calendar)


def make_request(*, complaint: Complaint, kind: str, details: str, by: Any, now: datetime) -> PrivacyRequest:
    """Record the complainant's request, on the timeline too; acknowledge it to them and tell
    the privacy officers. Refused for a case whose data was erased (nothing left to ask about)."""
    with transaction.atomic():
        complaint = Complaint.objects.locked(complaint)
        if complaint.anonymised_at is not None:
            raise ActionRefused(_("This complaint's personal data was erased."), code="anonymised")
        request = PrivacyRequest.objects.create(
            complaint=complaint,
            kind=kind,
            details=details,
            requester=by if getattr(by, "is_authenticated", False) else None,
            email=complaint.contact_email,
            language=complaint.language,
            created_at=now,
            due_at=due_at(complaint, now),
        )
        record_event(
            complaint=complaint,
            kind=EventKind.PRIVACY_REQUEST,
            by=by,
            now=now,
            actor_role=ActorRole.COMPLAINANT,
            body=details,
            payload={"request": request.pk, "kind": kind, "due_at": request.due_at.isoformat()},
        )
        _notify(request, kind="received", now=now)
        _tell_officers(request, now=now)
    return request


def answer_request(
    *, request: PrivacyRequest, outcome: str, answer: str, by: Any, now: datetime
) -> PrivacyRequest:
    """A privacy officer answers: done (an erasure erases the case's data now, a restriction
    freezes its processing) or refused, with the reasons. The requester is told."""
    with transaction.atomic():
        request = PrivacyRequest.objects.select_for_update().select_related("complaint").get(pk=request.pk)
        if request.status != PrivacyRequestStatus.OPEN:
            raise ActionRefused(_("This request was already answered."), code="answered")
        if outcome == PrivacyRequestStatus.REFUSED and not answer.strip():
            raise ActionRefused(_("Say why the request is refused."), code="no_reason")
        complaint = Complaint.objects.locked(request.complaint)
        if outcome == PrivacyRequestStatus.DONE:
            if request.kind == PrivacyRequestKind.ERASURE:
                if complaint.legal_hold_reason:
                    raise ActionRefused(
                        _(
                            "A legal hold keeps this case's data: lift it first, or refuse the "
                            "request with the reason."
                        ),
                        code="held",
                    )
                if complaint.is_open:
                    raise ActionRefused(
                        _("The case is still open: close or withdraw it before erasing its data."),
                        code="open",
                    )
            elif (
                request.kind == PrivacyRequestKind.RESTRICTION and complaint.processing_restricted_at is None
            ):
                complaint.processing_restricted_at = now
                Complaint.objects.filter(pk=complaint.pk).update(processing_restricted_at=now)
        request.status, request.answer, request.handled_by, request.handled_at = outcome, answer, by, now
        request.save(update_fields=["status", "answer", "handled_by", "handled_at"])
        record_event(
            complaint=complaint,
            kind=EventKind.PRIVACY_REQUEST_ANSWERED,
            by=by,
            now=now,
            actor_role=ActorRole.STAFF,
            body=answer,
            payload={"request": request.pk, "kind": request.kind, "status": outcome},
        )
        _notify(request, kind=outcome, now=now)
        if outcome == PrivacyRequestStatus.DONE and request.kind == PrivacyRequestKind.ERASURE:
            retention.erase_now(complaint, now=now)
    return request


def lift_restriction(*, complaint: Complaint, by: Any, now: datetime) -> Complaint:
    """Processing resumes: the notices held back while it was restricted go out now."""
    with transaction.atomic():
        complaint = Complaint.objects.locked(complaint)
        if complaint.processing_restricted_at is None:
            raise ActionRefused(_("The processing of this case is not restricted."), code="not_restricted")
        Complaint.objects.filter(pk=complaint.pk).update(processing_restricted_at=None)
        complaint.processing_restricted_at = None
        Notification.objects.filter(complaint=complaint, status=NotificationStatus.PENDING).update(
            next_attempt_at=now
        )
        record_event(
            complaint=complaint,
            kind=EventKind.PRIVACY_REQUEST_ANSWERED,
            by=by,
            now=now,
            actor_role=ActorRole.STAFF,
            public=True,
            payload={"restriction": "lifted"},
        )
        transaction.on_commit(nudge_delivery)
    return complaint


def _notify(request: PrivacyRequest, *, kind: str, now: datetime) -> None:
    Notification.objects.create(
        **notice_values(
            email=request.email,
            template="privacy_request",
            language=request.language,
            context={
                "kind": kind,
                "request_kind": request.kind,
                "reference": request.complaint.reference,
                "answer": request.answer,
                "due_at": request.due_at.isoformat(),
            },
            now=now,
        )
    )
    transaction.on_commit(nudge_delivery)


def _tell_officers(request: PrivacyRequest, *, now: datetime) -> None:
    """The privacy officers (the administrators when there is none) hear of a new request."""
    Notification.objects.bulk_create(
        [
            Notification(
                **notice_values(
                    recipient_id=officer.pk,
                    email=officer.email,
                    template="privacy_request",
                    language=officer.preferred_language,
                    context={
                        "kind": "new",
                        "request_kind": request.kind,
                        "request": request.pk,
                        "due_at": request.due_at.isoformat(),
                    },
                    now=now,
                )
            )
            for officer in alert_recipients()
        ]
    )
