"""Who may move a case on the ladder, and when: each rule once, for the page and the service.

A page offers an action only where `complaints.refusals.permitted(rule, ...)` says so;
the service that performs it calls the same rule inside its transaction, on the locked
row, and lets its refusal reach the person.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.utils.translation import gettext_lazy as _

from complaints.models import ActorRole, Complaint, Status
from complaints.refusals import CLOSED_MESSAGE, EscalationRefused, permitted
from escalation.models import Escalation
from escalation.policies import next_rank_above, rank_below

# A reminder left unanswered this long entitles the complainant to ask for escalation.
UNANSWERED_REMINDER = timedelta(hours=24)


def check_escalate(complaint: Complaint, *, by: Any) -> int:
    """Staff may move an open, unresolved case up one level; return that level's rank.

    Raises EscalationRefused otherwise.
    """
    if not (getattr(by, "is_authenticated", False) and by.is_agent):
        raise EscalationRefused(_("Only the support team can escalate a case."), code="not_staff")
    if not complaint.is_open or complaint.status == Status.RESOLVED:
        raise EscalationRefused(_("A resolved or closed case cannot be escalated."), code="not_open")
    above = next_rank_above(complaint.escalation_level)
    if above is None:
        raise EscalationRefused(_("This case cannot go any higher."), code="top")
    return above


def check_de_escalate(complaint: Complaint, *, by: Any) -> int:
    """A manager may move an open case back down one level; return that level's rank.

    Raises EscalationRefused otherwise.
    """
    if not (getattr(by, "is_authenticated", False) and by.is_manager):
        raise EscalationRefused(_("Only a manager can move a case back down."), code="not_manager")
    if not complaint.is_open:
        raise EscalationRefused(CLOSED_MESSAGE, code="not_open")
    below = rank_below(complaint.escalation_level)
    if below is None:
        raise EscalationRefused(_("This case is already at the first level."), code="bottom")
    return below


def escalation_request_trigger(complaint: Complaint, now: datetime) -> str | None:
    """What entitles the complainant to ask for escalation now, as a trigger key; None if nothing.

    A passed deadline, or a reminder unanswered for 24 hours, each entitles them once.
    Reads the complaint's public staff events and its escalations (two small queries).
    """
    if not complaint.is_open or complaint.status == Status.RESOLVED:
        return None
    if next_rank_above(complaint.escalation_level) is None:
        return None
    passed = []
    if complaint.first_responded_at is None and complaint.first_response_due_at is not None:
        passed.append(complaint.first_response_due_at)
    if complaint.resolution_due_at is not None:
        passed.append(complaint.resolution_due_at)
    candidates = [
        f"{complaint.pk}:complainant_request:deadline:{d.isoformat()}" for d in sorted(passed) if d <= now
    ]
    reminder = complaint.last_reminder_at
    if reminder is not None and reminder <= now - UNANSWERED_REMINDER:
        answered = complaint.events.filter(
            public=True, actor_role=ActorRole.STAFF, created_at__gt=reminder
        ).exists()
        if not answered:
            candidates.append(f"{complaint.pk}:complainant_request:reminder:{reminder.isoformat()}")
    if not candidates:
        return None
    used = set(Escalation.objects.filter(trigger_key__in=candidates).values_list("trigger_key", flat=True))
    return next((key for key in candidates if key not in used), None)


def check_request_escalation(complaint: Complaint, *, now: datetime) -> str:
    """The complainant may ask once a deadline has passed, or a reminder went 24 h unanswered.

    Returns the trigger key that entitles them (each entitles once); raises EscalationRefused.
    """
    key = escalation_request_trigger(complaint, now)
    if key is None:
        raise EscalationRefused(
            _(
                "You can ask for escalation once a deadline has passed, or when a reminder has gone "
                "unanswered for 24 hours."
            ),
            code="not_yet",
        )
    return key


def can_request_escalation(complaint: Complaint, now: datetime) -> bool:
    """Whether the complainant may ask for escalation now: the page offers it only then."""
    return permitted(check_request_escalation, complaint, now=now)
