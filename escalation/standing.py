"""Why a case stands where it does on the ladder, in the facts a manager reads at a glance.

The managers' queue and the case page say the same: what took the case up last (a missed
first-response or resolution deadline, the time allowed at a rung running out, the
complainant, staff) and when that fell due; and which deadline of the case broke first,
and when. Both read the latest move up once: the case page for its case, the queue for its page
of cases in one query (`latest_moves_up`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, NamedTuple

from django.db.models import F, Q

from common.kept import ProcessCopy
from common.prepared import Param, Prepared
from escalation.models import Escalation, EscalationLevel, Reason


class Standing(NamedTuple):
    level_name: str
    reason: str | None  # a Reason: what took the case up last (None if nothing did)
    moved_at: datetime | None  # when that fell due
    from_name: str  # the rung it left
    limit: timedelta | None  # the time allowed at that rung, when it ran out
    deadline: str | None  # which broke first: "first_response", "resolution", "regulatory_<kind>" or None
    broke_at: datetime | None  # when it broke


# The moves that took a case up, and their order from the latest.
MOVED_UP = Q(to_level__gt=F("from_level"))
LATEST_FIRST = ("-created_at", "-due_at", "-pk")


# The levels by rank, lowest first, kept in this process until one changes (common.kept). The
# engine keeps its own rungs (escalation.policies.ladder), a minute per process without asking
# the cache: the sweep reads them for every case it settles.
_levels = ProcessCopy(lambda: {level.rank: level for level in EscalationLevel.objects.order_by("rank")})


def levels() -> dict[int, EscalationLevel]:
    """The ladder's levels by rank, lowest first, as the pages show them: read once a change
    (or a minute) per process. Shared: never changed."""
    return _levels.get()


def level_names() -> dict[int, str]:
    """Each level's name in the active language, by rank."""
    return {rank: level.name for rank, level in _levels.get().items()}


class LatestMove(NamedTuple):
    reason: str
    from_level: int
    due_at: datetime


# One case's latest move up, compiled once (common.prepared): the case pages read it.
_LATEST_MOVE_UP = Prepared(
    Escalation.objects.filter(MOVED_UP, complaint_id=Param("complaint"))
    .order_by(*LATEST_FIRST)
    .values_list("reason", "from_level", "due_at")[:1]
)


def latest_move_up(complaint: Any) -> LatestMove | None:
    """The case's latest move up (one query)."""
    found = _LATEST_MOVE_UP(complaint=complaint.pk)
    return LatestMove(*found[0]) if found else None


def latest_moves_up(complaint_ids: list[int]) -> dict[int, LatestMove]:
    """The latest move up of each of a page of cases, by case id (one query for the page: the
    moves up of those cases, a handful each, the latest kept)."""
    latest: dict[int, LatestMove] = {}
    rows = (
        Escalation.objects.filter(MOVED_UP, complaint_id__in=complaint_ids)
        .order_by("complaint_id", *LATEST_FIRST)
        .values_list("complaint_id", "reason", "from_level", "due_at")
    )
    for complaint_id, *move in rows:
        latest.setdefault(complaint_id, LatestMove(*move))
    return latest


def standing(complaint: Any, latest: LatestMove | None, levels: dict[int, EscalationLevel]) -> Standing:
    """The facts of `complaint`'s place on the ladder, given its latest move up and the rungs."""
    broken = [
        (moment, name)
        for moment, name in (
            (complaint.first_response_breached_at, "first_response"),
            (complaint.resolution_breached_at, "resolution"),
            (complaint.acknowledge_breached_at, "regulatory_acknowledge"),
            (complaint.accept_breached_at, "regulatory_accept"),
            (complaint.final_response_breached_at, "regulatory_final_response"),
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
