"""What the complainant does to their case: complete one opened by e-mail, write, add a
contact, remind, withdraw, accept, dispute, rate, and ask for a fresh tracking link.

Every action takes `now` from its caller, runs in one transaction, locks the complaint,
appends its timeline event and queues its notices in the outbox. Asking for escalation
is a ladder move: `escalation.moves.request_escalation`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from complaints.models import (
    UNCLASSIFIED,
    ActorRole,
    Complaint,
    ContactAttempt,
    EventKind,
    Status,
    Subcategory,
)
from complaints.records import notify_assignee, notify_complainant, record_event
from complaints.refusals import ActionRefused, TransitionNotAllowed
from complaints.rules import check_completable, check_open, check_reminder
from complaints.search import provider_key
from complaints.services import retention
from complaints.services.intake import contact_attempt
from complaints.services.lifecycle import save, transition
from escalation import clock, letters


def complete_complaint(
    *,
    complaint: Complaint,
    by: Any,
    now: datetime,
    subcategory: Subcategory,
    provider_name: str,
    occurred_at: datetime,
    desired_outcome: str,
    consent_version: str,
    first_reported_at: datetime | None = None,
) -> Complaint:
    """Give an incomplete complaint (opened by e-mail) the parts it lacked and clear its mark;
    record the complainant's consent to the privacy notice of `consent_version`.

    Its category is now `subcategory`'s and its complexity that one's default (unless staff
    had already put it there: their complexity stands); the deadlines
    are recomputed from when the clock started (at receipt). Appends a public COMPLETED event
    naming the parts that were missing, and tells the assignee. Raises ActionRefused if the
    complaint is closed, already complete, or `subcategory` is the unclassified one. Locks the
    complaint; bumps its version.
    """
    if subcategory.category.slug == UNCLASSIFIED:
        raise ActionRefused(_("Choose what the problem is about."), code="unclassified")
    with transaction.atomic():
        complaint = Complaint.objects.locked(complaint)
        check_completable(complaint)
        missing = list(complaint.missing_parts)
        fields = clock.settle(complaint=complaint, now=now)  # under the old targets
        if complaint.subcategory_id != subcategory.pk:  # else staff's triage of it stands
            complaint.complexity = subcategory.default_complexity
        complaint.category_id, complaint.subcategory_id = subcategory.category_id, subcategory.pk
        complaint.provider_name, complaint.desired_outcome = provider_name, desired_outcome
        complaint.provider_key = provider_key(provider_name)
        complaint.occurred_at, complaint.first_reported_at = occurred_at, first_reported_at
        complaint.incomplete_since, complaint.missing_parts = None, []
        complaint.consent_version, complaint.consent_given_at = consent_version, now
        fields += [
            "consent_version",
            "consent_given_at",
            "category",
            "subcategory",
            "complexity",
            "provider_name",
            "provider_key",
            "desired_outcome",
            "occurred_at",
            "first_reported_at",
            "incomplete_since",
            "missing_parts",
        ]
        fields += clock.recompute_deadlines(complaint=complaint, now=now)
        if acknowledged := letters.acknowledge_late(complaint, now=now):
            clock.reschedule(complaint)  # the acknowledgement deadline is met
            fields += [*acknowledged, "next_check_at"]
        record_event(
            complaint=complaint,
            kind=EventKind.COMPLETED,
            by=by,
            now=now,
            actor_role=ActorRole.COMPLAINANT,
            payload={"missing": missing, "subcategory": subcategory.pk},
        )
        save(complaint, fields)
        notify_assignee(complaint, kind="completed", now=now)
    return complaint


def add_contact(*, complaint: Complaint, data: dict[str, Any], by: Any, now: datetime) -> ContactAttempt:
    """Add an earlier contact with the provider to an open complaint's history.

    Raises ActionRefused if the complaint is closed. Locks the complaint; bumps its version.
    """
    with transaction.atomic():
        complaint = Complaint.objects.locked(complaint)
        check_open(complaint)
        contact = contact_attempt(complaint=complaint, data=data, now=now)
        contact.save()
        record_event(
            complaint=complaint,
            kind=EventKind.CONTACT_LOGGED,
            by=by,
            now=now,
            actor_role=ActorRole.COMPLAINANT,
            body=contact.summary,
            payload={
                "contact_id": contact.pk,
                "channel": contact.channel,
                "contacted_at": contact.contacted_at.isoformat(),
                "with_whom": contact.with_whom,
                "their_reference": contact.their_reference,
            },
        )
        save(complaint, [])
    return contact


def reply_as_complainant(
    *, complaint: Complaint, body: str, by: Any, now: datetime, payload: dict[str, Any] | None = None
) -> Complaint:
    """Add the complainant's message; an answer to a request for information resumes the case.

    Notifies the assignee. Raises ActionRefused if the complaint is closed. `payload` goes
    on the timeline entry (a reply by e-mail names its sealed message and its files there).
    """
    with transaction.atomic():
        complaint = Complaint.objects.locked(complaint)
        check_open(complaint)
        record_event(
            complaint=complaint,
            kind=EventKind.REPLY,
            by=by,
            now=now,
            body=body,
            actor_role=ActorRole.COMPLAINANT,
            payload=payload,
        )
        fields: list[str] = []
        if complaint.status == Status.AWAITING_COMPLAINANT:
            fields = transition(complaint, Status.OPEN, by=by, now=now, actor_role=ActorRole.COMPLAINANT)
        save(complaint, fields)
        notify_assignee(complaint, kind="complainant_reply", now=now)
    return complaint


def send_reminder(*, complaint: Complaint, by: Any, now: datetime) -> Complaint:
    """Remind the support team of the case; at most once per 24 hours. Notifies the assignee.

    Raises NotAllowed or LimitReached (`complaints.rules.check_reminder`).
    """
    with transaction.atomic():
        complaint = Complaint.objects.locked(complaint)
        check_reminder(complaint, now=now)
        complaint.last_reminder_at = now
        record_event(
            complaint=complaint, kind=EventKind.REMINDER, by=by, now=now, actor_role=ActorRole.COMPLAINANT
        )
        save(complaint, ["last_reminder_at"])
        notify_assignee(complaint, kind="reminder", now=now)
    return complaint


def withdraw_complaint(*, complaint: Complaint, by: Any, now: datetime, reason: str = "") -> Complaint:
    """Withdraw the complaint (any time before it is closed). Notifies the assignee."""
    with transaction.atomic():
        complaint = Complaint.objects.locked(complaint)
        fields = transition(
            complaint,
            Status.WITHDRAWN,
            by=by,
            now=now,
            actor_role=ActorRole.COMPLAINANT,
            kind=EventKind.WITHDRAWN,
            body=reason,
        )
        save(complaint, fields)
        notify_assignee(complaint, kind="withdrawn", now=now)
    return complaint


def withdraw_consent(*, complaint: Complaint, by: Any, now: datetime) -> bool:
    """The complainant withdraws their consent to the processing of their data: an open case
    is withdrawn (its assignee told), the withdrawal goes on the timeline, and the personal
    data is erased at once, or, under a legal hold, as soon as the hold is lifted (the
    retention sweep takes it then). True if erased now. Raises ActionRefused once withdrawn."""
    with transaction.atomic():
        complaint = Complaint.objects.locked(complaint)
        if complaint.anonymised_at is not None or complaint.consent_withdrawn_at is not None:
            raise ActionRefused(_("Your consent is already withdrawn."), code="consent_withdrawn")
        if complaint.is_open:
            fields = transition(
                complaint,
                Status.WITHDRAWN,
                by=by,
                now=now,
                actor_role=ActorRole.COMPLAINANT,
                kind=EventKind.WITHDRAWN,
                payload={"reason": "consent_withdrawn"},
            )
            save(complaint, fields)
            notify_assignee(complaint, kind="withdrawn", now=now)
        complaint.consent_withdrawn_at = now
        save(complaint, ["consent_withdrawn_at"])
        record_event(
            complaint=complaint,
            kind=EventKind.CONSENT_WITHDRAWN,
            by=by,
            now=now,
            actor_role=ActorRole.COMPLAINANT,
        )
        return retention.erase_now(complaint, now=now)


def accept_resolution(*, complaint: Complaint, by: Any, now: datetime) -> Complaint:
    """The complainant accepts the outcome: the case closes. Raises TransitionNotAllowed."""
    with transaction.atomic():
        complaint = Complaint.objects.locked(complaint)
        if complaint.status != Status.RESOLVED:
            raise TransitionNotAllowed(_("Only a resolved complaint can be accepted."))
        fields = transition(
            complaint,
            Status.CLOSED,
            by=by,
            now=now,
            actor_role=ActorRole.COMPLAINANT,
            kind=EventKind.CLOSED,
            payload={"reason": "accepted"},
        )
        save(complaint, fields)
    return complaint


def dispute_resolution(*, complaint: Complaint, by: Any, now: datetime, reason: str) -> Complaint:
    """The complainant disputes the outcome within 14 days: the case reopens, its resolution
    clock restarts. Raises TransitionNotAllowed or ActionRefused (too late)."""
    with transaction.atomic():
        complaint = Complaint.objects.locked(complaint)
        if complaint.status != Status.RESOLVED:
            raise TransitionNotAllowed(_("Only a resolved complaint can be disputed."))
        if not complaint.can_dispute(now):
            raise ActionRefused(
                _("The 14 days to dispute this resolution have passed. You can file a new complaint.")
            )
        fields = transition(
            complaint,
            Status.OPEN,
            by=by,
            now=now,
            actor_role=ActorRole.COMPLAINANT,
            kind=EventKind.DISPUTED,
            body=reason,
        )
        save(complaint, fields)
        notify_assignee(complaint, kind="disputed", now=now)
    return complaint


def rate_handling(*, complaint: Complaint, rating: int, comment: str, by: Any, now: datetime) -> Complaint:
    """Record the complainant's 1-5 rating of how the case was handled (once). Raises ActionRefused."""
    with transaction.atomic():
        complaint = Complaint.objects.locked(complaint)
        if not complaint.can_rate:
            raise ActionRefused(_("This complaint cannot be rated now."))
        complaint.rating = rating
        complaint.rating_comment = comment
        record_event(
            complaint=complaint,
            kind=EventKind.RATED,
            by=by,
            now=now,
            body=comment,
            payload={"rating": rating},
            actor_role=ActorRole.COMPLAINANT,
        )
        save(complaint, ["rating", "rating_comment"])
    return complaint


def resend_tracking_link(*, reference: str, email: str, now: datetime) -> bool:
    """E-mail a fresh tracking link if reference and contact e-mail match; return whether they did.

    Callers must answer the same whatever this returns.
    """
    complaint = Complaint.objects.filter(reference=reference.strip().upper()).first()
    if complaint is None or complaint.contact_email.strip().lower() != email.strip().lower():
        return False
    with transaction.atomic():
        notify_complainant(complaint, template="tracking_link", now=now, with_tracking_link=True)
    return True
