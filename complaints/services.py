"""Complaint workflows: intake, the complainant's actions, status transitions, guest access.

Every service takes `now` from its caller, runs in one transaction, locks the complaint
it changes, appends timeline events and queues notices in the outbox.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext_lazy as _

from accounts.models import STAFF_ROLES
from complaints.models import (
    ActorRole,
    Complaint,
    ComplaintEvent,
    ContactAttempt,
    EventKind,
    Status,
    Subcategory,
    TrackingToken,
    hash_token,
)
from complaints.notifications import queue_notification
from complaints.search import search_text
from escalation import services as escalation_services


class ComplaintActionRefused(ValidationError):
    """A business rule refuses the action; the message says why, in the user's language."""


class TransitionNotAllowed(ComplaintActionRefused):
    """The lifecycle table does not allow this status change."""


def actor_role_of(user: Any) -> str:
    if user is not None and getattr(user, "is_authenticated", False) and user.is_agent:
        return ActorRole.STAFF
    return ActorRole.COMPLAINANT


def _user_or_none(user: Any) -> Any:
    return user if user is not None and getattr(user, "is_authenticated", False) else None


def _event(
    *,
    complaint: Complaint,
    kind: str,
    by: Any,
    now: datetime,
    public: bool = True,
    body: str = "",
    payload: dict[str, Any] | None = None,
    actor_role: str | None = None,
) -> ComplaintEvent:
    """An unsaved timeline event; without an actor and a role, the system acted."""
    return ComplaintEvent(
        complaint=complaint,
        kind=kind,
        actor=_user_or_none(by),
        actor_role=actor_role or (ActorRole.SYSTEM if by is None else actor_role_of(by)),
        created_at=now,
        public=public,
        body=body,
        payload=payload or {},
    )


def record_event(
    *,
    complaint: Complaint,
    kind: str,
    by: Any,
    now: datetime,
    public: bool = True,
    body: str = "",
    payload: dict[str, Any] | None = None,
    actor_role: str | None = None,
) -> ComplaintEvent:
    """Append one event to the complaint's timeline and return it."""
    event = _event(
        complaint=complaint,
        kind=kind,
        by=by,
        now=now,
        public=public,
        body=body,
        payload=payload,
        actor_role=actor_role,
    )
    event.save()
    return event


def _lock(complaint: Complaint) -> Complaint:
    """Re-read the complaint under a row lock; the caller's copy may be stale."""
    return Complaint.objects.select_for_update().get(pk=complaint.pk)


def _save(complaint: Complaint, fields: list[str]) -> None:
    complaint.version = F("version") + 1
    complaint.save(update_fields=[*dict.fromkeys(fields), "version"])
    complaint.refresh_from_db(fields=["version"])


def _notify_complainant(complaint: Complaint, *, template: str, now: datetime, **context: Any) -> None:
    queue_notification(
        template=template,
        email=complaint.contact_email,
        language=complaint.language,
        now=now,
        complaint=complaint,
        context=context,
    )


def _notify_assignee(complaint: Complaint, *, kind: str, now: datetime) -> None:
    assignee = complaint.assignee
    if assignee is None or not assignee.email:
        return
    queue_notification(
        template="staff_alert",
        email=assignee.email,
        language=assignee.preferred_language,
        now=now,
        complaint=complaint,
        recipient=assignee,
        context={"kind": kind},
    )


# --- Intake -----------------------------------------------------------------------------


def submit_complaint(
    *,
    data: dict[str, Any],
    contacts: list[dict[str, Any]],
    by: Any,
    now: datetime,
    submission_key: uuid.UUID | None = None,
    on_filed: Callable[[Complaint], object] | None = None,
) -> tuple[Complaint, bool]:
    """File a complaint with its contact history; return (complaint, created).

    A `submission_key` already used returns that complaint with created=False, so a
    reload or a double click files one complaint (the unique key decides, even when
    two submits race). Queues the acknowledgement e-mail, with a tracking link, in the
    outbox. Writes one statement per table: the complaint, its contacts, one SUBMITTED
    event (listing the contacts) and the notice.
    `on_filed(complaint)` runs inside the same transaction (the intake page attaches the
    evidence there), so everything is filed, or nothing.
    """
    subcategory: Subcategory = data["subcategory"]
    try:
        with transaction.atomic():
            complaint = Complaint(
                submission_key=submission_key,
                complainant=_user_or_none(by),
                category=subcategory.category,
                subcategory=subcategory,
                subject=data["subject"],
                description=data["description"],
                desired_outcome=data["desired_outcome"],
                occurred_at=data["occurred_at"],
                first_reported_at=data.get("first_reported_at"),
                contact_name=data["contact_name"],
                contact_email=data["contact_email"],
                contact_phone=data.get("contact_phone", ""),
                language=data["language"],
                provider_name=data["provider_name"],
                provider_username=data.get("provider_username", ""),
                provider_email=data.get("provider_email", ""),
                provider_account_id=data.get("provider_account_id", ""),
                steps_taken=data.get("steps_taken", ""),
                complexity=subcategory.default_complexity,
                submitted_at=now,
                status_changed_at=now,
            )
            complaint.search_text = search_text(
                complaint.reference, complaint.subject, complaint.description, complaint.contact_email
            )
            escalation_services.start_clock(complaint=complaint, now=now)
            complaint.save(force_insert=True)
            saved_contacts = ContactAttempt.objects.bulk_create(
                [_contact(complaint=complaint, data=contact, now=now) for contact in contacts]
            )
            # One event for the filing: the contacts given with it are part of it.
            record_event(
                complaint=complaint,
                kind=EventKind.SUBMITTED,
                by=by,
                now=now,
                actor_role=ActorRole.COMPLAINANT,
                payload={"contacts": [contact.pk for contact in saved_contacts]},
            )
            _notify_complainant(complaint, template="complaint_received", now=now, with_tracking_link=True)
            if on_filed is not None:
                on_filed(complaint)
    except IntegrityError:
        existing = Complaint.objects.filter(submission_key=submission_key).first() if submission_key else None
        if existing is None:
            raise
        return existing, False
    return complaint, True


def _contact(*, complaint: Complaint, data: dict[str, Any], now: datetime) -> ContactAttempt:
    return ContactAttempt(
        complaint=complaint,
        channel=data["channel"],
        contacted_at=data["contacted_at"],
        with_whom=data.get("with_whom", ""),
        their_reference=data.get("their_reference", ""),
        summary=data["summary"],
        created_at=now,
    )


def _contact_event(contact: ContactAttempt, *, by: Any, now: datetime) -> ComplaintEvent:
    return _event(
        complaint=contact.complaint,
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


def add_contact(*, complaint: Complaint, data: dict[str, Any], by: Any, now: datetime) -> ContactAttempt:
    """Add an earlier contact with the provider to an open complaint's history."""
    with transaction.atomic():
        complaint = _lock(complaint)
        if not complaint.is_open:
            raise ComplaintActionRefused(_("This complaint is closed; it can no longer be changed."))
        contact = _contact(complaint=complaint, data=data, now=now)
        contact.save()
        _contact_event(contact, by=by, now=now).save()
        _save(complaint, [])
    return contact


# --- The complainant's actions -------------------------------------------------------------


def reply_as_complainant(*, complaint: Complaint, body: str, by: Any, now: datetime) -> Complaint:
    """Add the complainant's message; an answer to a request for information resumes the case."""
    with transaction.atomic():
        complaint = _lock(complaint)
        if not complaint.is_open:
            raise ComplaintActionRefused(_("This complaint is closed; it can no longer be changed."))
        record_event(
            complaint=complaint,
            kind=EventKind.REPLY,
            by=by,
            now=now,
            body=body,
            actor_role=ActorRole.COMPLAINANT,
        )
        fields: list[str] = []
        if complaint.status == Status.AWAITING_COMPLAINANT:
            fields = _transition(complaint, Status.OPEN, by=by, now=now, actor_role=ActorRole.COMPLAINANT)
        _save(complaint, fields)
        _notify_assignee(complaint, kind="complainant_reply", now=now)
    return complaint


def send_reminder(*, complaint: Complaint, by: Any, now: datetime) -> Complaint:
    """Remind the support team of the case; at most once per 24 hours. Notifies the assignee."""
    with transaction.atomic():
        complaint = _lock(complaint)
        if not complaint.can_remind(now):
            if complaint.status not in (Status.NEW, Status.OPEN):
                raise ComplaintActionRefused(
                    _("A reminder can only be sent while the case is being handled.")
                )
            raise ComplaintActionRefused(
                _("You already sent a reminder in the last 24 hours. You can send another after %(time)s."),
                params={"time": complaint.next_reminder_at()},
                code="reminder_too_soon",
            )
        complaint.last_reminder_at = now
        record_event(
            complaint=complaint, kind=EventKind.REMINDER, by=by, now=now, actor_role=ActorRole.COMPLAINANT
        )
        _save(complaint, ["last_reminder_at"])
        _notify_assignee(complaint, kind="reminder", now=now)
    return complaint


def withdraw_complaint(*, complaint: Complaint, by: Any, now: datetime, reason: str = "") -> Complaint:
    """Withdraw the complaint (any time before it is closed)."""
    with transaction.atomic():
        complaint = _lock(complaint)
        fields = _transition(
            complaint,
            Status.WITHDRAWN,
            by=by,
            now=now,
            actor_role=ActorRole.COMPLAINANT,
            kind=EventKind.WITHDRAWN,
            body=reason,
        )
        _save(complaint, fields)
        _notify_assignee(complaint, kind="withdrawn", now=now)
    return complaint


def accept_resolution(*, complaint: Complaint, by: Any, now: datetime) -> Complaint:
    """The complainant accepts the outcome: the case closes."""
    with transaction.atomic():
        complaint = _lock(complaint)
        if complaint.status != Status.RESOLVED:
            raise TransitionNotAllowed(_("Only a resolved complaint can be accepted."))
        fields = _transition(
            complaint,
            Status.CLOSED,
            by=by,
            now=now,
            actor_role=ActorRole.COMPLAINANT,
            kind=EventKind.CLOSED,
            payload={"reason": "accepted"},
        )
        _save(complaint, fields)
    return complaint


def dispute_resolution(*, complaint: Complaint, by: Any, now: datetime, reason: str) -> Complaint:
    """The complainant disputes the outcome within 14 days: the case reopens."""
    with transaction.atomic():
        complaint = _lock(complaint)
        if complaint.status != Status.RESOLVED:
            raise TransitionNotAllowed(_("Only a resolved complaint can be disputed."))
        if not complaint.can_dispute(now):
            raise ComplaintActionRefused(
                _("The 14 days to dispute this resolution have passed. You can file a new complaint.")
            )
        fields = _transition(
            complaint,
            Status.OPEN,
            by=by,
            now=now,
            actor_role=ActorRole.COMPLAINANT,
            kind=EventKind.DISPUTED,
            body=reason,
        )
        _save(complaint, fields)
        _notify_assignee(complaint, kind="disputed", now=now)
    return complaint


def rate_handling(*, complaint: Complaint, rating: int, comment: str, by: Any, now: datetime) -> Complaint:
    """Record the complainant's 1-5 rating of how the case was handled (once)."""
    with transaction.atomic():
        complaint = _lock(complaint)
        if not complaint.can_rate:
            raise ComplaintActionRefused(_("This complaint cannot be rated now."))
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
        _save(complaint, ["rating", "rating_comment"])
    return complaint


# --- Staff actions ------------------------------------------------------------------------------


class StaleForm(ComplaintActionRefused, escalation_services.EscalationRefused):
    """The case changed since the form was opened (raised by this module and by escalation's)."""


class AssignmentRefused(ComplaintActionRefused):
    """The case cannot go to that person, or not by this member of staff."""


STALE_MESSAGE = _("This case changed while you were editing. Look at it again, then retry.")


def _lock_current(complaint: Complaint, version: int) -> Complaint:
    """Lock the complaint; raise StaleForm unless it is still at `version`."""
    complaint = _lock(complaint)
    if complaint.version != version:
        raise StaleForm(STALE_MESSAGE, code="stale_form")
    return complaint


def _refuse_if_closed(complaint: Complaint) -> None:
    if not complaint.is_open:
        raise ComplaintActionRefused(_("This complaint is closed; it can no longer be changed."))


def _open_if_new(complaint: Complaint, *, by: Any, now: datetime) -> list[str]:
    """Triage a new, locked complaint (new -> open) before staff work on it; return fields."""
    if complaint.status != Status.NEW:
        return []
    return _transition(complaint, Status.OPEN, by=by, now=now)


def _tell_complainant(complaint: Complaint, *, kind: str, note: str, now: datetime) -> None:
    """Queue the case-update notice in the complainant's language, with staff's public words."""
    _notify_complainant(
        complaint,
        template="case_update",
        now=now,
        kind=kind,
        note=note,
        # A guest follows the case through a tracking link, not an account.
        with_tracking_link=complaint.complainant_id is None,
    )


def reply_as_staff(*, complaint: Complaint, body: str, by: Any, now: datetime, version: int) -> Complaint:
    """Send the complainant a public message; it satisfies the first-response target.

    A new case is triaged (opened) first. Queues a notice to the complainant in their
    language. Raises StaleForm if the case changed since `version`, ComplaintActionRefused
    if it is closed. Locks the complaint; bumps its version.
    """
    with transaction.atomic():
        complaint = _lock_current(complaint, version)
        _refuse_if_closed(complaint)
        fields = _open_if_new(complaint, by=by, now=now)
        record_event(
            complaint=complaint, kind=EventKind.REPLY, by=by, now=now, body=body, actor_role=ActorRole.STAFF
        )
        fields += escalation_services.note_staff_response(complaint=complaint, now=now)
        _save(complaint, fields)
        _tell_complainant(complaint, kind="reply", note=body, now=now)
    return complaint


def add_internal_note(*, complaint: Complaint, body: str, by: Any, now: datetime) -> ComplaintEvent:
    """Add a staff-only note to the timeline and return it.

    Nobody is notified and the case itself does not change (its version stays), so a
    colleague's open form is not made stale by a note.
    """
    return record_event(
        complaint=complaint,
        kind=EventKind.INTERNAL_NOTE,
        by=by,
        now=now,
        public=False,
        body=body,
        actor_role=ActorRole.STAFF,
    )


def request_information(
    *, complaint: Complaint, body: str, by: Any, now: datetime, version: int
) -> Complaint:
    """Ask the complainant for what is missing: the case waits for them, its SLA clock paused.

    `body` (public) says what is needed; the complainant is notified in their language.
    A new case is triaged first. Raises StaleForm or TransitionNotAllowed.
    """
    return _staff_transition(
        complaint, Status.AWAITING_COMPLAINANT, body=body, by=by, now=now, version=version
    )


def resolve_complaint(
    *, complaint: Complaint, summary: str, by: Any, now: datetime, version: int
) -> Complaint:
    """Resolve the case with a summary the complainant sees (it stops the resolution clock).

    A new case is triaged first. Notifies the complainant, who may accept or dispute.
    Raises StaleForm or TransitionNotAllowed (e.g. while waiting for the complainant).
    """
    return _staff_transition(complaint, Status.RESOLVED, body=summary, by=by, now=now, version=version)


def _staff_transition(
    complaint: Complaint, to_status: str, *, body: str, by: Any, now: datetime, version: int
) -> Complaint:
    """Move a case still at `version` to `to_status` with a public message, triaging a new
    one first, and tell the complainant."""
    with transaction.atomic():
        complaint = _lock_current(complaint, version)
        fields = _open_if_new(complaint, by=by, now=now)
        fields += _transition(complaint, to_status, by=by, now=now, body=body)
        _save(complaint, fields)
        _tell_complainant(complaint, kind=to_status, note=body, now=now)
    return complaint


def assign_complaint(
    *, complaint: Complaint, assignee: Any, by: Any, now: datetime, version: int
) -> Complaint:
    """Give the case to `assignee` (to oneself: a claim), with an internal ASSIGNED event.

    The assignee must be an active member of staff. A team lead or manager may assign
    to anyone on staff; an agent may only claim a case nobody holds. Notifies the new
    assignee unless they assigned it themselves. Raises AssignmentRefused, StaleForm or
    ComplaintActionRefused (closed case). Locks the complaint; bumps its version.
    """
    with transaction.atomic():
        complaint = _lock_current(complaint, version)
        _refuse_if_closed(complaint)
        name = assignee.display_name if assignee is not None else ""
        if assignee is None or not assignee.is_active or not assignee.has_role(*STAFF_ROLES):
            raise AssignmentRefused(
                _("A case can only be assigned to an active member of staff; %(name)s is not one."),
                params={"name": name or "?"},
                code="not_staff",
            )
        if complaint.assignee_id == assignee.pk:
            if assignee.pk == by.pk:
                raise AssignmentRefused(_("This case is already yours."), code="unchanged")
            raise AssignmentRefused(
                _("This case is already assigned to %(name)s."), params={"name": name}, code="unchanged"
            )
        if not by.is_lead:
            if assignee.pk != by.pk:
                raise AssignmentRefused(
                    _("Only a team lead or a manager can give a case to someone else. You can claim it."),
                    code="not_lead",
                )
            if complaint.assignee_id is not None:
                raise AssignmentRefused(
                    _("Someone else holds this case. Ask a team lead to reassign it."), code="taken"
                )
        previous = complaint.assignee_id
        complaint.assignee = assignee
        record_event(
            complaint=complaint,
            kind=EventKind.ASSIGNED,
            by=by,
            now=now,
            public=False,
            actor_role=ActorRole.STAFF,
            payload={"from": previous, "to": assignee.pk},
        )
        _save(complaint, ["assignee"])
        if assignee.pk != by.pk:
            _notify_assignee(complaint, kind="assigned", now=now)
    return complaint


def reclassify_complaint(
    *, complaint: Complaint, subcategory: Subcategory, complexity: str, by: Any, now: datetime, version: int
) -> Complaint:
    """Change category/subcategory and complexity; deadlines are recomputed, with an event.

    Raises StaleForm if the complaint changed since `version` was read.
    """
    with transaction.atomic():
        complaint = _lock_current(complaint, version)
        before = {
            "subcategory": complaint.subcategory_id,
            "complexity": complaint.complexity,
            "first_response_due_at": complaint.first_response_due_at,
            "resolution_due_at": complaint.resolution_due_at,
        }
        complaint.category_id, complaint.subcategory_id = subcategory.category_id, subcategory.pk
        complaint.complexity = complexity
        fields = ["category", "subcategory", "complexity"]
        fields += escalation_services.recompute_deadlines(complaint=complaint, now=now)
        record_event(
            complaint=complaint,
            kind=EventKind.TRIAGED,
            by=by,
            now=now,
            public=False,
            payload={
                "from": {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in before.items()},
                "to": {
                    "subcategory": subcategory.pk,
                    "complexity": complexity,
                    "first_response_due_at": _iso(complaint.first_response_due_at),
                    "resolution_due_at": _iso(complaint.resolution_due_at),
                },
            },
        )
        _save(complaint, fields)
    return complaint


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


# --- Staff actions used by the complainant's side of the case --------------------------------


def transition_complaint(
    *, complaint: Complaint, to_status: str, by: Any, now: datetime, note: str = "", public: bool = True
) -> Complaint:
    """Move the complaint to `to_status` if the lifecycle allows it; raise TransitionNotAllowed if not."""
    with transaction.atomic():
        complaint = _lock(complaint)
        fields = _transition(complaint, to_status, by=by, now=now, body=note, public=public)
        _save(complaint, fields)
        if to_status in COMPLAINANT_NOTICES:
            _notify_complainant(
                complaint,
                template="case_update",
                now=now,
                kind=to_status,
                note=note if public else "",
                # A guest follows the case through a tracking link, not an account.
                with_tracking_link=complaint.complainant_id is None,
            )
    return complaint


COMPLAINANT_NOTICES = frozenset({Status.OPEN, Status.AWAITING_COMPLAINANT, Status.RESOLVED, Status.CLOSED})

_KIND_FOR_STATUS = {
    Status.AWAITING_COMPLAINANT: EventKind.INFO_REQUESTED,
    Status.RESOLVED: EventKind.RESOLVED,
    Status.CLOSED: EventKind.CLOSED,
    Status.WITHDRAWN: EventKind.WITHDRAWN,
}


def _transition(
    complaint: Complaint,
    to_status: str,
    *,
    by: Any,
    now: datetime,
    actor_role: str | None = None,
    kind: str | None = None,
    body: str = "",
    public: bool = True,
    payload: dict[str, Any] | None = None,
) -> list[str]:
    """Apply one allowed status change to a locked complaint and record it; return changed fields."""
    if not complaint.can_transition_to(to_status):
        raise TransitionNotAllowed(
            _("A complaint that is “%(current)s” cannot become “%(target)s”."),
            params={"current": Status(complaint.status).label, "target": Status(to_status).label},
            code="transition_not_allowed",
        )
    from_status = complaint.status
    if kind is None:
        if from_status == Status.NEW and to_status == Status.OPEN:
            kind = EventKind.TRIAGED
        else:
            kind = _KIND_FOR_STATUS.get(to_status, EventKind.STATUS_CHANGED)
    fields = complaint.apply_status(to_status, now=now)
    fields += escalation_services.on_status_change(
        complaint=complaint, from_status=from_status, to_status=to_status, now=now
    )
    if public and body and actor_role_of(by) == ActorRole.STAFF and actor_role != ActorRole.COMPLAINANT:
        fields += escalation_services.note_staff_response(complaint=complaint, now=now)
    if to_status == Status.RESOLVED and body:
        complaint.resolution_summary = body
        fields.append("resolution_summary")
    record_event(
        complaint=complaint,
        kind=kind,
        by=by,
        now=now,
        public=public,
        body=body,
        actor_role=actor_role,
        payload={"from": from_status, "to": to_status, **(payload or {})},
    )
    return fields


def close_expired_resolutions(*, now: datetime) -> int:
    """Close resolved complaints whose 14-day dispute window has ended; return how many."""
    closed = 0
    from complaints.models import DISPUTE_WINDOW

    ids = list(Complaint.objects.resolved_before(now - DISPUTE_WINDOW).values_list("pk", flat=True)[:500])
    for pk in ids:
        with transaction.atomic():
            complaint = Complaint.objects.select_for_update(skip_locked=True).filter(pk=pk).first()
            if complaint is None or complaint.status != Status.RESOLVED or complaint.can_dispute(now):
                continue
            fields = _transition(
                complaint,
                Status.CLOSED,
                by=None,
                now=now,
                actor_role=ActorRole.SYSTEM,
                kind=EventKind.CLOSED,
                payload={"reason": "dispute_window_ended"},
            )
            _save(complaint, fields)
            closed += 1
    return closed


# --- Guest access ---------------------------------------------------------------------------


def issue_tracking_token(*, complaint: Complaint, now: datetime) -> str:
    """Create a 256-bit tracking token for the complaint and return it; only its hash is stored."""
    token = secrets.token_urlsafe(32)
    TrackingToken.objects.create(
        complaint=complaint,
        token_hash=hash_token(token),
        created_at=now,
        expires_at=now + settings.TRACKING_LINK_TTL,
    )
    return token


def redeem_tracking_token(*, token: str, now: datetime) -> Complaint | None:
    """The complaint a live tracking token opens, or None if it is unknown or expired."""
    if not token or len(token) > 128:
        return None
    tracking = (
        TrackingToken.objects.select_related("complaint")
        .filter(token_hash=hash_token(token), expires_at__gt=now)
        .first()
    )
    if tracking is None:
        return None
    TrackingToken.objects.filter(pk=tracking.pk).update(last_used_at=now)
    return tracking.complaint


def resend_tracking_link(*, reference: str, email: str, now: datetime) -> bool:
    """E-mail a fresh tracking link if reference and contact e-mail match; return whether they did.

    Callers must answer the same whatever this returns.
    """
    complaint = Complaint.objects.filter(reference=reference.strip().upper()).first()
    if complaint is None or complaint.contact_email.strip().lower() != email.strip().lower():
        return False
    with transaction.atomic():
        _notify_complainant(complaint, template="tracking_link", now=now, with_tracking_link=True)
    return True
