"""What staff do to a case: reply, note, ask for information, resolve, assign or claim, reclassify.

Every action but the internal note carries the version of the case its form was read
at and is refused (StaleForm) if the case changed since, so a stale form never undoes
a change made meanwhile (an escalation by the sweep, a colleague's reply). A new case
is triaged (opened) by the first action that works on it. Ladder moves are in
`escalation.moves`.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction

from complaints.models import (
    UNCLASSIFIED,
    ActorRole,
    Cause,
    Complaint,
    ComplaintEvent,
    DossierPart,
    EventKind,
    Status,
    Subcategory,
)
from complaints.records import notify_assignee, record_event, tell_complainant
from complaints.rules import check_assignment, check_open, check_resolution
from complaints.services.lifecycle import open_if_new, save, transition
from escalation import clock, letters


def reply_as_staff(
    *,
    complaint: Complaint,
    body: str,
    by: Any,
    now: datetime,
    version: int,
    payload: dict[str, Any] | None = None,
) -> Complaint:
    """Send the complainant a public message; it satisfies the first-response target.

    Queues a notice to the complainant in their language. Raises StaleForm if the case
    changed since `version`, ActionRefused if it is closed. Locks the complaint; bumps
    its version. `payload` goes on the timeline entry (as for a complainant's reply).
    """
    with transaction.atomic():
        complaint = Complaint.objects.locked(complaint, version=version)
        check_open(complaint)
        fields = clock.settle(complaint=complaint, now=now)  # a deadline passed before the reply
        fields += open_if_new(complaint, by=by, now=now)
        record_event(
            complaint=complaint,
            kind=EventKind.REPLY,
            by=by,
            now=now,
            body=body,
            actor_role=ActorRole.STAFF,
            payload=payload,
        )
        fields += clock.note_staff_response(complaint=complaint, now=now)
        save(complaint, fields)
        tell_complainant(complaint, kind="reply", note=body, now=now)
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
    Raises StaleForm or TransitionNotAllowed.
    """
    return _move(complaint, Status.AWAITING_COMPLAINANT, body=body, by=by, now=now, version=version)


def resolve_complaint(
    *,
    complaint: Complaint,
    summary: str,
    cause: Cause | None,
    outcome: str,
    remedy: str,
    by: Any,
    now: datetime,
    version: int,
    remedy_amount: Decimal | None = None,
    remedy_currency: str = "",
) -> Complaint:
    """Resolve the case with a summary the complainant sees (it stops the resolution clock) and
    what staff found: its cause, whether it is upheld, the remedy (`check_resolution`).

    Under a regime the first resolution is the final response: the regime's letter, composed
    with those parts and its next route, goes to the complainant in place of the usual
    notice and onto the timeline; without its template or a part it is refused and nothing
    changes. The complainant may accept or dispute. Raises ActionRefused, StaleForm or
    TransitionNotAllowed (e.g. while waiting for the complainant).
    """
    found = {
        "cause": cause,
        "outcome": outcome,
        "remedy": remedy,
        "remedy_amount": remedy_amount,
        "remedy_currency": remedy_currency,
    }
    with transaction.atomic():
        complaint = Complaint.objects.locked(complaint, version=version)
        check_resolution(complaint, **found)
        fields = open_if_new(complaint, by=by, now=now)
        for name, value in found.items():
            setattr(complaint, name, value)
        complaint.resolution_summary = summary
        letter = letters.final_response_letter(complaint)  # refused before anything is written
        fields += transition(
            complaint,
            Status.RESOLVED,
            by=by,
            now=now,
            body=summary,
            payload={"cause": cause.slug, "outcome": outcome, "remedy": remedy},
        )
        save(complaint, [*fields, *found])
        if letter is None:
            tell_complainant(complaint, kind=Status.RESOLVED, note=summary, now=now)
        else:
            letters.send_letter(complaint, letter, now=now, by=by, kind=Status.RESOLVED)
    return complaint


def _move(
    complaint: Complaint, to_status: str, *, body: str, by: Any, now: datetime, version: int
) -> Complaint:
    """Move a case still at `version` to `to_status` with a public message, and tell the complainant."""
    with transaction.atomic():
        complaint = Complaint.objects.locked(complaint, version=version)
        fields = open_if_new(complaint, by=by, now=now)
        fields += transition(complaint, to_status, by=by, now=now, body=body)
        save(complaint, fields)
        tell_complainant(complaint, kind=to_status, note=body, now=now)
    return complaint


def assign_complaint(
    *, complaint: Complaint, assignee: Any, by: Any, now: datetime, version: int
) -> Complaint:
    """Give the case to `assignee` (to oneself: a claim), with an internal ASSIGNED event.

    Who may give a case to whom is `complaints.rules.check_assignment`. Notifies the new
    assignee unless they assigned it themselves. Raises AssignmentRefused, StaleForm or
    ActionRefused (closed case). Locks the complaint; bumps its version.
    """
    with transaction.atomic():
        complaint = Complaint.objects.locked(complaint, version=version)
        check_assignment(complaint, by=by, assignee=assignee)
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
        save(complaint, ["assignee"])
        if assignee.pk != by.pk:
            notify_assignee(complaint, kind="assigned", now=now)
    return complaint


def reclassify_complaint(
    *, complaint: Complaint, subcategory: Subcategory, complexity: str, by: Any, now: datetime, version: int
) -> Complaint:
    """Change category/subcategory and complexity; deadlines are recomputed, with an event.

    Raises StaleForm if the complaint changed since `version` was read.
    """
    with transaction.atomic():
        complaint = Complaint.objects.locked(complaint, version=version)
        settled = clock.settle(complaint=complaint, now=now)  # under the old targets
        before = {
            "subcategory": complaint.subcategory_id,
            "complexity": complaint.complexity,
            "first_response_due_at": _iso(complaint.first_response_due_at),
            "resolution_due_at": _iso(complaint.resolution_due_at),
        }
        complaint.category_id, complaint.subcategory_id = subcategory.category_id, subcategory.pk
        complaint.complexity = complexity
        fields = ["category", "subcategory", "complexity", *settled]
        if DossierPart.CATEGORY in complaint.missing_parts and subcategory.category.slug != UNCLASSIFIED:
            # Staff have said what an incomplete case is about: that part is no longer missing.
            complaint.missing_parts = [p for p in complaint.missing_parts if p != DossierPart.CATEGORY]
            fields.append("missing_parts")
        fields += clock.recompute_deadlines(complaint=complaint, now=now)
        if acknowledged := letters.acknowledge_late(complaint, now=now):
            clock.reschedule(complaint)  # the acknowledgement deadline is met
            fields += [*acknowledged, "next_check_at"]
        record_event(
            complaint=complaint,
            kind=EventKind.TRIAGED,
            by=by,
            now=now,
            public=False,
            payload={
                "from": before,
                "to": {
                    "subcategory": subcategory.pk,
                    "complexity": complexity,
                    "first_response_due_at": _iso(complaint.first_response_due_at),
                    "resolution_due_at": _iso(complaint.resolution_due_at),
                },
            },
        )
        save(complaint, fields)
    return complaint


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
