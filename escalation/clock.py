"""The SLA clock of one complaint: start, pause, resume, stop, restart, recompute.

Only `escalation` writes a complaint's deadlines, escalation level and `next_check_at`;
these functions set them on the instance (no save) and return the fields they set, so
the workflow that called them saves everything in one UPDATE. Every function takes
`now`; the sweep's task reads it from the database clock (`database_now`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from operator import attrgetter
from types import SimpleNamespace
from typing import Any

from django.db import connection

from complaints.models import Complaint, Complexity, Status
from escalation import sla
from escalation.explain import pausable_due, pauses_of, status_events
from escalation.firing import Levels, Settled, SweepResult, record
from escalation.models import (
    REGULATORY_BREACHED,
    REGULATORY_DUE,
    REGULATORY_MET,
    REGULATORY_WARNED,
    REGULATORY_WARNING,
    CountedFrom,
)
from escalation.policies import ladder, policy_for, regime_of_category, regime_rules, warning_ratio


def clock_of(complaint: Any) -> sla.Clock:
    """The SLA clock of a complaint, or of a row the sweep read with the same field names."""
    ended = complaint.status in (Status.CLOSED, Status.WITHDRAWN, Status.RESOLVED)
    return sla.Clock(
        started_at=complaint.clock_started_at or complaint.submitted_at,
        first_response_due_at=complaint.first_response_due_at,
        resolution_due_at=complaint.resolution_due_at,
        first_responded_at=complaint.first_responded_at,
        first_response_warned_at=complaint.first_response_warned_at,
        first_response_breached_at=complaint.first_response_breached_at,
        resolution_warned_at=complaint.resolution_warned_at,
        resolution_breached_at=complaint.resolution_breached_at,
        paused=complaint.clock_paused_at is not None or ended,
        level=complaint.escalation_level,
        level_since=complaint.level_since,
        regulatory=_regulatory_of(complaint) if complaint.regime_id is not None else (),
        ended=ended,
    )


def _regulatory_of(complaint: Any) -> tuple[sla.Regulatory, ...]:
    """The regime's deadlines as the clock reads them, one per kind, from the complaint's
    columns (met by the REGULATORY_MET ones, spelled out here); whether a pause stops each, from the
    regime's rules. (The sweep builds one per
    complaint it reads: plain positional tuples.)"""
    rules = regime_rules(complaint.regime_id)
    pausable = rules.pausable if rules is not None else frozenset()
    return (
        sla.Regulatory(
            sla.ACKNOWLEDGE,
            complaint.acknowledge_due_at,
            complaint.acknowledge_warning_at,
            complaint.acknowledged_at is not None,
            complaint.acknowledge_warned_at,
            complaint.acknowledge_breached_at,
            sla.ACKNOWLEDGE in pausable,
        ),
        sla.Regulatory(
            sla.ACCEPT,
            complaint.accept_due_at,
            complaint.accept_warning_at,
            complaint.accepted_at is not None,
            complaint.accept_warned_at,
            complaint.accept_breached_at,
            sla.ACCEPT in pausable,
        ),
        sla.Regulatory(
            sla.FINAL_RESPONSE,
            complaint.final_response_due_at,
            complaint.final_response_warning_at,
            complaint.final_response_at is not None,
            complaint.final_response_warned_at,
            complaint.final_response_breached_at,
            sla.FINAL_RESPONSE in pausable,
        ),
    )


# The regulatory clock's columns, per kind of a regime's deadline.

CLOCK_FIELDS = (
    "clock_started_at",
    "clock_paused_at",
    "first_response_due_at",
    "first_responded_at",
    "first_response_warned_at",
    "first_response_breached_at",
    "resolution_due_at",
    "resolution_warned_at",
    "resolution_breached_at",
    "escalation_level",
    "level_since",
    *REGULATORY_WARNED.values(),
    *REGULATORY_BREACHED.values(),
    "next_check_at",
)


def _regulatory_value(index: int, field: int, clock: sla.Clock) -> datetime | None:
    """A value of the clock's regime deadline of kind REGULATORY_KINDS[index] (None outside
    a regime): the sweep reads it off every complaint it settles."""
    regulatory = clock.regulatory
    return regulatory[index][field] if regulatory else None


# What firing a checkpoint changes on a complaint: each column, and how its new value is
# read off the `sla.Clock` after (the sweep writes the same columns set-wise).
FIRED_FIELDS: dict[str, Callable[[sla.Clock], Any]] = {
    "first_response_warned_at": attrgetter("first_response_warned_at"),
    "first_response_breached_at": attrgetter("first_response_breached_at"),
    "resolution_warned_at": attrgetter("resolution_warned_at"),
    "resolution_breached_at": attrgetter("resolution_breached_at"),
    "escalation_level": attrgetter("level"),
    "level_since": attrgetter("level_since"),
    **{
        column: partial(_regulatory_value, index, sla.Regulatory._fields.index("warned_at"))
        for index, column in enumerate(REGULATORY_WARNED.values())
    },
    **{
        column: partial(_regulatory_value, index, sla.Regulatory._fields.index("breached_at"))
        for index, column in enumerate(REGULATORY_BREACHED.values())
    },
}


REGULATORY_FIELDS = (
    "regime",
    "acknowledged_at",
    "accepted_at",
    "final_response_at",
    *REGULATORY_DUE.values(),
    *REGULATORY_WARNING.values(),
    *REGULATORY_WARNED.values(),
    *REGULATORY_BREACHED.values(),
)


def regulatory_deadlines(complaint: Complaint, *, regime_id: int | None) -> list[str]:
    """Set the complaint's regime and its deadlines (no save); return the fields.

    Each deadline counts from the complaint's receipt or, where the regime says so, from its
    acceptance (none until staff accept the case); a complex case gets the regime's longer
    period where it has one; staff are warned at the policy's share of its time, on the
    regime's calendar (kept with the deadline: the sweep counts no days). Under the same
    regime, a deadline already missed stays as it was recorded, and one that moves is
    warned of again; under another regime (or none), each starts afresh.
    """
    rules = regime_rules(regime_id)
    regime = rules.regime.pk if rules is not None else None
    same = regime == complaint.regime_id
    complaint.regime_id = regime
    by_kind = {deadline.kind: deadline for deadline in rules.deadlines} if rules is not None else {}
    complex_case = complaint.complexity == Complexity.COMPLEX
    pauses = None  # read from the timeline when a pausable deadline needs them
    ratio = warning_ratio(policy_for(complaint)[0])
    for kind in sla.REGULATORY_KINDS:
        if same and _settled(complaint, kind):
            continue
        rule, due = by_kind.get(kind), None
        start = _start_of(complaint, rule)
        if rule is not None and start is not None:
            period = rule.period(start, rules.calendar, complex_case=complex_case)
            due = period.due_at
            if rule.pausable and complaint.pk is not None:
                # Counted again (a reclassification): the pauses so far move it again.
                if pauses is None:
                    pauses = pauses_of(status_events(complaint))
                due = pausable_due(period, rule, rules, pauses)[0]
        if not same or due != getattr(complaint, REGULATORY_DUE[kind]):
            setattr(complaint, REGULATORY_WARNED[kind], None)
        if not same:
            setattr(complaint, REGULATORY_BREACHED[kind], None)
        _set_due(complaint, kind, start, due, rules, ratio)
    return list(REGULATORY_FIELDS)


def _start_of(complaint: Complaint, rule: Any) -> datetime | None:
    """Where a regime's deadline counts from: the complaint's receipt, or its acceptance."""
    if rule is not None and rule.counted_from == CountedFrom.ACCEPTANCE:
        return complaint.accepted_at
    return complaint.submitted_at


def _settled(complaint: Complaint, kind: str) -> bool:
    """Whether a regime deadline was met or missed: either way it stays as it was recorded."""
    return (
        getattr(complaint, REGULATORY_BREACHED[kind]) is not None
        or getattr(complaint, REGULATORY_MET[kind]) is not None
    )


def _set_due(
    complaint: Complaint, kind: str, start: datetime | None, due: datetime | None, rules: Any, ratio: float
) -> None:
    """A regime deadline and its warning point (`ratio`, the policy's share, of its time)."""
    setattr(complaint, REGULATORY_DUE[kind], due)
    warning = None
    if due is not None and start is not None:
        warning = sla.warning_point(start, due, ratio, rules.calendar)
    setattr(complaint, REGULATORY_WARNING[kind], warning)


def _resume_regulatory(complaint: Complaint, *, paused_at: datetime, now: datetime) -> None:
    """Move on the deadlines the regime lets a pause stop, by the days the pause took."""
    rules = regime_rules(complaint.regime_id)
    if rules is None:
        return
    ratio = warning_ratio(policy_for(complaint)[0])
    for deadline in rules.deadlines:
        due = getattr(complaint, REGULATORY_DUE[deadline.kind])
        if not deadline.pausable or due is None or _settled(complaint, deadline.kind):
            continue
        moved = sla.resume_days(
            due,
            paused_at,
            now,
            deadline.unit,
            rules.calendar,
            roll_to_working_day=rules.regime.rolls_to_working_day,
        )
        if moved is not None:
            _set_due(complaint, deadline.kind, _start_of(complaint, deadline), moved.due_at, rules, ratio)
            setattr(complaint, REGULATORY_WARNED[deadline.kind], None)


def reschedule(complaint: Complaint) -> None:
    """Set `next_check_at` to the earliest warning, deadline or climb still ahead (or None)."""
    policy, calendar = policy_for(complaint)
    upcoming = sla.checkpoints(
        clock_of(complaint),
        ratio=warning_ratio(policy),
        calendar=calendar,
        ladder=ladder(),
    )
    complaint.next_check_at = upcoming[0].at if upcoming else None


def settle(*, complaint: Complaint, now: datetime) -> list[str]:
    """Fire what fell due on a locked complaint by `now`, before a workflow changes its clock.

    A reply, a pause, a resume, a reclassification or a move by a person changes what is
    checked next; whatever fell due before it happened must fire first, as a sweep every
    minute would have made it, even when no sweep ran since (beat down, workers behind).
    The moves, events and notices are written as the sweep writes them; the clock fields
    are set on the instance (no save) and returned, for the workflow to save.
    """
    policy, calendar = policy_for(complaint)
    rungs = ladder()
    before = clock_of(complaint)
    fired, after, next_check = sla.due(
        before,
        now,
        ratio=warning_ratio(policy),
        calendar=calendar,
        ladder=rungs,
    )
    if after == before:
        return []
    assignee = complaint.assignee if complaint.assignee_id is not None else None
    row = SimpleNamespace(
        id=complaint.pk,
        reference=complaint.reference,
        contact_email=complaint.contact_email,
        language=complaint.language,
        complainant_id=complaint.complainant_id,
        assignee_id=complaint.assignee_id,
        assignee__email=assignee.email if assignee else "",
        assignee__preferred_language=assignee.preferred_language if assignee else "",
    )
    record([Settled(row, after, next_check, fired)], now=now, levels=Levels.read(), result=SweepResult())
    for column, value_of in FIRED_FIELDS.items():
        setattr(complaint, column, value_of(after))
    complaint.next_check_at = next_check
    return list(CLOCK_FIELDS)


def settle_rows(rows: list[Any], *, now: datetime) -> int:
    """`settle` for many locked complaints at once, each read as the sweep reads them (its field
    names, `next_check_at` too, settable attributes): what fell due on each by `now` fires as of
    when it fell due, its moves, events and notices recorded set-wise (one `record`, as a sweep
    batch's), and each row's clock fields are set to the clock after (no save: the caller writes
    them with its own changes). Return how many rows had something due.

    Only rows whose `next_check_at` has come are computed: it is the earliest thing the clock
    checks next (the sweep's one column), so the others have nothing due.
    """
    rungs = ladder()
    settled: list[Settled] = []
    for row in rows:
        if row.next_check_at is None or row.next_check_at > now:
            continue
        policy, calendar = policy_for(row)
        before = clock_of(row)
        fired, after, next_check = sla.due(
            before, now, ratio=warning_ratio(policy), calendar=calendar, ladder=rungs
        )
        if after != before:
            settled.append(Settled(row, after, next_check, fired))
    if settled:
        record(settled, now=now, levels=Levels.read(), result=SweepResult())
    for case in settled:
        for column, value_of in FIRED_FIELDS.items():
            setattr(case.row, column, value_of(case.clock))
        case.row.next_check_at = case.next_check_at
    return len(settled)


def start_clock(*, complaint: Complaint, now: datetime) -> list[str]:
    """Set a new complaint's deadlines from its SLA policy (no save); return the fields set.

    Without a policy for its category and complexity the complaint has no service deadlines
    (a regime's, if any, still run).
    """
    policy, calendar = policy_for(complaint)
    complaint.clock_started_at = now
    rules = regime_of_category(complaint.category_id)
    regulatory = regulatory_deadlines(complaint, regime_id=rules.regime.pk if rules else None)
    if policy is not None:
        complaint.first_response_due_at = sla.add_business_time(now, policy.first_response_target, calendar)
        complaint.resolution_due_at = sla.add_business_time(now, policy.resolution_target, calendar)
    reschedule(complaint)  # without a policy, only a regime's deadlines are checked
    return [*CLOCK_FIELDS, *regulatory]


def on_status_change(*, complaint: Complaint, from_status: str, to_status: str, now: datetime) -> list[str]:
    """Pause, resume, stop or restart the clock for a status change (no save); return fields."""
    policy, calendar = policy_for(complaint)
    regulatory: list[str] = []
    if from_status == Status.NEW and to_status != Status.WITHDRAWN and complaint.accepted_at is None:
        # Staff take the case up: it is accepted, and deadlines counted from acceptance start.
        complaint.accepted_at = now
        regulatory = regulatory_deadlines(complaint, regime_id=complaint.regime_id)
    if to_status == Status.RESOLVED and complaint.final_response_at is None:
        complaint.final_response_at = now  # the first resolution: a dispute does not undo it
        regulatory = [*regulatory, "final_response_at"]
    if to_status == Status.AWAITING_COMPLAINANT:
        complaint.clock_paused_at = now
    elif to_status in (Status.RESOLVED, Status.CLOSED, Status.WITHDRAWN):
        complaint.clock_paused_at = None  # resolution stops the clock: nothing is checked any more
    elif (
        to_status == Status.OPEN and from_status == Status.AWAITING_COMPLAINANT and complaint.clock_paused_at
    ):
        paused_at = complaint.clock_paused_at
        for name, settled in (
            ("first_response_due_at", complaint.first_responded_at or complaint.first_response_breached_at),
            ("resolution_due_at", complaint.resolution_breached_at),
        ):
            # A deadline already met or missed stays as it was recorded: the wait moves only
            # those still running (as a recount and a regime's pausable deadlines do).
            due = getattr(complaint, name)
            if due is not None and settled is None:
                setattr(complaint, name, sla.resume_deadline(due, paused_at, now, calendar))
        if complaint.regime_id is not None:
            _resume_regulatory(complaint, paused_at=paused_at, now=now)
            regulatory = list(REGULATORY_FIELDS)
        complaint.clock_paused_at = None
    elif to_status == Status.OPEN and from_status == Status.RESOLVED and policy is not None:
        # A dispute restarts the resolution clock: a new deadline instance, a new trigger.
        complaint.clock_started_at = now
        complaint.resolution_due_at = sla.add_business_time(now, policy.resolution_target, calendar)
        complaint.resolution_warned_at = complaint.resolution_breached_at = None
    reschedule(complaint)
    return [*CLOCK_FIELDS, *regulatory]


def note_staff_response(*, complaint: Complaint, now: datetime) -> list[str]:
    """A public message from staff satisfies the first-response target (no save)."""
    if complaint.first_responded_at is not None:
        return []
    complaint.first_responded_at = now
    reschedule(complaint)
    return ["first_responded_at", "next_check_at"]


def recompute_deadlines(*, complaint: Complaint, now: datetime) -> list[str]:
    """New deadlines after a change of category or complexity (no save); return fields.

    The clock keeps its start: the new targets count from when it started, the waits for
    the complainant since then not counted (as each resume moved the old deadlines), and a
    deadline already met or missed stays as it was recorded.
    """
    policy, calendar = policy_for(complaint)
    rules = regime_of_category(complaint.category_id)
    regulatory = regulatory_deadlines(complaint, regime_id=rules.regime.pk if rules else None)
    if policy is None:
        reschedule(complaint)  # only a regime's deadlines, if any, are checked
        return [*CLOCK_FIELDS, *regulatory]
    start = complaint.clock_started_at or complaint.submitted_at
    waits = [(began, ended) for began, ended in pauses_of(status_events(complaint)) if began >= start]

    def counted(target: timedelta) -> datetime:
        due = sla.add_business_time(start, target, calendar)
        for began, ended in waits:
            due = sla.resume_deadline(due, began, ended, calendar)
        return due

    if complaint.first_responded_at is None and complaint.first_response_breached_at is None:
        complaint.first_response_due_at = counted(policy.first_response_target)
        complaint.first_response_warned_at = None
    if complaint.resolution_breached_at is None:
        complaint.resolution_due_at = counted(policy.resolution_target)
        complaint.resolution_warned_at = None
    # Still paused, nothing is checked: the pause moves the new deadlines too, on resume.
    reschedule(complaint)
    return [*CLOCK_FIELDS, *regulatory]


def database_now() -> datetime:
    """The database's clock: every worker agrees on what is due, whatever its own clock says."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT CURRENT_TIMESTAMP")
        value = cursor.fetchone()[0]
    if isinstance(value, str):  # SQLite (the embedded default) answers in text, in UTC
        value = datetime.fromisoformat(value).replace(tzinfo=UTC)
    return value
