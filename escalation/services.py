"""The SLA clock and the escalation ladder: start, pause, resume, stop, and the sweep.

Only this module writes a complaint's deadlines, escalation level and `next_check_at`.
Every function takes `now`; the sweep's task reads it from the database clock.
"""

from __future__ import annotations

import json
import logging
import math
import time as monotonic_time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

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


def policy_for(complaint: Complaint) -> tuple[SlaPolicy | None, sla.Calendar | None]:
    return policies().get((complaint.category_id, complaint.complexity), (None, None))


def clock_of(complaint: Complaint) -> sla.Clock:
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
        or not complaint.is_open
        or complaint.status == Status.RESOLVED,
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


def _store(complaint: Complaint, clock: sla.Clock, next_check_at: datetime | None) -> None:
    """Copy what the sweep decided back onto the complaint (no save)."""
    complaint.first_response_warned_at = clock.first_response_warned_at
    complaint.first_response_breached_at = clock.first_response_breached_at
    complaint.resolution_warned_at = clock.resolution_warned_at
    complaint.resolution_breached_at = clock.resolution_breached_at
    complaint.escalation_level = clock.level
    complaint.level_since = clock.level_since
    complaint.next_check_at = next_check_at


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


# What the sweep reads of a complaint (the rest of the row stays in the database).
SWEEP_READS = (
    "reference",
    "category_id",
    "complexity",
    "status",
    "submitted_at",
    "contact_email",
    "language",
    "complainant_id",
    "assignee__email",
    "assignee__preferred_language",
    *CLOCK_FIELDS,
)


def sweep(*, now: datetime, batch_size: int = 500, dry_run: bool = False) -> SweepResult:
    """Fire every warning, breach and climb due at `now`; return the counts.

    Batches of due complaints are locked `FOR UPDATE SKIP LOCKED` in `next_check_at`
    order, their actions computed with the pure functions of `sla`, and written set-wise
    (complaints, events, escalations, notices) with one commit per batch. Escalation rows
    carry a unique trigger key, so a repeated or concurrent sweep cannot escalate twice.
    A complaint that fails is logged with its id and looked at again later.
    """
    result = SweepResult()
    rungs = ladder()
    staff: dict[int, list] | None = None  # who is told at each level: read once, when needed
    while True:
        with transaction.atomic():
            batch = list(
                Complaint.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("assignee")
                .only(*SWEEP_READS)
                .filter(next_check_at__lte=now)
                .order_by("next_check_at")[:batch_size]
            )
            if not batch:
                break
            result.batches += 1
            if staff is None:
                staff = {
                    level.rank: [u for u in level.group.user_set.filter(is_active=True) if u.email]
                    for level in EscalationLevel.objects.select_related("group")
                }
            _sweep_batch(batch, now=now, rungs=rungs, staff=staff, result=result)
            if dry_run:
                transaction.set_rollback(True)
        if dry_run or len(batch) < batch_size:
            break
    return result


def _sweep_batch(
    batch: list[Complaint], *, now: datetime, rungs: list[sla.Rung], staff: dict, result: SweepResult
) -> None:
    events: list[ComplaintEvent] = []
    escalations: list[Escalation] = []
    notices: list[Notification] = []
    fired_by_complaint: list[tuple[Complaint, list[sla.Fired]]] = []
    for complaint in batch:
        try:
            policy, calendar = policy_for(complaint)
            ratio = warning_ratio(policy)
            fired, clock, next_check = sla.due(
                clock_of(complaint), now, ratio=ratio, calendar=calendar, ladder=rungs
            )
            _store(complaint, clock, next_check)
            fired_by_complaint.append((complaint, fired))
        except Exception:
            logger.exception("sweep failed on complaint %s; retrying later", complaint.pk)
            complaint.next_check_at = now + RETRY_BROKEN_AFTER
            result.failed.append(complaint.pk)
    keys = [
        trigger_key(c.pk, f.checkpoint, f.from_level)
        for c, fired in fired_by_complaint
        for f in fired
        if f.checkpoint.kind in REASON_OF
    ]
    already = set(Escalation.objects.filter(trigger_key__in=keys).values_list("trigger_key", flat=True))
    for complaint, fired in fired_by_complaint:
        for f in fired:
            _record(
                complaint,
                f,
                now=now,
                staff=staff,
                already=already,
                events=events,
                escalations=escalations,
                notices=notices,
                result=result,
            )
    _write_swept_clocks(batch)
    _insert_rows(ComplaintEvent, events)
    _insert_rows(Escalation, escalations)
    _insert_rows(Notification, notices)
    if notices:
        from complaints.notifications import nudge_delivery

        transaction.on_commit(nudge_delivery)


# What a sweep changes on a complaint, with the PostgreSQL array type each is sent as.
SWEPT_FIELDS = {
    "first_response_warned_at": "timestamptz",
    "first_response_breached_at": "timestamptz",
    "resolution_warned_at": "timestamptz",
    "resolution_breached_at": "timestamptz",
    "escalation_level": "smallint",
    "level_since": "timestamptz",
    "next_check_at": "timestamptz",
}


def _array_placeholder() -> str:
    """%b sends an array in psycopg's binary format (dumped in C, much faster than text);
    only server-side binding takes binary parameters."""
    return "%b" if connection.settings_dict.get("OPTIONS", {}).get("server_side_binding") else "%s"


def _insert_rows(model: type, objects: list) -> None:
    """INSERT unsaved model instances in one statement over UNNEST arrays, no ids returned.

    The sweep writes thousands of events, escalations and notices per run; building
    each row through the ORM's insert compiler cost more than PostgreSQL's work.
    """
    if not objects:
        return
    if connection.vendor != "postgresql":  # the embedded SQLite default: plain bulk insert
        model.objects.bulk_create(objects)
        return
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    columns, arrays, selects, params = [], [], [], []
    for model_field in fields:
        db_type = model_field.db_type(connection).split("(")[0]
        # Plain values (datetimes, numbers, text, None) go to psycopg as they are.
        values = [getattr(obj, model_field.attname) for obj in objects]
        if db_type == "jsonb":
            values = [json.dumps(value) for value in values]
            arrays.append(f"{_array_placeholder()}::text[]")
            selects.append(f"v.{model_field.column}::jsonb")
        else:
            arrays.append(f"{_array_placeholder()}::{db_type}[]")
            selects.append(f"v.{model_field.column}")
        columns.append(model_field.column)
        params.append(values)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) "  # noqa: S608 - model metadata only
            f"SELECT {', '.join(selects)} FROM UNNEST({', '.join(arrays)}) AS v({', '.join(columns)})",
            params,
        )


def _write_swept_clocks(batch: list[Complaint]) -> None:
    """One UPDATE for the whole batch, joined to arrays of the new values.

    `bulk_update` would send a CASE per field with a branch per row, which PostgreSQL
    evaluates row by row; UNNEST keeps the statement small and the update a join.
    """
    if connection.vendor != "postgresql":  # the embedded SQLite default
        Complaint.objects.bulk_update(batch, list(SWEPT_FIELDS))
        return
    table = Complaint._meta.db_table
    columns = list(SWEPT_FIELDS)
    assignments = ", ".join(f"{column} = v.{column}" for column in columns)
    mark = _array_placeholder()
    arrays = ", ".join([f"{mark}::bigint[]", *(f"{mark}::{kind}[]" for kind in SWEPT_FIELDS.values())])
    params = [[c.pk for c in batch], *([getattr(c, column) for c in batch] for column in columns)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS c SET {assignments} "  # noqa: S608 - names are constants above
            f"FROM UNNEST({arrays}) AS v(id, {', '.join(columns)}) WHERE c.id = v.id",
            params,
        )


def _record(
    complaint: Complaint,
    fired: sla.Fired,
    *,
    now: datetime,
    staff: dict,
    already: set[str],
    events: list,
    escalations: list,
    notices: list,
    result: SweepResult,
) -> None:
    """Turn one fired checkpoint into its event, escalation row and notices."""
    checkpoint, before, after = fired.checkpoint, fired.from_level, fired.to_level
    deadline = checkpoint.deadline_at.isoformat()
    if checkpoint.kind in (sla.WARN_FIRST_RESPONSE, sla.WARN_RESOLUTION):
        result.warned += 1
        which = "first_response" if checkpoint.kind == sla.WARN_FIRST_RESPONSE else "resolution"
        events.append(
            _event(
                complaint,
                EventKind.SLA_WARNING,
                now,
                public=False,
                payload={"deadline": which, "due_at": deadline},
            )
        )
        warned = [complaint.assignee] if complaint.assignee_id else staff.get(complaint.escalation_level, [])
        notices.extend(_staff_notices(complaint, warned, "sla_warning", now))
        return
    key = trigger_key(complaint.pk, checkpoint, before)
    if key in already:
        result.skipped += 1
        return
    if checkpoint.kind != sla.CLIMB:
        result.breached += 1
        which = "first_response" if checkpoint.kind == sla.BREACH_FIRST_RESPONSE else "resolution"
        events.append(
            _event(
                complaint,
                EventKind.SLA_BREACHED,
                now,
                public=True,
                payload={"deadline": which, "due_at": deadline},
            )
        )
    if after == before:
        return  # already at the top of the ladder
    result.escalated += 1
    reason = REASON_OF[checkpoint.kind]
    escalations.append(
        Escalation(
            complaint=complaint,
            from_level=before,
            to_level=after,
            reason=reason,
            deadline_at=checkpoint.deadline_at if checkpoint.kind != sla.CLIMB else None,
            trigger_key=key,
            created_at=now,
        )
    )
    events.append(
        _event(
            complaint,
            EventKind.ESCALATED,
            now,
            public=True,
            payload={"from": before, "to": after, "reason": reason},
        )
    )
    logger.info(
        "escalated %s from level %s to %s (%s, deadline %s)",
        complaint.reference,
        before,
        after,
        reason,
        deadline,
    )
    notices.extend(_staff_notices(complaint, staff.get(after, []), "escalated", now))
    notices.append(
        Notification(
            complaint=complaint,
            email=complaint.contact_email,
            template="case_update",
            language=complaint.language,
            created_at=now,
            next_attempt_at=now,
            context={"kind": "escalated", "with_tracking_link": complaint.complainant_id is None},
        )
    )


def _event(complaint: Complaint, kind: str, now: datetime, *, public: bool, payload: dict) -> ComplaintEvent:
    return ComplaintEvent(
        complaint=complaint,
        kind=kind,
        actor_role=ActorRole.SYSTEM,
        created_at=now,
        public=public,
        payload=payload,
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
    if complaint.version != version:
        raise EscalationRefused(_("This case changed while you were editing. Look at it again, then retry."))


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
