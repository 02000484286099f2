"""The SLA policies and the escalation ladder as the engine reads them: kept a minute per process.

Intake starts a clock on every submission and the sweep reads the ladder every minute;
an administrator's edit shows within a minute (the admin drops this process's copy at
once).
"""

from __future__ import annotations

import math
import time as monotonic_time
from datetime import date
from typing import Any, NamedTuple

from complaints.models import Category
from escalation import sla
from escalation.models import EscalationLevel, Holiday, Regime, RegimeDeadline, SlaPolicy


class RegimeRules(NamedTuple):
    """A regime as the clock reads it: the regime, its calendar, its deadlines."""

    regime: Regime
    calendar: sla.Calendar
    deadlines: tuple[RegimeDeadline, ...]
    pausable: frozenset[str]  # the kinds of its deadlines a pause stops
    holidays: dict[date, Holiday]  # its calendar's holidays by date, for their names


_POLICY_CACHE_SECONDS = 60


class _Kept(NamedTuple):
    loaded_at: float
    policies: dict[tuple[int, str], tuple[SlaPolicy, sla.Calendar | None]]
    rungs: list[sla.Rung]
    regimes: dict[int, RegimeRules]  # by regime id
    category_regimes: dict[int, int]  # category id -> regime id


_EMPTY = _Kept(-math.inf, {}, [], {}, {})
_policy_cache = _EMPTY


def policies() -> dict[tuple[int, str], tuple[SlaPolicy, sla.Calendar | None]]:
    """SLA policies with their calendars by (category id, complexity), kept a minute per process.

    Intake starts a clock on every submission; an admin's edit shows within a minute.
    """
    return _cached().policies


def ladder() -> list[sla.Rung]:
    """The escalation ladder's rungs, kept a minute per process like the policies."""
    return _cached().rungs


def regime_rules(regime_id: int | None) -> RegimeRules | None:
    """A regime with its calendar and deadlines, kept a minute per process like the policies."""
    return None if regime_id is None else _cached().regimes.get(regime_id)


def regime_of_category(category_id: int | None) -> RegimeRules | None:
    """The regime a category's complaints are under, or None."""
    kept = _cached()
    regime_id = kept.category_regimes.get(category_id) if category_id is not None else None
    return None if regime_id is None else kept.regimes.get(regime_id)


def _cached() -> _Kept:
    global _policy_cache
    kept = _policy_cache
    if monotonic_time.monotonic() - kept.loaded_at > _POLICY_CACHE_SECONDS:
        calendars: dict[int, sla.Calendar] = {}

        def calendar_of(holder: SlaPolicy | Regime) -> sla.Calendar:
            if holder.calendar_id not in calendars:
                calendars[holder.calendar_id] = holder.calendar.as_sla_calendar()
            return calendars[holder.calendar_id]

        cached = {}
        for policy in SlaPolicy.objects.select_related("calendar"):
            calendar = calendar_of(policy) if policy.calendar_id is not None else None
            cached[(policy.category_id, policy.complexity)] = (policy, calendar)
        rungs = [
            sla.Rung(rank, climb)
            for rank, climb in EscalationLevel.objects.values_list("rank", "climb_after")
        ]
        found = list(Regime.objects.select_related("calendar").prefetch_related("deadlines"))
        holidays: dict[int, dict[date, Holiday]] = {}
        if found:
            for holiday in Holiday.objects.filter(calendar_id__in={regime.calendar_id for regime in found}):
                holidays.setdefault(holiday.calendar_id, {})[holiday.date] = holiday
        regimes = {
            regime.pk: RegimeRules(
                regime,
                calendar_of(regime),
                tuple(regime.deadlines.all()),
                frozenset(deadline.kind for deadline in regime.deadlines.all() if deadline.pausable),
                holidays.get(regime.calendar_id, {}),
            )
            for regime in found
        }
        attached = dict(Category.objects.filter(regime__isnull=False).values_list("pk", "regime_id"))
        kept = _policy_cache = _Kept(monotonic_time.monotonic(), cached, rungs, regimes, attached)
    return kept


def forget_policies() -> None:
    """Drop this process's policy cache (after an admin edit, or in tests)."""
    global _policy_cache
    _policy_cache = _EMPTY


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
