"""How a deadline on a complaint was reached, step by step, from the complaint's timeline and
the rules (not from stored counters).

A regime's deadline (`explain`): where it counts from, how many days of which kind on which
calendar, the holidays it did not count (by name), the day it rolled past, and each pause that
moved it. The clock computes the same date the same way (`pausable_due`), so the account and
the date the sweep uses cannot disagree.

A service deadline, first response or resolution (`explain_service`): the SLA policy of the
case's class and its target, counted in working hours on the policy's calendar (its hours,
the days off it skipped) or in wall-clock hours; then, in the order they happened, each pause
that moved it, each reclassification that counted it again, and a dispute's restart. The replay
makes the clock's own moves (`escalation.clock`: `start_clock`, `on_status_change`,
`recompute_deadlines`) with the same pure functions (`sla.add_business_time`,
`sla.resume_deadline`), so its end is the stored date.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Any, NamedTuple

from complaints.models import UNCLASSIFIED, ComplaintEvent, Complexity, EventKind, Status
from complaints.selectors import kept_subcategories
from escalation import sla
from escalation.models import (
    REGULATORY_BREACHED,
    REGULATORY_MET,
    CountedFrom,
    Holiday,
    RegimeDeadline,
    SlaPolicy,
    Weekday,
)
from escalation.policies import RegimeRules, policies

# The timeline's status changes: a pause starts when a case goes to the complainant, and moves
# a pausable deadline when it comes back open (other ways out of a pause end it unmoved).
STATUS_EVENTS = (
    EventKind.TRIAGED,  # a reclassification too: its payload holds the complexity before and after
    EventKind.INFO_REQUESTED,
    EventKind.STATUS_CHANGED,
    EventKind.RESOLVED,
    EventKind.CLOSED,
    EventKind.WITHDRAWN,
    EventKind.DISPUTED,  # the resolution clock starts again
)
# What the deadlines' accounts replay: the status changes, a complainant's completion of a case
# opened by e-mail (counted again), and the breaches (a deadline missed is not counted again).
CLOCK_EVENTS = (*STATUS_EVENTS, EventKind.COMPLETED, EventKind.SLA_BREACHED, EventKind.ESCALATED)


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
    """The complaint's status changes, reclassifications and breaches (CLOCK_EVENTS), in order
    (one query)."""
    return list(
        ComplaintEvent.objects.filter(complaint_id=complaint.pk, kind__in=CLOCK_EVENTS)
        .only("kind", "created_at", "payload")
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


# --- The service's deadlines: first response and resolution -------------------------------------

FIRST_RESPONSE, RESOLUTION = "first_response", "resolution"
SERVICE_DUE = {FIRST_RESPONSE: "first_response_due_at", RESOLUTION: "resolution_due_at"}
SERVICE_TARGET = {FIRST_RESPONSE: "first_response_target", RESOLUTION: "resolution_target"}

DASH = "\N{EN DASH}"  # between the ends of a span of days or hours, as the pages write it

# What moved a service deadline, in ServiceStep.kind.
PAUSED, RECLASSIFIED, RESTARTED = "paused", "reclassified", "restarted"


class ServiceStep(NamedTuple):
    kind: str  # PAUSED, RECLASSIFIED or RESTARTED
    at: datetime  # when it happened (a pause: when it began)
    until: datetime | None  # a pause's end
    # the clock time a pause took (working time on a calendar); for a recount, the waits for
    # the complainant since the clock started, not counted again
    took: timedelta | None
    policy: str | None  # the policy counted after a reclassification (None: the class has none)
    target: timedelta | None  # what was counted from `since` (a recount, a restart)
    since: datetime | None  # where that count began: the clock's start
    # a reclassification (or a wait's end) left the date as it was: already met or missed (or, for
    # a reclassification, no policy)
    kept: bool
    due_before: datetime | None
    due_after: datetime | None


class ServiceExplanation(NamedTuple):
    kind: str  # FIRST_RESPONSE or RESOLUTION
    policy: str | None  # the SLA policy it was first counted under: the case's category and complexity
    target: timedelta | None  # None: filed in a class without a policy (a reclassification set it)
    start_at: datetime  # the complaint's receipt
    counted_due: datetime | None  # the target counted from there, before anything moved it
    calendar: str | None  # the calendar's name (None: wall-clock hours, day and night)
    time_zone: str | None
    hours: list[tuple[str, str]]  # its working hours: (weekdays, their intervals)
    days_off: list[DaysOff]  # the days it did not count, from the receipt to the due date
    steps: list[ServiceStep]
    due_at: datetime


class Classified(NamedTuple):
    """A case's class from a moment on: what its SLA policy is chosen by."""

    at: datetime | None  # None: as filed
    subcategory_id: int | None
    complexity: str


def classifications(complaint: Any, events: Iterable[Any]) -> list[Classified]:
    """The case's class as filed, then after each reclassification on its timeline (staff's,
    whose payload holds the class before and after; a complainant's completion of a case opened
    by e-mail, which takes its subcategory's default complexity unless staff had put it there)."""
    subcategories = kept_subcategories()
    changes = [event for event in events if _reclassifies(event)]
    if not changes:
        return [Classified(None, complaint.subcategory_id, complaint.complexity)]
    first = changes[0]
    if first.kind == EventKind.COMPLETED:  # filed by e-mail, unclassified
        filed = next(
            (sub for sub in subcategories.values() if sub.slug == sub.category.slug == UNCLASSIFIED), None
        )
        found = [Classified(None, filed.pk if filed else None, filed.default_complexity if filed else "")]
    else:
        found = [Classified(None, first.payload["from"]["subcategory"], first.payload["from"]["complexity"])]
    for event in changes:
        if event.kind == EventKind.COMPLETED:
            chosen, before = event.payload.get("subcategory"), found[-1]
            sub = subcategories.get(chosen)
            complexity = (
                before.complexity
                if chosen == before.subcategory_id or sub is None
                else sub.default_complexity
            )
            found.append(Classified(event.created_at, chosen, complexity))
        else:
            after = event.payload["to"]
            found.append(Classified(event.created_at, after.get("subcategory"), after.get("complexity")))
    return found


def _reclassifies(event: Any) -> bool:
    """Whether a timeline event counted the service deadlines again (`clock.recompute_deadlines`)."""
    if event.kind == EventKind.COMPLETED:
        return True
    change = event.payload or {}
    return event.kind == EventKind.TRIAGED and isinstance(change.get("from"), dict)


def _status_change(event: Any) -> tuple[str, str] | None:
    """A status change's (from, to), or None for any other event."""
    change = event.payload or {}
    before, after = change.get("from"), change.get("to")
    if event.kind in STATUS_EVENTS and isinstance(before, str) and isinstance(after, str):
        return before, after
    return None


def _policy_of(classified: Classified) -> tuple[SlaPolicy | None, sla.Calendar | None]:
    """The policy and calendar of a class (as `policies.policy_for` reads a complaint's)."""
    sub = kept_subcategories().get(classified.subcategory_id)
    category = sub.category_id if sub is not None else None
    return policies().get((category, classified.complexity), (None, None))


def _policy_name(classified: Classified) -> str:
    """A policy as the reader knows it: the category and the complexity it is for."""
    sub = kept_subcategories().get(classified.subcategory_id)
    complexity = Complexity(classified.complexity).label if classified.complexity in Complexity.values else ""
    return " / ".join(str(part) for part in (sub.category.name if sub else "", complexity) if part)


def _breached(event: Any) -> str | None:
    """The service deadline (FIRST_RESPONSE, RESOLUTION) a timeline event records as missed,
    when it was written (not the moment it fell due: a recount may put that in the past)."""
    change = event.payload or {}
    if event.kind == EventKind.SLA_BREACHED or (
        event.kind == EventKind.ESCALATED and str(change.get("reason", "")).endswith("_breached")
    ):
        return change.get("deadline") if change.get("deadline") in SERVICE_DUE else None
    return None


def explain_service(complaint: Any, kind: str, events: list[Any]) -> ServiceExplanation | None:
    """How the complaint's service deadline of `kind` was reached, replayed from its receipt
    through its timeline's pauses, reclassifications and disputes (`events` in order: its whole
    timeline, or its status changes), as the clock moved it. None when it has no such deadline
    (no policy for its class)."""
    classes = classifications(complaint, events)
    policy, calendar = _policy_of(classes[0])
    target = SERVICE_TARGET[kind]
    start = complaint.submitted_at  # the clock starts at receipt (`clock.start_clock`)
    due = sla.add_business_time(start, getattr(policy, target), calendar) if policy is not None else None
    filed_under, counted_due = policy, due
    steps: list[ServiceStep] = []
    paused_at, later, missed = None, iter(classes[1:]), False
    waits: list[tuple[datetime, datetime]] = []  # the completed waits for the complainant
    answered = complaint.first_responded_at if kind == FIRST_RESPONSE else None
    for event in events:
        missed = missed or _breached(event) == kind
        if _reclassifies(event):  # `clock.recompute_deadlines`: a deadline met or missed stays
            now_class = next(later)
            policy, calendar = _policy_of(now_class)
            settled = missed or (answered is not None and answered <= event.created_at)
            before, kept, waited = due, policy is None or settled, None
            if not kept:  # counted again from the start, the waits since then not counted
                due = sla.add_business_time(start, getattr(policy, target), calendar)
                since_start = [(began, ended) for began, ended in waits if began >= start]
                for began, ended in since_start:
                    due = sla.resume_deadline(due, began, ended, calendar)
                spent = sum((sla.business_time_between(b, e, calendar) for b, e in since_start), timedelta(0))
                waited = spent or None
            named = _policy_name(now_class) if policy is not None else None
            length = getattr(policy, target) if policy is not None else None
            steps.append(
                ServiceStep(
                    RECLASSIFIED, event.created_at, None, waited, named, length, start, kept, before, due
                )
            )
            continue
        change = _status_change(event)  # `clock.on_status_change`
        if change is None:
            continue
        if change[1] == Status.AWAITING_COMPLAINANT:
            paused_at = event.created_at
        elif change[0] == Status.AWAITING_COMPLAINANT:
            if change[1] == Status.OPEN and paused_at is not None:
                waits.append((paused_at, event.created_at))
            if change[1] == Status.OPEN and paused_at is not None and due is not None:
                # `clock.on_status_change`: a deadline met or missed before the wait ended stays.
                kept = missed or (answered is not None and answered <= event.created_at)
                took = sla.business_time_between(paused_at, event.created_at, calendar)
                moved = due if kept else sla.resume_deadline(due, paused_at, event.created_at, calendar)
                steps.append(
                    ServiceStep(PAUSED, paused_at, event.created_at, took, None, None, None, kept, due, moved)
                )
                due = moved
            paused_at = None
        elif change == (Status.RESOLVED, Status.OPEN) and policy is not None:
            start = event.created_at  # a dispute: the clock starts again, and the resolution's count
            if kind == RESOLUTION:
                missed, length = False, getattr(policy, target)
                before, due = due, sla.add_business_time(start, length, calendar)
                steps.append(
                    ServiceStep(RESTARTED, start, None, None, None, length, start, False, before, due)
                )
    if due is None:
        return None
    return ServiceExplanation(
        kind=kind,
        policy=_policy_name(classes[0]) if filed_under is not None else None,
        target=getattr(filed_under, target) if filed_under is not None else None,
        start_at=complaint.submitted_at,
        counted_due=counted_due,
        calendar=policy.calendar.name if policy is not None and policy.calendar_id is not None else None,
        time_zone=calendar.time_zone if calendar is not None else None,
        hours=working_hours(calendar) if calendar is not None else [],
        days_off=_days_off(policy, calendar, complaint.submitted_at, due),
        steps=steps,
        due_at=due,
    )


def working_hours(calendar: sla.Calendar) -> list[tuple[str, str]]:
    """A calendar's week as it reads: runs of weekdays with the same hours, and those hours
    ("Monday - Friday", "08:00-12:00, 13:30-17:30", with en dashes)."""
    runs: list[tuple[int, int, str]] = []
    for weekday in range(7):
        intervals = calendar.hours.get(weekday, ())
        if not intervals:
            continue
        spans = ", ".join(
            f"{start:%H:%M}{DASH}{'24:00' if end == time(0) else f'{end:%H:%M}'}" for start, end in intervals
        )
        if runs and runs[-1][1] == weekday - 1 and runs[-1][2] == spans:
            runs[-1] = (runs[-1][0], weekday, spans)
        else:
            runs.append((weekday, weekday, spans))
    return [
        (
            str(Weekday(first).label)
            if first == last
            else f"{Weekday(first).label} {DASH} {Weekday(last).label}",
            spans,
        )
        for first, last, spans in runs
    ]


def _days_off(
    policy: SlaPolicy | None, calendar: sla.Calendar | None, start: datetime, due: datetime | None
) -> list[DaysOff]:
    """The days without working time from the receipt's day to the due date's, on the calendar
    (its holidays by name: one query); none in wall-clock hours."""
    if calendar is None or due is None or policy is None:
        return []
    zone = calendar.zone
    first, last = start.astimezone(zone).date(), (due - timedelta(microseconds=1)).astimezone(zone).date()
    days = tuple(
        first + timedelta(days=n)
        for n in range((last - first).days + 1)
        if not sla.is_working_day(calendar, first + timedelta(days=n))
    )
    if not days:
        return []
    names = {
        holiday.date: holiday.name
        for holiday in Holiday.objects.filter(calendar_id=policy.calendar_id, date__range=(days[0], days[-1]))
    }
    return _runs(days, names)


class ServiceDeadline(NamedTuple):
    kind: str
    explanation: ServiceExplanation
    recounted: bool  # the account, counted with today's policies, ends elsewhere than the stored date
    service: bool = True  # for the page's partial: which account it writes


def service_deadlines(complaint: Any, *, timeline: list[Any] | None = None) -> dict[str, ServiceDeadline]:
    """The complaint's service deadlines that are set, by kind, each with how it was reached:
    replayed from its whole timeline when the caller has it (staff's case page), else from its
    status changes (one query)."""
    kinds = [kind for kind, column in SERVICE_DUE.items() if getattr(complaint, column) is not None]
    if not kinds:
        return {}
    events = timeline if timeline is not None else status_events(complaint)
    found = {}
    for kind in kinds:
        explanation = explain_service(complaint, kind, events)
        if explanation is not None:
            # Counted again today, a policy or its calendar (an edit since) gives another date:
            # the stored one stands, and the account says so.
            recounted = explanation.due_at != getattr(complaint, SERVICE_DUE[kind])
            found[kind] = ServiceDeadline(kind, explanation, recounted)
    return found
