"""The SLA clock and the escalation ladder: start, pause, resume, stop, and the sweep.

Only this module writes a complaint's deadlines, escalation level and `next_check_at`.
Every function takes `now`; the sweep's task reads it from the database clock.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time as monotonic_time
from collections import namedtuple
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from operator import attrgetter
from typing import Any, NamedTuple

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils.translation import gettext as _

from complaints.models import ActorRole, Complaint, ComplaintEvent, EventKind, Notification, Status
from escalation import sla
from escalation.models import Escalation, EscalationLevel, Reason, SlaPolicy

logger = logging.getLogger(__name__)

# A complaint the sweep fails on is looked at again this much later (and logged).
RETRY_BROKEN_AFTER = timedelta(minutes=5)
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
    return policies().get((complaint.category_id, complaint.complexity), (None, None))


def clock_of(complaint: Any) -> sla.Clock:
    """The SLA clock of a complaint, or of a row the sweep read with the same field names."""
    return sla.Clock(
        started_at=complaint.clock_started_at or complaint.submitted_at,
        first_response_due_at=complaint.first_response_due_at,
        resolution_due_at=complaint.resolution_due_at,
        first_responded_at=complaint.first_responded_at,
        first_response_warned_at=complaint.first_response_warned_at,
        first_response_breached_at=complaint.first_response_breached_at,
        resolution_warned_at=complaint.resolution_warned_at,
        resolution_breached_at=complaint.resolution_breached_at,
        paused=complaint.clock_paused_at is not None
        or complaint.status in (Status.CLOSED, Status.WITHDRAWN, Status.RESOLVED),
        level=complaint.escalation_level,
        level_since=complaint.level_since,
    )


CLOCK_FIELDS = [
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
    "next_check_at",
]


# Without a policy there are no deadlines to warn about; the ratio only matters for climbs.
DEFAULT_WARNING_RATIO = 0.75


def warning_ratio(policy: SlaPolicy | None) -> float:
    return float(policy.warning_ratio) if policy is not None else DEFAULT_WARNING_RATIO


def _reschedule(complaint: Complaint) -> None:
    """Set `next_check_at` to the earliest warning, deadline or climb still ahead (or None)."""
    policy, calendar = policy_for(complaint)
    upcoming = sla.checkpoints(
        clock_of(complaint), ratio=warning_ratio(policy), calendar=calendar, ladder=ladder()
    )
    complaint.next_check_at = upcoming[0].at if upcoming else None


def start_clock(*, complaint: Complaint, now: datetime) -> list[str]:
    """Set a new complaint's deadlines from its SLA policy (no save); return the fields set.

    Without a policy for its category and complexity the complaint has no deadlines.
    """
    policy, calendar = policy_for(complaint)
    complaint.clock_started_at = now
    if policy is None:
        complaint.next_check_at = None
        return ["clock_started_at", "next_check_at"]
    complaint.first_response_due_at = sla.add_business_time(now, policy.first_response_target, calendar)
    complaint.resolution_due_at = sla.add_business_time(now, policy.resolution_target, calendar)
    _reschedule(complaint)
    return CLOCK_FIELDS


def on_status_change(*, complaint: Complaint, from_status: str, to_status: str, now: datetime) -> list[str]:
    """Pause, resume, stop or restart the clock for a status change (no save); return fields."""
    policy, calendar = policy_for(complaint)
    if to_status == Status.AWAITING_COMPLAINANT:
        complaint.clock_paused_at = now
    elif to_status in (Status.RESOLVED, Status.CLOSED, Status.WITHDRAWN):
        complaint.clock_paused_at = None  # resolution stops the clock: nothing is checked any more
    elif (
        to_status == Status.OPEN and from_status == Status.AWAITING_COMPLAINANT and complaint.clock_paused_at
    ):
        paused_at = complaint.clock_paused_at
        for name in ("first_response_due_at", "resolution_due_at"):
            due = getattr(complaint, name)
            if due is not None:
                setattr(complaint, name, sla.resume_deadline(due, paused_at, now, calendar))
        complaint.clock_paused_at = None
    elif to_status == Status.OPEN and from_status == Status.RESOLVED and policy is not None:
        # A dispute restarts the resolution clock: a new deadline instance, a new trigger.
        complaint.clock_started_at = now
        complaint.resolution_due_at = sla.add_business_time(now, policy.resolution_target, calendar)
        complaint.resolution_warned_at = complaint.resolution_breached_at = None
    _reschedule(complaint)
    return CLOCK_FIELDS


def note_staff_response(*, complaint: Complaint, now: datetime) -> list[str]:
    """A public message from staff satisfies the first-response target (no save)."""
    if complaint.first_responded_at is not None:
        return []
    complaint.first_responded_at = now
    _reschedule(complaint)
    return ["first_responded_at", "next_check_at"]


# --- The sweep --------------------------------------------------------------------------


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


def database_now() -> datetime:
    """The database's clock: every worker agrees on what is due, whatever its own clock says."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT CURRENT_TIMESTAMP")
        value = cursor.fetchone()[0]
    if isinstance(value, str):  # SQLite (the embedded default) answers in text, in UTC
        value = datetime.fromisoformat(value).replace(tzinfo=UTC)
    return value


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
    """
    result = SweepResult()
    context = _SweepContext(now=now, batch_size=batch_size, rungs=ladder())
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
        full = _sweep_one_batch(
            context, result, dry_run=dry_run, when_full=start_helpers if parallel else None
        )
        while full and not dry_run:
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
    staff: dict[int, list] | None = None  # who is told at each level: read once, when needed
    lock: threading.Lock = field(default_factory=threading.Lock)

    def staff_by_level(self) -> dict[int, list]:
        with self.lock:
            if self.staff is None:
                self.staff = {
                    level.rank: [u for u in level.group.user_set.filter(is_active=True) if u.email]
                    for level in EscalationLevel.objects.select_related("group")
                }
            return self.staff


def _sweep_one_batch(
    context: _SweepContext, result: SweepResult, *, dry_run: bool = False, when_full: Callable | None = None
) -> bool:
    """Lock, decide and write one batch in its own transaction; True if it was a full one."""
    with transaction.atomic():
        batch = _lock_due_batch(context.now, context.batch_size)
        if not batch:
            return False
        if when_full is not None and len(batch) == context.batch_size:
            when_full()
        result.batches += 1
        _sweep_batch(
            batch, now=context.now, rungs=context.rungs, staff=context.staff_by_level(), result=result
        )
        if dry_run:
            transaction.set_rollback(True)
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
    batch: list, *, now: datetime, rungs: list[sla.Rung], staff: dict, result: SweepResult
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
    events = _Inserts(
        ComplaintEvent,
        ("complaint_id", "kind", "public", "payload"),
        actor_role=ActorRole.SYSTEM,
        created_at=now,
    )
    escalations = _Inserts(
        Escalation,
        ("complaint_id", "from_level", "to_level", "reason", "deadline_at", "trigger_key"),
        created_at=now,
    )
    notices = _Inserts(
        Notification,
        ("complaint_id", "recipient_id", "email", "template", "language", "context"),
        created_at=now,
        next_attempt_at=now,
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
            _record(s, f, staff=staff, events=events, notices=notices, result=result)
    _write_swept_clocks(swept)
    events.insert()
    notices.insert()
    if notices:
        from complaints.notifications import nudge_delivery

        transaction.on_commit(nudge_delivery)


class _Inserts:
    """New rows for one table, gathered column by column for one INSERT over UNNEST arrays.

    The sweep writes thousands of events, escalations and notices per run; building a
    model instance per row and running it through the ORM's insert compiler cost far
    more than PostgreSQL's work. Values the same on every row go once, as constants;
    columns never given take the model field's default.
    """

    def __init__(self, model: type, names: tuple[str, ...], **constants: Any) -> None:
        self.model = model
        self.constants = constants
        self.columns: dict[str, list] = {name: [] for name in names}
        self.count = 0

    def __len__(self) -> int:
        return self.count

    def add(self, **values: Any) -> None:
        """One row: a value for each of the names given at construction, no more, no less."""
        if len(values) != len(self.columns):
            raise ValueError(f"a {self.model.__name__} row needs exactly {', '.join(self.columns)}")
        columns = self.columns
        for name, value in values.items():
            columns[name].append(value)
        self.count += 1

    def insert(self, *, unless_taken: str | None = None) -> set:
        """Write the rows. With `unless_taken` (a uniquely constrained column), rows whose
        value is already taken are skipped; return the values of the rows written."""
        if not self.count:
            return set()
        fields = [f for f in self.model._meta.concrete_fields if not f.primary_key]
        if connection.vendor != "postgresql":  # the embedded SQLite default: plain bulk insert
            rows = [{} for _ in range(self.count)]
            for name, values in self.columns.items():
                for row, value in zip(rows, values, strict=True):
                    row[name] = value
            if unless_taken:
                taken = set(
                    self.model.objects.filter(
                        **{f"{unless_taken}__in": self.columns[unless_taken]}
                    ).values_list(unless_taken, flat=True)
                )
                rows = [row for row in rows if row[unless_taken] not in taken]
            self.model.objects.bulk_create([self.model(**self.constants, **row) for row in rows])
            return {row[unless_taken] for row in rows} if unless_taken else set()
        array_mark = _array_placeholder()
        first = next(iter(self.columns))  # always sent as an array, so UNNEST has one
        # A column with one value on every row (the same kind, template, level...) goes once.
        constants = dict(self.constants)
        for name, values in self.columns.items():
            if name != first and _all_equal(values):
                constants[name] = values[0]
        columns, selects, select_params, arrays, array_columns, array_params = [], [], [], [], [], []
        for model_field in fields:
            name, column = model_field.attname, model_field.column
            db_type = model_field.db_type(connection).split("(")[0]
            is_json = db_type == "jsonb"
            columns.append(column)
            if name in self.columns and name not in constants:
                values = self.columns[name]
                selects.append(f"v.{column}::jsonb" if is_json else f"v.{column}")
                arrays.append(f"{array_mark}::{'text' if is_json else db_type}[]")
                array_columns.append(column)
                array_params.append([json.dumps(v) for v in values] if is_json else values)
            else:
                value = constants[name] if name in constants else model_field.get_default()
                selects.append(f"%s::{db_type}")
                select_params.append(json.dumps(value) if is_json else value)
        conflict = ""
        if unless_taken:
            column = self.model._meta.get_field(unless_taken).column
            conflict = f" ON CONFLICT ({column}) DO NOTHING RETURNING {column}"
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {self.model._meta.db_table} ({', '.join(columns)}) "  # noqa: S608 - model metadata
                f"SELECT {', '.join(selects)} "
                f"FROM UNNEST({', '.join(arrays)}) AS v({', '.join(array_columns)}){conflict}",
                [*select_params, *array_params],
            )
            return {value for (value,) in cursor.fetchall()} if unless_taken else set()


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


def _array_placeholder() -> str:
    """%b sends an array in psycopg's binary format (dumped in C, much faster than text);
    only server-side binding takes binary parameters."""
    return "%b" if connection.settings_dict.get("OPTIONS", {}).get("server_side_binding") else "%s"


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
    mark = _array_placeholder()
    assignments, set_params, arrays, array_columns, array_params = [], [], [f"{mark}::bigint[]"], ["id"], []
    array_params.append([s.row.id for s in swept])
    for column, (kind, _path) in SWEPT_FIELDS.items():
        new = new_values[column]
        if column != "next_check_at" and new == list(map(attrgetter(f"row.{column}"), swept)):
            continue  # no complaint of the batch changed it
        if _all_equal(new):  # e.g. every breach of the batch stamped at `now`
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


def _all_equal(values: list) -> bool:
    first = values[0]
    return all(value == first for value in values)


def _record(
    swept: _Swept, fired: sla.Fired, *, staff: dict, events: _Inserts, notices: _Inserts, result: SweepResult
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
            kind=EventKind.SLA_WARNING,
            public=False,
            payload={"deadline": which, "due_at": deadline},
        )
        if row.assignee_id is not None:
            warned = [(row.assignee_id, row.assignee__email, row.assignee__preferred_language)]
        else:
            warned = [(u.pk, u.email, u.preferred_language) for u in staff.get(swept.clock.level, [])]
        _add_staff_notices(notices, row.id, warned, "sla_warning")
        return
    if checkpoint.kind != sla.CLIMB:
        result.breached += 1
    which = {sla.BREACH_FIRST_RESPONSE: "first_response", sla.BREACH_RESOLUTION: "resolution"}.get(
        checkpoint.kind
    )
    if after == before:  # already at the top of the ladder: the breach is recorded, nothing moves
        events.add(
            complaint_id=row.id,
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
        kind=EventKind.ESCALATED,
        public=True,
        payload={"from": before, "to": after, "reason": reason, "deadline": which, "due_at": deadline},
    )
    logger.info(
        "escalated %s from level %s to %s (%s, deadline %s)", row.reference, before, after, reason, deadline
    )
    _add_staff_notices(
        notices, row.id, [(u.pk, u.email, u.preferred_language) for u in staff.get(after, [])], "escalated"
    )
    notices.add(
        complaint_id=row.id,
        recipient_id=None,
        email=row.contact_email,
        template="case_update",
        language=row.language,
        context={"kind": "escalated", "with_tracking_link": row.complainant_id is None},
    )


def _add_staff_notices(notices: _Inserts, complaint_id: int, recipients: list[tuple], kind: str) -> None:
    """A staff alert for each (user id, e-mail, language) that has an e-mail address."""
    for user_id, email, language in recipients:
        if email:
            notices.add(
                complaint_id=complaint_id,
                recipient_id=user_id,
                email=email,
                template="staff_alert",
                language=language,
                context={"kind": kind},
            )


def _staff_notices(complaint: Complaint, recipients: list, kind: str, now: datetime) -> list[Notification]:
    return [
        Notification(
            complaint=complaint,
            recipient=user,
            email=user.email,
            template="staff_alert",
            language=user.preferred_language,
            context={"kind": kind},
            created_at=now,
            next_attempt_at=now,
        )
        for user in recipients
        if user.email
    ]


# --- Bumps asked for by people ----------------------------------------------------------


class EscalationRefused(ValidationError):
    """The ladder move is not allowed now; the message says why in the user's language."""


def _bump(
    *,
    complaint: Complaint,
    to_level: int,
    reason: str,
    by: Any,
    now: datetime,
    note: str,
    key: str,
    public_note: bool = True,
) -> Escalation:
    """Move a locked complaint to `to_level`, once per `key`; record, notify, reschedule."""
    if Escalation.objects.filter(trigger_key=key).exists():
        raise EscalationRefused(_("This case was already moved for that reason."))
    from_level = complaint.escalation_level
    complaint.escalation_level = to_level
    complaint.level_since = now
    _reschedule(complaint)
    complaint.version += 1
    complaint.save(update_fields=[*CLOCK_FIELDS, "version"])
    escalation = Escalation.objects.create(
        complaint=complaint,
        from_level=from_level,
        to_level=to_level,
        reason=reason,
        trigger_key=key,
        by=by if getattr(by, "is_authenticated", False) else None,
        note=note,
        created_at=now,
    )
    kind = (
        EventKind.DE_ESCALATED
        if to_level < from_level
        else (EventKind.ESCALATION_REQUESTED if reason == Reason.COMPLAINANT_REQUEST else EventKind.ESCALATED)
    )
    role = ActorRole.COMPLAINANT if reason == Reason.COMPLAINANT_REQUEST else ActorRole.STAFF
    ComplaintEvent.objects.create(
        complaint=complaint,
        kind=kind,
        actor=escalation.by,
        actor_role=role,
        created_at=now,
        public=public_note,
        body=note,
        payload={"from": from_level, "to": to_level, "reason": reason},
    )
    if to_level > from_level:
        level = EscalationLevel.objects.select_related("group").filter(rank=to_level).first()
        recipients = [u for u in level.group.user_set.filter(is_active=True) if u.email] if level else []
        Notification.objects.bulk_create(_staff_notices(complaint, recipients, "escalated", now))
        from complaints.notifications import nudge_delivery

        transaction.on_commit(nudge_delivery)
    logger.info("escalated %s from level %s to %s (%s)", complaint.reference, from_level, to_level, reason)
    return escalation


def escalation_request_trigger(complaint: Complaint, now: datetime) -> str | None:
    """What entitles the complainant to ask for escalation now, as a trigger key; None if nothing.

    A passed deadline, or a reminder unanswered for 24 hours, each entitles them once.
    """
    if not complaint.is_open or complaint.status == Status.RESOLVED:
        return None
    if next_rank_above(complaint.escalation_level) is None:
        return None
    passed = []
    if complaint.first_responded_at is None and complaint.first_response_due_at is not None:
        passed.append(complaint.first_response_due_at)
    if complaint.resolution_due_at is not None:
        passed.append(complaint.resolution_due_at)
    candidates = [
        f"{complaint.pk}:complainant_request:deadline:{d.isoformat()}" for d in sorted(passed) if d <= now
    ]
    reminder = complaint.last_reminder_at
    if reminder is not None and reminder <= now - timedelta(hours=24):
        answered = complaint.events.filter(
            public=True, actor_role=ActorRole.STAFF, created_at__gt=reminder
        ).exists()
        if not answered:
            candidates.append(f"{complaint.pk}:complainant_request:reminder:{reminder.isoformat()}")
    if not candidates:
        return None
    used = set(Escalation.objects.filter(trigger_key__in=candidates).values_list("trigger_key", flat=True))
    return next((key for key in candidates if key not in used), None)


def can_request_escalation(complaint: Complaint, now: datetime) -> bool:
    """A complainant may ask once a deadline has passed, or a reminder went 24 h unanswered."""
    return escalation_request_trigger(complaint, now) is not None


def next_rank_above(level: int) -> int | None:
    above = sla.next_level(level, ladder())
    return above if above != level else None


def request_escalation(*, complaint: Complaint, by: Any, now: datetime, reason: str) -> Escalation:
    """The complainant asks for the case to go up a level (once per level), saying why."""
    with transaction.atomic():
        complaint = Complaint.objects.select_for_update().get(pk=complaint.pk)
        key = escalation_request_trigger(complaint, now)
        if key is None:
            raise EscalationRefused(
                _(
                    "You can ask for escalation once a deadline has passed, or when a reminder has gone "
                    "unanswered for 24 hours."
                )
            )
        level = complaint.escalation_level
        return _bump(
            complaint=complaint,
            to_level=next_rank_above(level),
            reason=Reason.COMPLAINANT_REQUEST,
            by=by,
            now=now,
            note=reason,
            key=key,
        )


def escalate_manually(
    *, complaint: Complaint, by: Any, now: datetime, reason: str, version: int
) -> Escalation:
    """An agent or lead moves the case up one level with a reason (refused if the case changed)."""
    with transaction.atomic():
        complaint = Complaint.objects.select_for_update().get(pk=complaint.pk)
        _check_version(complaint, version)
        above = next_rank_above(complaint.escalation_level)
        if above is None or not complaint.is_open:
            raise EscalationRefused(_("This case cannot go any higher."))
        return _bump(
            complaint=complaint,
            to_level=above,
            reason=Reason.MANUAL,
            by=by,
            now=now,
            note=reason,
            key=f"{complaint.pk}:manual:{complaint.escalation_level}:{complaint.version}",
            public_note=False,
        )


def de_escalate(*, complaint: Complaint, by: Any, now: datetime, reason: str, version: int) -> Escalation:
    """A manager moves the case back down one level with a reason (refused if the case changed)."""
    with transaction.atomic():
        complaint = Complaint.objects.select_for_update().get(pk=complaint.pk)
        _check_version(complaint, version)
        below = [rung.rank for rung in ladder() if rung.rank < complaint.escalation_level]
        if not below:
            raise EscalationRefused(_("This case is already at the first level."))
        return _bump(
            complaint=complaint,
            to_level=max(below),
            reason=Reason.DE_ESCALATION,
            by=by,
            now=now,
            note=reason,
            key=f"{complaint.pk}:de_escalation:{complaint.escalation_level}:{complaint.version}",
            public_note=False,
        )


def _check_version(complaint: Complaint, version: int) -> None:
    """Raise StaleForm (an EscalationRefused too) if the locked complaint moved past `version`.

    The same exception as every other staff form's, so the views answer all of them alike (409).
    """
    if complaint.version != version:
        # complaints.services imports this module; by the time a form is checked both are loaded.
        from complaints.services import STALE_MESSAGE, StaleForm

        raise StaleForm(STALE_MESSAGE, code="stale_form")


def recompute_deadlines(*, complaint: Complaint, now: datetime) -> list[str]:
    """New deadlines after a change of category or complexity (no save); return fields.

    The clock keeps its start: the new targets count from when it started, and a
    deadline already met or missed stays as it was recorded.
    """
    policy, calendar = policy_for(complaint)
    if policy is None:
        complaint.next_check_at = None
        return CLOCK_FIELDS
    start = complaint.clock_started_at or complaint.submitted_at
    if complaint.first_responded_at is None and complaint.first_response_breached_at is None:
        complaint.first_response_due_at = sla.add_business_time(start, policy.first_response_target, calendar)
        complaint.first_response_warned_at = None
    if complaint.resolution_breached_at is None:
        complaint.resolution_due_at = sla.add_business_time(start, policy.resolution_target, calendar)
        complaint.resolution_warned_at = None
    # Still paused, nothing is checked: the pause moves the new deadlines too, on resume.
    _reschedule(complaint)
    return CLOCK_FIELDS
