"""How a regime's deadline on a complaint was reached, step by step, from the complaint's
timeline and the regime's rules (not from stored counters): where it counts from, how many
days of which kind on which calendar, the holidays it did not count (by name), the day it
rolled past, and each pause that moved it. The clock computes the same date the same way
(`pausable_due`), so the account and the date the sweep uses cannot disagree.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from complaints.models import ComplaintEvent, Complexity, EventKind, Status
from escalation import sla
from escalation.models import REGULATORY_BREACHED, REGULATORY_MET, CountedFrom, RegimeDeadline
from escalation.policies import RegimeRules

# The timeline's status changes: a pause starts when a case goes to the complainant, and moves
# a pausable deadline when it comes back open (other ways out of a pause end it unmoved).
STATUS_EVENTS = (
    EventKind.TRIAGED,  # a reclassification too: its payload holds the complexity before and after
    EventKind.INFO_REQUESTED,
    EventKind.STATUS_CHANGED,
    EventKind.RESOLVED,
    EventKind.CLOSED,
    EventKind.WITHDRAWN,
)


class Pause(NamedTuple):
    paused_at: datetime
    resumed_at: datetime
    days: int  # the days it took, counted as the period is
    due_before: datetime
    due_after: datetime
    rolled_from: date | None  # the day its count ended, when that was a day off it rolled past


class DaysOff(NamedTuple):
    first: date
    last: date
    names: tuple[str, ...]  # the holidays' names; empty for a weekend


class Explanation(NamedTuple):
    regime: str
    calendar: str
    time_zone: str  # the calendar's: where its days begin and end
    counted_from: str  # CountedFrom
    start_at: datetime
    days: int
    unit: str  # DayUnit
    complex_case: bool
    counted_to: date  # the last day the period counts (before any roll)
    days_off: list[DaysOff]
    rolled_from: date | None
    reclassified: list[tuple[datetime, str]]  # when the case's complexity changed, and to what (label)
    pauses: list[Pause]
    last_day: date
    due_at: datetime


def pauses_of(events: Iterable[Any]) -> list[tuple[datetime, datetime]]:
    """The completed pauses on a timeline (its events in order, each with `created_at` and a
    status change's `payload`): from going to the complainant to coming back open."""
    found, since = [], None
    for event in events:
        change = event.payload or {}
        if "to" not in change or "from" not in change:
            continue
        if change["to"] == Status.AWAITING_COMPLAINANT:
            since = event.created_at
        elif change["from"] == Status.AWAITING_COMPLAINANT:
            if since is not None and change["to"] == Status.OPEN:
                found.append((since, event.created_at))
            since = None
    return found


def complexity_changes(events: Iterable[Any]) -> list[tuple[datetime, str, str]]:
    """The reclassifications on a timeline that changed the case's complexity: when, from
    what, to what."""
    found = []
    for event in events:
        change = event.payload or {}
        before, after = change.get("from"), change.get("to")
        changed = isinstance(before, dict) and isinstance(after, dict)
        if changed and before.get("complexity") != after.get("complexity"):
            found.append((event.created_at, before.get("complexity"), after.get("complexity")))
    return found


def status_events(complaint: Any) -> list[ComplaintEvent]:
    """The complaint's status changes, in order (one query)."""
    return list(
        ComplaintEvent.objects.filter(complaint_id=complaint.pk, kind__in=STATUS_EVENTS)
        .only("created_at", "payload")
        .order_by("created_at", "pk")
    )


def pausable_due(
    period: sla.DayPeriod,
    rule: RegimeDeadline,
    rules: RegimeRules,
    pauses: list[tuple[datetime, datetime]],
    *,
    settled_at: datetime | None = None,
) -> tuple[datetime, list[Pause]]:
    """A pausable deadline moved on by each completed pause, in order, as the clock moves it
    when a case comes back open (`sla.resume_days`): the date, and each pause's part. A pause
    that began once the deadline had passed, or after it was met (`settled_at`), moves nothing:
    the deadline stays as it was recorded."""
    due, parts = period.due_at, []
    if not rule.pausable:
        return due, parts
    for paused_at, resumed_at in pauses:
        if paused_at >= due or (settled_at is not None and paused_at >= settled_at):
            break
        moved = sla.resume_days(
            due,
            paused_at,
            resumed_at,
            rule.unit,
            rules.calendar,
            roll_to_working_day=rules.regime.rolls_to_working_day,
        )
        if moved is None:
            continue
        days = sla.days_between(paused_at, resumed_at, rule.unit, rules.calendar)
        parts.append(Pause(paused_at, resumed_at, days, due, moved.due_at, moved.rolled_from))
        due = moved.due_at
    return due, parts


def explain(complaint: Any, rules: RegimeRules, kind: str, events: list[Any]) -> Explanation | None:
    """How the complaint's deadline of `kind` under its regime was reached (None when the
    regime has no such deadline, or it has not started: counted from an acceptance to come)."""
    rule = next((deadline for deadline in rules.deadlines if deadline.kind == kind), None)
    if rule is None:
        return None
    from_acceptance = rule.counted_from == CountedFrom.ACCEPTANCE
    start = complaint.accepted_at if from_acceptance else complaint.submitted_at
    if start is None:
        return None
    # The complexity it was counted for: today's, or, for a deadline already missed, the one
    # the case had then (a missed deadline stays as it was recorded).
    changes = complexity_changes(events)
    settled = [
        moment
        for moment in (
            getattr(complaint, REGULATORY_BREACHED[kind]),
            getattr(complaint, REGULATORY_MET[kind]),
        )
        if moment is not None
    ]
    settled_at = min(settled) if settled else None
    complexity = complaint.complexity
    if settled_at is not None:
        for moment, before, _after in reversed(changes):
            if moment > settled_at:
                complexity = before
        changes = [change for change in changes if change[0] <= settled_at]
    complex_case = complexity == Complexity.COMPLEX
    period = rule.period(start, rules.calendar, complex_case=complex_case)
    due, pauses = pausable_due(period, rule, rules, pauses_of(events), settled_at=settled_at)
    holidays = {day: rules.holidays[day].name for day in period.days_off if day in rules.holidays}
    return Explanation(
        regime=rules.regime.name,
        calendar=rules.regime.calendar.name,
        time_zone=rules.calendar.time_zone,
        counted_from=rule.counted_from,
        start_at=start,
        days=rule.days_for(complex_case=complex_case),
        unit=rule.unit,
        complex_case=complex_case and bool(rule.days_if_complex),
        counted_to=period.rolled_from or period.last_day,
        days_off=_runs(period.days_off, holidays),
        rolled_from=period.rolled_from,
        reclassified=[
            (moment, Complexity(after).label if after in Complexity.values else after)
            for moment, _before, after in changes
        ],
        pauses=pauses,
        last_day=(due - timedelta(microseconds=1)).astimezone(rules.calendar.zone).date(),
        due_at=due,
    )


def _runs(days: tuple[date, ...], holidays: dict[date, str]) -> list[DaysOff]:
    """Consecutive days off, a run of holidays (with their names, once each) apart from a
    weekend's run."""
    runs: list[DaysOff] = []
    for day in days:
        name = holidays.get(day)
        last = runs[-1] if runs else None
        if last is not None and day - last.last == timedelta(days=1) and bool(last.names) == bool(name):
            names = last.names if name is None or name in last.names else (*last.names, name)
            runs[-1] = DaysOff(last.first, day, names)
        else:
            runs.append(DaysOff(day, day, (name,) if name else ()))
    return runs
