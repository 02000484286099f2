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

from django.db import connection, transaction

from common.bulk import all_equal, array_placeholder
from complaints.models import Complaint
from escalation import sla
from escalation.clock import CLOCK_FIELDS, FIRED_FIELDS, clock_of
from escalation.firing import Levels, Settled, SweepResult, record
from escalation.models import REGULATORY_DUE, REGULATORY_WARNING
from escalation.policies import ladder, policy_for, warning_ratio

logger = logging.getLogger(__name__)

# A complaint the sweep fails on is looked at again this much later (and logged).
RETRY_BROKEN_AFTER = timedelta(minutes=5)


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
    # The regulatory clock: its regime, its deadlines and warning points, what meets them.
    "regime_id",
    "acknowledged_at",
    "accepted_at",
    "final_response_at",
    *REGULATORY_DUE.values(),
    *REGULATORY_WARNING.values(),
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
    # The ladder's people and names: read once, when first needed.
    levels: Levels | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ladder_levels(self) -> Levels:
        with self.lock:
            if self.levels is None:
                self.levels = Levels.read()
            return self.levels


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
            levels=context.ladder_levels(),
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


def _sweep_batch(
    batch: list,
    *,
    now: datetime,
    rungs: list[sla.Rung],
    levels: Levels,
    result: SweepResult,
    dry_run: bool = False,
) -> None:
    settled: list[Settled] = []
    for row in batch:
        try:
            policy, calendar = policy_for(row)
            fired, clock, next_check = sla.due(
                clock_of(row),
                now,
                ratio=warning_ratio(policy),
                calendar=calendar,
                ladder=rungs,
            )
        except Exception:
            logger.exception("sweep failed on complaint %s; retrying later", row.id)
            settled.append(Settled(row, clock_of(row), now + RETRY_BROKEN_AFTER, []))
            result.failed.append(row.id)
        else:
            settled.append(Settled(row, clock, next_check, fired))
    record(settled, now=now, levels=levels, result=result, dry_run=dry_run)
    _write_swept_clocks(settled)


# What a sweep changes on a complaint: its PostgreSQL type, and how the new value is read
# off a swept complaint (the old one is on its row under the column's name).
SWEPT_FIELDS = {
    **{
        column: (
            "smallint" if column == "escalation_level" else "timestamptz",
            lambda swept, value_of=value_of: value_of(swept.clock),
        )
        for column, value_of in FIRED_FIELDS.items()
    },
    "next_check_at": ("timestamptz", attrgetter("next_check_at")),  # always moved: the row was due
}


def _write_swept_clocks(swept: list[Settled]) -> None:
    """One UPDATE for the whole batch, joined to arrays of the new values.

    `bulk_update` would send a CASE per field with a branch per row, which PostgreSQL
    evaluates row by row; UNNEST keeps the statement small and the update a join.
    """
    new_values = {column: list(map(value_of, swept)) for column, (_, value_of) in SWEPT_FIELDS.items()}
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
