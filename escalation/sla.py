"""Deadline arithmetic: pure functions of their arguments. No ORM, no clock.

Every datetime in and out is timezone-aware. A `Calendar` says when the clock runs:
working intervals per weekday in the calendar's time zone, minus holidays. Without a
calendar (None) the clock runs on wall-clock time.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from operator import itemgetter
from typing import NamedTuple
from zoneinfo import ZoneInfo

# A calendar with no working time at all would never reach a deadline: give up after this.
MAX_DAYS_SEARCHED = 3 * 366


class CalendarHasNoWorkingTime(ValueError):
    """The calendar never lets the clock run, so no deadline can be computed."""


@dataclass(frozen=True)
class Calendar:
    """When the SLA clock runs.

    `hours` maps a weekday (Monday = 0) to its working intervals, e.g.
    ``{0: ((time(8), time(12)), (time(13, 30), time(17, 30)))}``; an interval ending at
    ``time(0)`` runs to midnight. Days in `holidays` have no working time.
    """

    time_zone: str
    hours: Mapping[int, Sequence[tuple[time, time]]]
    holidays: frozenset[date] = field(default_factory=frozenset)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def intervals_on(self, day: date) -> list[tuple[datetime, datetime]]:
        """The day's working intervals as aware datetimes (empty on holidays)."""
        if day in self.holidays:
            return []
        zone = self.zone
        result = []
        for start, end in self.hours.get(day.weekday(), ()):
            begin = datetime.combine(day, start, tzinfo=zone)
            finish = datetime.combine(day + timedelta(days=1) if end == time(0) else day, end, tzinfo=zone)
            if finish > begin:
                result.append((begin, finish))
        return sorted(result)


def _working_intervals(calendar: Calendar, start: datetime) -> Iterator[tuple[datetime, datetime]]:
    """Working intervals from `start` on, clipped to begin no earlier than it."""
    day = start.astimezone(calendar.zone).date()
    for offset in range(MAX_DAYS_SEARCHED):
        for begin, end in calendar.intervals_on(day + timedelta(days=offset)):
            if end <= start:
                continue
            yield max(begin, start), end
    raise CalendarHasNoWorkingTime(calendar.time_zone)


def add_business_time(start: datetime, duration: timedelta, calendar: Calendar | None) -> datetime:
    """The moment `duration` of clock time after `start` (in UTC).

    With a calendar the clock only runs in working intervals: a deadline that uses up an
    interval exactly ends at that interval's end, never at the next one's start.
    """
    if duration < timedelta(0):
        raise ValueError("duration must not be negative")
    if calendar is None or duration == timedelta(0):
        return (start + duration).astimezone(UTC)
    remaining = duration
    for begin, end in _working_intervals(calendar, start):
        available = end - begin
        if remaining <= available:
            return (begin + remaining).astimezone(UTC)
        remaining -= available
    raise AssertionError("unreachable: _working_intervals raises when exhausted")


def business_time_between(start: datetime, end: datetime, calendar: Calendar | None) -> timedelta:
    """How much clock time runs from `start` to `end` (zero if end is not after start)."""
    if end <= start:
        return timedelta(0)
    if calendar is None:
        return end - start
    total = timedelta(0)
    day = start.astimezone(calendar.zone).date()
    last_day = end.astimezone(calendar.zone).date()
    while day <= last_day:
        for begin, finish in calendar.intervals_on(day):
            overlap = min(finish, end) - max(begin, start)
            if overlap > timedelta(0):
                total += overlap
        day += timedelta(days=1)
    return total


def warning_point(start: datetime, due: datetime, ratio: float, calendar: Calendar | None) -> datetime:
    """When `ratio` (e.g. 0.75) of the clock time between start and due has run."""
    if not 0 < ratio <= 1:
        raise ValueError("ratio must be in (0, 1]")
    target = business_time_between(start, due, calendar)
    return add_business_time(start, target * ratio, calendar)


def resume_deadline(
    due: datetime, paused_at: datetime, resumed_at: datetime, calendar: Calendar | None
) -> datetime:
    """A deadline moved on by the clock time that passed while the case was paused.

    Only working time counts: a pause that spanned a weekend or a holiday moves the
    deadline by the working hours inside it, not by the days.
    """
    paused = business_time_between(paused_at, resumed_at, calendar)
    if paused == timedelta(0):
        return due
    return add_business_time(due, paused, calendar)


# --- Periods in days, as the law counts them ----------------------------------------------

WORKING_DAYS = "working"
CALENDAR_DAYS = "calendar"


class DayPeriod(NamedTuple):
    """Where a period of days ends, and the days off inside it."""

    due_at: datetime  # the end of `last_day` (midnight after it, in the calendar's zone), in UTC
    last_day: date
    days_off: tuple[date, ...]  # days without working time from the day after receipt to last_day
    rolled_from: date | None  # in calendar days, the last day counted when it was a day off


def is_working_day(calendar: Calendar, day: date) -> bool:
    """Whether the day has working time (what `intervals_on` gives, without building it)."""
    if day in calendar.holidays:
        return False
    return any(end == time(0) or end > start for start, end in calendar.hours.get(day.weekday(), ()))


def add_days(
    received: datetime, days: int, unit: str, calendar: Calendar, *, roll_to_working_day: bool = False
) -> DayPeriod:
    """A period of `days` days after `received`, as statutes count one.

    The day of receipt is not counted: the period begins on the next day, in the calendar's
    time zone, and ends at the end of its last day. In working days, days without working
    time (weekends, holidays) are not counted. In calendar days every day counts; with
    `roll_to_working_day` (as Vietnam's Civil Code, Art. 148, reads a period) a last day that
    is not a working day gives way to the next working day.
    """
    if days < 1:
        raise ValueError("a period counts at least one day")
    if unit not in (WORKING_DAYS, CALENDAR_DAYS):
        raise ValueError(f"unknown unit of days: {unit!r}")
    first = received.astimezone(calendar.zone).date() + timedelta(days=1)
    rolled_from = None
    if unit == WORKING_DAYS:
        day, counted = first, 0
        for _step in range(MAX_DAYS_SEARCHED):
            if is_working_day(calendar, day):
                counted += 1
                if counted == days:
                    break
            day += timedelta(days=1)
        else:
            raise CalendarHasNoWorkingTime(calendar.time_zone)
    else:
        day = first + timedelta(days=days - 1)
        if roll_to_working_day and not is_working_day(calendar, day):
            rolled_from = day
            for _step in range(MAX_DAYS_SEARCHED):
                day += timedelta(days=1)
                if is_working_day(calendar, day):
                    break
            else:
                raise CalendarHasNoWorkingTime(calendar.time_zone)
    days_off = tuple(
        first + timedelta(days=n)
        for n in range((day - first).days + 1)
        if not is_working_day(calendar, first + timedelta(days=n))
    )
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=calendar.zone)
    return DayPeriod(end.astimezone(UTC), day, days_off, rolled_from)


def days_between(start: datetime, end: datetime, unit: str, calendar: Calendar) -> int:
    """The days from the day after `start`'s to `end`'s day (local), in `unit`: how many
    days of a period a pause from `start` to `end` took, counted as the period counts them."""
    day = start.astimezone(calendar.zone).date() + timedelta(days=1)
    last = end.astimezone(calendar.zone).date()
    count = 0
    while day <= last:
        if unit == CALENDAR_DAYS or is_working_day(calendar, day):
            count += 1
        day += timedelta(days=1)
    return count


def resume_days(
    due: datetime,
    paused_at: datetime,
    resumed_at: datetime,
    unit: str,
    calendar: Calendar,
    *,
    roll_to_working_day: bool = False,
) -> DayPeriod | None:
    """A period in days moved on by the days a pause took (`days_between`): that many days
    more after its last day, counted as the period is (None when the pause took none)."""
    paused = days_between(paused_at, resumed_at, unit, calendar)
    if paused == 0:
        return None
    within_last_day = due - timedelta(microseconds=1)
    return add_days(within_last_day, paused, unit, calendar, roll_to_working_day=roll_to_working_day)


# --- What is due ------------------------------------------------------------------------

WARN_FIRST_RESPONSE = "warn_first_response"
WARN_RESOLUTION = "warn_resolution"
BREACH_FIRST_RESPONSE = "breach_first_response"
BREACH_RESOLUTION = "breach_resolution"
CLIMB = "climb"

# A regime's deadlines, by kind (escalation.models.DeadlineKind), and their checkpoints.
ACKNOWLEDGE, ACCEPT, FINAL_RESPONSE = "acknowledge", "accept", "final_response"
REGULATORY_KINDS = (ACKNOWLEDGE, ACCEPT, FINAL_RESPONSE)
WARN_REGULATORY = {kind: f"warn_regulatory_{kind}" for kind in REGULATORY_KINDS}
BREACH_REGULATORY = {kind: f"breach_regulatory_{kind}" for kind in REGULATORY_KINDS}
_REGULATORY_OF = {
    **{check: (kind, False) for kind, check in WARN_REGULATORY.items()},
    **{check: (kind, True) for kind, check in BREACH_REGULATORY.items()},
}


def is_warning(checkpoint_kind: str) -> bool:
    return checkpoint_kind.startswith("warn_")


class Regulatory(NamedTuple):
    """One deadline of a regime on a complaint, as stored on it: due at `due_at`, staff
    warned at `warning_at` (both set when the deadline is, on the regime's calendar), until
    it is met."""

    kind: str
    due_at: datetime | None
    warning_at: datetime | None = None
    met: bool = False
    warned_at: datetime | None = None
    breached_at: datetime | None = None
    pausable: bool = False


class Clock(NamedTuple):
    """The SLA state of one complaint, as stored on it (a tuple: the sweep makes thousands)."""

    started_at: datetime
    first_response_due_at: datetime | None
    resolution_due_at: datetime | None
    first_responded_at: datetime | None = None
    first_response_warned_at: datetime | None = None
    first_response_breached_at: datetime | None = None
    resolution_warned_at: datetime | None = None
    resolution_breached_at: datetime | None = None
    paused: bool = False
    level: int = 0
    level_since: datetime | None = None
    # The regime's deadlines (one per kind, REGULATORY_KINDS order; empty outside a regime):
    # they keep running through a pause unless pausable, and stop when the case `ended`
    # (resolved, closed or withdrawn).
    regulatory: tuple[Regulatory, ...] = ()
    ended: bool = False


@dataclass(frozen=True)
class Rung:
    rank: int
    climb_after: timedelta | None


class Checkpoint(NamedTuple):  # a tuple: the sweep makes several per complaint
    kind: str
    at: datetime
    deadline_at: datetime  # the deadline instance the checkpoint belongs to (the trigger's key)


def checkpoints(
    clock: Clock,
    *,
    ratio: float,
    calendar: Calendar | None,
    ladder: Sequence[Rung],
    warnings: dict[datetime, datetime] | None = None,
) -> list[Checkpoint]:
    """Every warning, deadline and climb still ahead of this clock, in time order.

    `warnings` keeps the warning points already computed for this clock by deadline (a
    warning point depends only on the clock's start and the deadline).
    """
    known = {} if warnings is None else warnings
    found = []
    if clock.regulatory and not clock.ended:
        _regulatory_checkpoints(clock, found)
    if clock.paused:
        found.sort(key=_IN_TIME_ORDER)
        return found
    if clock.first_response_due_at is not None and clock.first_responded_at is None:
        due = clock.first_response_due_at
        if clock.first_response_breached_at is None:
            if clock.first_response_warned_at is None:
                if due not in known:
                    known[due] = warning_point(clock.started_at, due, ratio, calendar)
                found.append(Checkpoint(WARN_FIRST_RESPONSE, known[due], due))
            found.append(Checkpoint(BREACH_FIRST_RESPONSE, due, due))
    if clock.resolution_due_at is not None and clock.resolution_breached_at is None:
        due = clock.resolution_due_at
        if clock.resolution_warned_at is None:
            if due not in known:
                known[due] = warning_point(clock.started_at, due, ratio, calendar)
            found.append(Checkpoint(WARN_RESOLUTION, known[due], due))
        found.append(Checkpoint(BREACH_RESOLUTION, due, due))
    climb = _climb_checkpoint(clock, ladder)
    if climb is not None:
        found.append(climb)
    found.sort(key=_IN_TIME_ORDER)
    return found


_IN_TIME_ORDER = itemgetter(1, 0)  # (at, kind)


def _regulatory_checkpoints(clock: Clock, found: list[Checkpoint]) -> None:
    """A regime's deadlines still ahead: each warned of at its warning point and breached at
    its end, unless met; a pause stops only the pausable ones."""
    for deadline in clock.regulatory:
        due = deadline.due_at
        if due is None or deadline.met or deadline.breached_at is not None:
            continue
        if clock.paused and deadline.pausable:
            continue
        if deadline.warned_at is None and deadline.warning_at is not None:
            found.append(Checkpoint(WARN_REGULATORY[deadline.kind], deadline.warning_at, due))
        found.append(Checkpoint(BREACH_REGULATORY[deadline.kind], due, due))


def _climb_checkpoint(clock: Clock, ladder: Sequence[Rung]) -> Checkpoint | None:
    breached = clock.first_response_breached_at or clock.resolution_breached_at
    if breached is None or clock.level_since is None:
        return None
    rung = None
    higher = False
    for candidate in ladder:
        if candidate.rank == clock.level:
            rung = candidate
        elif candidate.rank > clock.level:
            higher = True
    if rung is None or rung.climb_after is None or not higher:
        return None
    return Checkpoint(CLIMB, clock.level_since + rung.climb_after, clock.level_since)


def next_level(level: int, ladder: Sequence[Rung]) -> int:
    """The rung above `level`, or `level` itself at the top."""
    return min((rung.rank for rung in ladder if rung.rank > level), default=level)


def top_level(level: int, ladder: Sequence[Rung]) -> int:
    """The ladder's top rung, or `level` itself when it is there (or above)."""
    return max((rung.rank for rung in ladder if rung.rank > level), default=level)


def apply(clock: Clock, checkpoint: Checkpoint, ladder: Sequence[Rung]) -> Clock:
    """The clock after a due checkpoint fired. Breaches and climbs go up one rung.

    Everything is stamped with the moment the checkpoint fell due (`checkpoint.at`), not
    the moment a sweep got to it: a sweep after a gap leaves the clock as a sweep every
    minute would have, and the next climb counts from when the case should have reached
    its rung.
    """
    now = checkpoint.at
    changes: dict = {}
    regulatory = _REGULATORY_OF.get(checkpoint.kind)
    if regulatory is not None:
        kind, breach = regulatory
        changes["regulatory"] = tuple(
            deadline._replace(
                warned_at=deadline.warned_at or now, breached_at=now if breach else deadline.breached_at
            )
            if deadline.kind == kind
            else deadline
            for deadline in clock.regulatory
        )
        if breach:  # the law's deadline passed: straight to the top of the ladder
            changes["level"] = top_level(clock.level, ladder)
            changes["level_since"] = now if changes["level"] != clock.level else clock.level_since
        return clock._replace(**changes)
    if checkpoint.kind == WARN_FIRST_RESPONSE:
        changes["first_response_warned_at"] = now
    elif checkpoint.kind == WARN_RESOLUTION:
        changes["resolution_warned_at"] = now
    elif checkpoint.kind in (BREACH_FIRST_RESPONSE, BREACH_RESOLUTION, CLIMB):
        if checkpoint.kind == BREACH_FIRST_RESPONSE:
            changes["first_response_breached_at"] = now
            changes["first_response_warned_at"] = clock.first_response_warned_at or now
        elif checkpoint.kind == BREACH_RESOLUTION:
            changes["resolution_breached_at"] = now
            changes["resolution_warned_at"] = clock.resolution_warned_at or now
        changes["level"] = next_level(clock.level, ladder)
        changes["level_since"] = now if changes["level"] != clock.level else clock.level_since
    return clock._replace(**changes)


class Fired(NamedTuple):
    checkpoint: Checkpoint
    from_level: int
    to_level: int


def due(
    clock: Clock,
    now: datetime,
    *,
    ratio: float,
    calendar: Calendar | None,
    ladder: Sequence[Rung],
) -> tuple[list[Fired], Clock, datetime | None]:
    """Fire everything due by `now`: (what fired, in order; the new clock; the next check).

    However long ago the first of them fell due, each fires as of its own time, so what
    it sets in motion (a climb after a breach) fires too if it is due by `now`. A
    warning whose deadline is also due is not sent: the breach says more.
    """
    fired: list[Fired] = []
    warnings: dict[datetime, datetime] = {}  # firing never moves the start or a deadline
    ahead = checkpoints(
        clock,
        ratio=ratio,
        calendar=calendar,
        ladder=ladder,
        warnings=warnings,
    )
    for _ in range(32):  # a bounded loop: each pass fires at least one checkpoint
        if not ahead or ahead[0].at > now:
            break
        checkpoint = ahead[0]
        breach_also_due = is_warning(checkpoint.kind) and any(
            c.at <= now
            and c.kind == "breach_" + checkpoint.kind[5:]
            and c.deadline_at == checkpoint.deadline_at
            for c in ahead
        )
        before = clock.level
        clock = apply(clock, checkpoint, ladder)
        if not breach_also_due:
            fired.append(Fired(checkpoint, before, clock.level))
        ahead = checkpoints(
            clock,
            ratio=ratio,
            calendar=calendar,
            ladder=ladder,
            warnings=warnings,
        )
    return fired, clock, ahead[0].at if ahead else None
