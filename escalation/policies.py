"""The SLA policies and the escalation ladder as the engine reads them: kept a minute per process.

Intake starts a clock on every submission and the sweep reads the ladder every minute;
an administrator's edit shows within a minute (the admin drops this process's copy at
once).
"""

from __future__ import annotations

import math
import time as monotonic_time
from typing import Any

from escalation import sla
from escalation.models import EscalationLevel, SlaPolicy

_POLICY_CACHE_SECONDS = 60
_policy_cache: tuple[float, dict[tuple[int, str], tuple[SlaPolicy, sla.Calendar | None]], list[sla.Rung]] = (
    -math.inf,
    {},
    [],
)


def policies() -> dict[tuple[int, str], tuple[SlaPolicy, sla.Calendar | None]]:
    """SLA policies with their calendars by (category id, complexity), kept a minute per process.

    Intake starts a clock on every submission; an admin's edit shows within a minute.
    """
    return _cached()[0]


def ladder() -> list[sla.Rung]:
    """The escalation ladder's rungs, kept a minute per process like the policies."""
    return _cached()[1]


def _cached() -> tuple[dict[tuple[int, str], tuple[SlaPolicy, sla.Calendar | None]], list[sla.Rung]]:
    global _policy_cache
    loaded_at, cached, rungs = _policy_cache
    if monotonic_time.monotonic() - loaded_at > _POLICY_CACHE_SECONDS:
        calendars: dict[int, sla.Calendar] = {}
        cached = {}
        for policy in SlaPolicy.objects.select_related("calendar"):
            calendar = None
            if policy.calendar is not None:
                if policy.calendar_id not in calendars:
                    calendars[policy.calendar_id] = policy.calendar.as_sla_calendar()
                calendar = calendars[policy.calendar_id]
            cached[(policy.category_id, policy.complexity)] = (policy, calendar)
        rungs = [
            sla.Rung(rank, climb)
            for rank, climb in EscalationLevel.objects.values_list("rank", "climb_after")
        ]
        _policy_cache = (monotonic_time.monotonic(), cached, rungs)
    return cached, rungs


def forget_policies() -> None:
    """Drop this process's policy cache (after an admin edit, or in tests)."""
    global _policy_cache
    _policy_cache = (-math.inf, {}, [])


def policy_for(complaint: Any) -> tuple[SlaPolicy | None, sla.Calendar | None]:
    """The policy and calendar of a complaint's category and complexity; (None, None) if none."""
    return policies().get((complaint.category_id, complaint.complexity), (None, None))


# Without a policy there are no deadlines to warn about; the ratio only matters for climbs.
DEFAULT_WARNING_RATIO = 0.75


def warning_ratio(policy: SlaPolicy | None) -> float:
    """The share of a target after which its warning fires."""
    return float(policy.warning_ratio) if policy is not None else DEFAULT_WARNING_RATIO


def next_rank_above(level: int) -> int | None:
    """The rank above `level` on the ladder, or None at the top."""
    above = sla.next_level(level, ladder())
    return above if above != level else None


def rank_below(level: int) -> int | None:
    """The rank below `level` on the ladder, or None at the bottom."""
    below = [rung.rank for rung in ladder() if rung.rank < level]
    return max(below) if below else None
