"""The SLA sweep: every warning, breach and climb that is due, set-wise, exactly once.

Beat runs it every minute (`escalation.tasks.sweep_sla`) with the time read from the
database; `manage.py sla_sweep` runs the same function by hand. What is due is one
probe of the partial index on `next_check_at`, so a sweep with nothing to do costs the
same whatever the size of the table, and one with work costs what is due.
"""

from __future__ import annotations

import logging
import threading
from collections import namedtuple
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from operator import attrgetter
from typing import Any, NamedTuple

from django.db import connection, transaction

from common.bulk import BulkInsert, all_equal, array_placeholder
from complaints.models import Complaint, EventKind
from complaints.records import EventRows, NoticeRows, case_update, notice_values, staff_notices, staff_people
from escalation import sla
from escalation.clock import CLOCK_FIELDS, clock_of
from escalation.models import Escalation, EscalationLevel, Reason
from escalation.policies import ladder, policy_for, warning_ratio

logger = logging.getLogger(__name__)

# A complaint the sweep fails on is looked at again this much later (and logged).
RETRY_BROKEN_AFTER = timedelta(minutes=5)


@dataclass
class SweepResult:
    warned: int = 0
    breached: int = 0
    escalated: int = 0
    skipped: int = 0
    batches: int = 0
    failed: list[int] = field(default_factory=list)

    def add(self, other: SweepResult) -> None:
        self.warned += other.warned
        self.breached += other.breached
        self.escalated += other.escalated
        self.skipped += other.skipped
        self.batches += other.batches
        self.failed.extend(other.failed)

    def as_dict(self) -> dict[str, int]:
        return {
            "warned": self.warned,
            "breached": self.breached,
            "escalated": self.escalated,
            "skipped": self.skipped,
            "failed": len(self.failed),
        }


REASON_OF = {
    sla.BREACH_FIRST_RESPONSE: Reason.FIRST_RESPONSE_BREACHED,
    sla.BREACH_RESOLUTION: Reason.RESOLUTION_BREACHED,
    sla.CLIMB: Reason.CLIMB,
}


def trigger_key(complaint_id: int, checkpoint: sla.Checkpoint, from_level: int) -> str:
    """What makes a trigger unique: the complaint, what fired, and the deadline instance."""
    return f"{complaint_id}:{checkpoint.kind}:{from_level}:{checkpoint.deadline_at.isoformat()}"


# What the sweep reads of a complaint: plain tuples, no model instances (the rest of the
# row stays in the database).
SWEEP_READS = (
    "id",
    "reference",
    "category_id",
    "complexity",
    "status",
    "submitted_at",
    "contact_email",
    "language",
    "complainant_id",
    "assignee_id",
    "assignee__email",
    "assignee__preferred_language",
    *(name for name in CLOCK_FIELDS if name != "next_check_at"),
)


def sweep(*, now: datetime, batch_size: int = 500, dry_run: bool = False, threads: int = 1) -> SweepResult:
    """Fire every warning, breach and climb due at `now`; return the counts.

    Batches of due complaints are locked `FOR UPDATE SKIP LOCKED` in `next_check_at`
    order, their actions computed with the pure functions of `sla`, and written set-wise
    (complaints, events, escalations, notices) with one commit per batch. Escalation rows
    carry a unique trigger key, so a repeated or concurrent sweep cannot escalate twice.
    A complaint that fails is logged with its id and looked at again later.

    When the first batch locked is full and `threads` > 1, more threads, each on its own
    connection, take further batches alongside (SKIP LOCKED keeps them apart): one
    computes while PostgreSQL writes another's batch. Inside a caller's transaction, on
    SQLite or for a dry run, the sweep stays on the calling thread.

    A dry run goes through every batch in one transaction that is rolled back at the end,
    so it counts (and logs, in the conditional) all that is due and changes nothing.
    """
    result = SweepResult()
    context = _SweepContext(now=now, batch_size=batch_size, rungs=ladder(), dry_run=dry_run)
    if dry_run:
        with transaction.atomic():
            # Each batch moves its rows' next_check_at on, so the next one finds the rest.
            while _sweep_one_batch(context, result):
                pass
            transaction.set_rollback(True)
        return result
    parallel = (
        threads > 1 and not dry_run and connection.vendor == "postgresql" and not connection.in_atomic_block
    )
    helpers: list[threading.Thread] = []
    results: list[SweepResult] = []
    errors: list[BaseException] = []

    def work(own: SweepResult) -> None:
        try:
            while _sweep_one_batch(context, own):
                pass
        except BaseException as error:  # noqa: BLE001 - re-raised on the calling thread
            errors.append(error)
        finally:
            connection.close()  # this thread's own connection

    def start_helpers() -> None:
        # The first batch locked was full: there is more, and its rows are skipped by others.
        for _helper in range(threads - 1):
            own = SweepResult()
            results.append(own)
            helpers.append(threading.Thread(target=work, args=(own,), name="sla-sweep"))
            helpers[-1].start()

    try:
        full = _sweep_one_batch(context, result, when_full=start_helpers if parallel else None)
        while full:
            full = _sweep_one_batch(context, result)
    finally:
        for helper in helpers:
            helper.join()
    if errors:
        raise errors[0]
    for other in results:
        result.add(other)
    return result


@dataclass
class _SweepContext:
    now: datetime
    batch_size: int
    rungs: list[sla.Rung]
    dry_run: bool = False
    # Who is told at each level, as (id, e-mail, language): read once, when first needed.
    staff: dict[int, list[tuple[int, str, str]]] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def staff_by_level(self) -> dict[int, list[tuple[int, str, str]]]:
        with self.lock:
            if self.staff is None:
                self.staff = {
                    level.rank: staff_people(level.group.user_set.filter(is_active=True))
                    for level in EscalationLevel.objects.select_related("group")
                }
            return self.staff


def _sweep_one_batch(
    context: _SweepContext, result: SweepResult, *, when_full: Callable | None = None
) -> bool:
    """Lock, decide and write one batch in its own transaction (a savepoint in a dry run's);
    True if it was a full one."""
    with transaction.atomic():
        batch = _lock_due_batch(context.now, context.batch_size)
        if not batch:
            return False
        if when_full is not None and len(batch) == context.batch_size:
            when_full()
        result.batches += 1
        _sweep_batch(
            batch,
            now=context.now,
            rungs=context.rungs,
            staff=context.staff_by_level(),
            result=result,
            dry_run=context.dry_run,
        )
    return len(batch) == context.batch_size


SweepRow = namedtuple("SweepRow", SWEEP_READS)


def _lock_due_batch(now: datetime, batch_size: int) -> list[SweepRow]:
    """Lock and read the next due complaints, `next_check_at` order, skipping locked ones.

    On PostgreSQL the rows are read with psycopg's own (C) timestamp loader: Django's
    is a Python subclass (to apply its time zone) and was a fifth of the sweep's time
    at five timestamps a complaint. Django's connections run in its zone, which is the
    zone psycopg's loader applies, so the values are the same.
    """
    queryset = (
        Complaint.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(next_check_at__lte=now)
        .order_by("next_check_at")
        .values_list(*SWEEP_READS)[:batch_size]
    )
    if connection.vendor != "postgresql":
        return [SweepRow(*row) for row in queryset]
    from psycopg import adapters, postgres
    from psycopg.pq import Format

    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        oid = postgres.types["timestamptz"].oid
        cursor.cursor.adapters.register_loader(oid, adapters.get_loader(oid, Format.TEXT))
        cursor.execute(sql, params)
        return [SweepRow(*row) for row in cursor.fetchall()]


class _Swept(NamedTuple):
    """One complaint of a batch: what the sweep read, and what it decided."""

    row: Any
    clock: sla.Clock
    next_check_at: datetime | None
    fired: list[sla.Fired]


def _sweep_batch(
    batch: list,
    *,
    now: datetime,
    rungs: list[sla.Rung],
    staff: dict,
    result: SweepResult,
    dry_run: bool = False,
) -> None:
    swept: list[_Swept] = []
    for row in batch:
        try:
            policy, calendar = policy_for(row)
            fired, clock, next_check = sla.due(
                clock_of(row), now, ratio=warning_ratio(policy), calendar=calendar, ladder=rungs
            )
        except Exception:
            logger.exception("sweep failed on complaint %s; retrying later", row.id)
            swept.append(_Swept(row, clock_of(row), now + RETRY_BROKEN_AFTER, []))
            result.failed.append(row.id)
        else:
            swept.append(_Swept(row, clock, next_check, fired))
    events, notices = EventRows(), NoticeRows()
    escalations = BulkInsert(
        Escalation,
        ("complaint_id", "from_level", "to_level", "reason", "deadline_at", "trigger_key"),
        created_at=now,
    )
    # The moves first: a trigger key already taken (by an earlier or a concurrent sweep)
    # is skipped by the database, and only the moves it took get their events and notices.
    keys = {}
    for s in swept:
        for f in s.fired:
            if f.checkpoint.kind in REASON_OF and f.to_level != f.from_level:
                key = keys[s.row.id, f] = trigger_key(s.row.id, f.checkpoint, f.from_level)
                escalations.add(
                    complaint_id=s.row.id,
                    from_level=f.from_level,
                    to_level=f.to_level,
                    reason=REASON_OF[f.checkpoint.kind],
                    deadline_at=f.checkpoint.deadline_at if f.checkpoint.kind != sla.CLIMB else None,
                    trigger_key=key,
                )
    taken = escalations.insert(unless_taken="trigger_key")
    for s in swept:
        for f in s.fired:
            key = keys.get((s.row.id, f))
            if key is not None and key not in taken:
                result.skipped += 1
                continue
            _record(
                s, f, now=now, staff=staff, events=events, notices=notices, result=result, dry_run=dry_run
            )
    _write_swept_clocks(swept)
    events.insert()
    notices.insert()  # and nudges delivery after the commit


# What a sweep changes on a complaint: its PostgreSQL type, and where the new value is
# found on a swept complaint (the old one is on its row under the column's name).
SWEPT_FIELDS = {
    "first_response_warned_at": ("timestamptz", "clock.first_response_warned_at"),
    "first_response_breached_at": ("timestamptz", "clock.first_response_breached_at"),
    "resolution_warned_at": ("timestamptz", "clock.resolution_warned_at"),
    "resolution_breached_at": ("timestamptz", "clock.resolution_breached_at"),
    "escalation_level": ("smallint", "clock.level"),
    "level_since": ("timestamptz", "clock.level_since"),
    "next_check_at": ("timestamptz", "next_check_at"),  # always moved: the row was due
}


def _write_swept_clocks(swept: list[_Swept]) -> None:
    """One UPDATE for the whole batch, joined to arrays of the new values.

    `bulk_update` would send a CASE per field with a branch per row, which PostgreSQL
    evaluates row by row; UNNEST keeps the statement small and the update a join.
    """
    new_values = {column: list(map(attrgetter(path), swept)) for column, (_, path) in SWEPT_FIELDS.items()}
    if connection.vendor != "postgresql":  # the embedded SQLite default
        complaints = [Complaint(pk=s.row.id) for s in swept]
        for column, values in new_values.items():
            for complaint, value in zip(complaints, values, strict=True):
                setattr(complaint, column, value)
        Complaint.objects.bulk_update(complaints, list(SWEPT_FIELDS))
        return
    mark = array_placeholder()
    assignments, set_params, arrays, array_columns, array_params = [], [], [f"{mark}::bigint[]"], ["id"], []
    array_params.append([s.row.id for s in swept])
    for column, (kind, _path) in SWEPT_FIELDS.items():
        new = new_values[column]
        if column != "next_check_at" and new == list(map(attrgetter(f"row.{column}"), swept)):
            continue  # no complaint of the batch changed it
        if all_equal(new):  # e.g. every breach of the batch stamped at `now`
            assignments.append(f"{column} = %s::{kind}")
            set_params.append(new[0])
        else:
            assignments.append(f"{column} = v.{column}")
            arrays.append(f"{mark}::{kind}[]")
            array_columns.append(column)
            array_params.append(new)
    if not assignments:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Complaint._meta.db_table} AS c SET {', '.join(assignments)} "  # noqa: S608 - constants
            f"FROM UNNEST({', '.join(arrays)}) AS v({', '.join(array_columns)}) WHERE c.id = v.id",
            [*set_params, *array_params],
        )


def _record(
    swept: _Swept,
    fired: sla.Fired,
    *,
    now: datetime,
    staff: dict,
    events: EventRows,
    notices: NoticeRows,
    result: SweepResult,
    dry_run: bool = False,
) -> None:
    """The event and notices of one fired checkpoint (its escalation row is already written)."""
    row = swept.row
    checkpoint, before, after = fired.checkpoint, fired.from_level, fired.to_level
    deadline = checkpoint.deadline_at.isoformat()
    if checkpoint.kind in (sla.WARN_FIRST_RESPONSE, sla.WARN_RESOLUTION):
        result.warned += 1
        which = "first_response" if checkpoint.kind == sla.WARN_FIRST_RESPONSE else "resolution"
        events.add(
            complaint_id=row.id,
            now=now,
            kind=EventKind.SLA_WARNING,
            public=False,
            payload={"deadline": which, "due_at": deadline},
        )
        if row.assignee_id is not None:
            warned = [(row.assignee_id, row.assignee__email, row.assignee__preferred_language)]
        else:
            warned = staff.get(swept.clock.level, [])
        for values in staff_notices(warned, complaint_id=row.id, kind="sla_warning", now=now):
            notices.add(values)
        return
    if checkpoint.kind != sla.CLIMB:
        result.breached += 1
    which = {sla.BREACH_FIRST_RESPONSE: "first_response", sla.BREACH_RESOLUTION: "resolution"}.get(
        checkpoint.kind
    )
    if after == before:  # already at the top of the ladder: the breach is recorded, nothing moves
        events.add(
            complaint_id=row.id,
            now=now,
            kind=EventKind.SLA_BREACHED,
            public=True,
            payload={"deadline": which, "due_at": deadline},
        )
        return
    result.escalated += 1
    reason = REASON_OF[checkpoint.kind]
    # One timeline entry says both what broke and where the case went.
    events.add(
        complaint_id=row.id,
        now=now,
        kind=EventKind.ESCALATED,
        public=True,
        payload={"from": before, "to": after, "reason": reason, "deadline": which, "due_at": deadline},
    )
    logger.info(
        "%s %s from level %s to %s (%s, deadline %s)",
        "would escalate" if dry_run else "escalated",
        row.reference,
        before,
        after,
        reason,
        deadline,
    )
    for values in staff_notices(staff.get(after, []), complaint_id=row.id, kind="escalated", now=now):
        notices.add(values)
    notices.add(
        notice_values(
            complaint_id=row.id,
            email=row.contact_email,
            template="case_update",
            language=row.language,
            context=case_update(kind="escalated", guest=row.complainant_id is None),
            now=now,
        )
    )
