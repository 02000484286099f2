"""The lifecycle every workflow shares: versions, status transitions, automatic closing.

A workflow locks the complaint it changes (`Complaint.objects.locked`, given the version a
staff form was read at), applies its changes on the instance, records what happened
through `complaints.records`, and saves the changed fields once with the version bumped
(`save`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext_lazy as _

from complaints.models import DISPUTE_WINDOW, ActorRole, Complaint, EventKind, Status
from complaints.records import actor_role_of, record_event, tell_complainant
from complaints.refusals import TransitionNotAllowed
from escalation import clock


def save(complaint: Complaint, fields: list[str]) -> None:
    """Save `fields` and bump the version, so a form read before this change is refused."""
    complaint.version = F("version") + 1
    complaint.save(update_fields=[*dict.fromkeys(fields), "version"])
    complaint.refresh_from_db(fields=["version"])


# The statuses whose arrival the complainant is told of by e-mail.
COMPLAINANT_NOTICES = frozenset({Status.OPEN, Status.AWAITING_COMPLAINANT, Status.RESOLVED, Status.CLOSED})

_KIND_FOR_STATUS = {
    Status.AWAITING_COMPLAINANT: EventKind.INFO_REQUESTED,
    Status.RESOLVED: EventKind.RESOLVED,
    Status.CLOSED: EventKind.CLOSED,
    Status.WITHDRAWN: EventKind.WITHDRAWN,
}


def transition(
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
    """Apply one allowed status change to a locked complaint and record it; return changed fields.

    What fell due on the SLA clock before `now` fires first (`escalation.clock.settle`);
    then the clock follows (paused, resumed, stopped or restarted); a public message
    from staff counts as the first response. Raises TransitionNotAllowed where the lifecycle
    table (`complaints.models.TRANSITIONS`) has no such move.
    """
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
    # What fell due before this change fires first, as of when it fell due.
    fields = clock.settle(complaint=complaint, now=now)
    fields += complaint.apply_status(to_status, now=now)
    fields += clock.on_status_change(
        complaint=complaint, from_status=from_status, to_status=to_status, now=now
    )
    if public and body and actor_role_of(by) == ActorRole.STAFF and actor_role != ActorRole.COMPLAINANT:
        fields += clock.note_staff_response(complaint=complaint, now=now)
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


def open_if_new(complaint: Complaint, *, by: Any, now: datetime) -> list[str]:
    """Triage a new, locked complaint (new -> open) before staff work on it; return fields."""
    if complaint.status != Status.NEW:
        return []
    return transition(complaint, Status.OPEN, by=by, now=now)


def transition_complaint(
    *, complaint: Complaint, to_status: str, by: Any, now: datetime, note: str = "", public: bool = True
) -> Complaint:
    """Move the complaint to `to_status` if the lifecycle allows it; raise TransitionNotAllowed if not.

    Tells the complainant of the statuses in COMPLAINANT_NOTICES. Locks the complaint. A case
    is resolved only by `resolve_complaint`, which requires what staff found.
    """
    if to_status == Status.RESOLVED:
        raise TransitionNotAllowed(
            _("A case is resolved with its cause, outcome and remedy."), code="resolve_with_findings"
        )
    with transaction.atomic():
        complaint = Complaint.objects.locked(complaint)
        fields = transition(complaint, to_status, by=by, now=now, body=note, public=public)
        save(complaint, fields)
        if to_status in COMPLAINANT_NOTICES:
            tell_complainant(complaint, kind=to_status, note=note if public else "", now=now)
    return complaint


def close_expired_resolutions(*, now: datetime) -> int:
    """Close resolved complaints whose 14-day dispute window has ended; return how many.

    At most 500 a run (beat runs it hourly); each is locked `SKIP LOCKED` in its own
    transaction, so a complaint someone is working on waits for the next run.
    """
    closed = 0
    ids = list(Complaint.objects.resolved_before(now - DISPUTE_WINDOW).values_list("pk", flat=True)[:500])
    for pk in ids:
        with transaction.atomic():
            complaint = Complaint.objects.select_for_update(skip_locked=True).filter(pk=pk).first()
            if complaint is None or complaint.status != Status.RESOLVED or complaint.can_dispute(now):
                continue
            fields = transition(
                complaint,
                Status.CLOSED,
                by=None,
                now=now,
                actor_role=ActorRole.SYSTEM,
                kind=EventKind.CLOSED,
                payload={"reason": "dispute_window_ended"},
            )
            save(complaint, fields)
            closed += 1
    return closed
