"""Why a case stands where it does on the ladder, in the facts a manager reads at a glance.

The managers' queue and the case page say the same: what took the case up last (a missed
first-response or resolution deadline, the time allowed at a rung running out, the
complainant, staff) and when that fell due; and which deadline of the case broke first,
and when. Both read the latest move up once (the queue as a subquery per row).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, NamedTuple

from django.db.models import F, OuterRef, QuerySet

from escalation.models import Escalation, EscalationLevel, Reason


class Standing(NamedTuple):
    level_name: str
    reason: str | None  # a Reason: what took the case up last (None if nothing did)
    moved_at: datetime | None  # when that fell due
    from_name: str  # the rung it left
    limit: timedelta | None  # the time allowed at that rung, when it ran out
    deadline: str | None  # which deadline broke first: "first_response", "resolution" or None
    broke_at: datetime | None  # when it broke


def moves_up(complaint: Any = None) -> QuerySet[Escalation]:
    """Moves up a case, latest first (of `complaint`, or of the outer row in a subquery)."""
    return Escalation.objects.filter(
        complaint=OuterRef("pk") if complaint is None else complaint, to_level__gt=F("from_level")
    ).order_by("-created_at", "-due_at", "-pk")


class LatestMove(NamedTuple):
    reason: str
    from_level: int
    due_at: datetime


def latest_move_up(complaint: Any) -> LatestMove | None:
    """The case's latest move up (one query)."""
    row = moves_up(complaint).values_list("reason", "from_level", "due_at").first()
    return LatestMove(*row) if row else None


def standing(complaint: Any, latest: LatestMove | None, levels: dict[int, EscalationLevel]) -> Standing:
    """The facts of `complaint`'s place on the ladder, given its latest move up and the rungs."""
    broken = [
        (moment, name)
        for moment, name in (
            (complaint.first_response_breached_at, "first_response"),
            (complaint.resolution_breached_at, "resolution"),
        )
        if moment is not None
    ]
    broke_at, deadline = min(broken) if broken else (None, None)
    level = levels.get(complaint.escalation_level)
    left = levels.get(latest.from_level) if latest else None
    return Standing(
        level_name=level.name if level else str(complaint.escalation_level),
        reason=latest.reason if latest else None,
        moved_at=latest.due_at if latest else None,
        from_name=left.name if left else (str(latest.from_level) if latest else ""),
        limit=left.climb_after if left and latest and latest.reason == Reason.CLIMB else None,
        deadline=deadline,
        broke_at=broke_at,
    )
