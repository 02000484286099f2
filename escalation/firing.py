"""What the SLA engine writes when warnings, breaches and climbs fire: moves, timeline, notices.

The sweep fires what is due for a batch of complaints, and a workflow that changes a
clock first settles what fell due on its complaint (`escalation.clock.settle`); both
record what fired here, set-wise. Each move is an `Escalation` row stamped with the
moment it fell due; its unique trigger key makes it happen once, whoever gets there
first. The timeline gets one entry per move, but the complainant gets one notice per
case summing up the moves, and staff one alert each: those at the rung the case
ended on.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from common.bulk import BulkInsert
from complaints.models import EventKind, in_language
from complaints.records import EventRows, NoticeRows, case_update, notice_values, staff_notices, staff_people
from escalation import letters, sla
from escalation.models import Escalation, EscalationLevel, Reason

logger = logging.getLogger("escalation.sweep")


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
    **dict.fromkeys(sla.BREACH_REGULATORY.values(), Reason.REGULATORY_BREACHED),
}
# Which deadline an event is about, as its payload names it ("regulatory_accept": the
# regime's deadline to accept the case).
DEADLINE_OF = {
    sla.WARN_FIRST_RESPONSE: "first_response",
    sla.BREACH_FIRST_RESPONSE: "first_response",
    sla.WARN_RESOLUTION: "resolution",
    sla.BREACH_RESOLUTION: "resolution",
    **{check: f"regulatory_{kind}" for kind, check in sla.WARN_REGULATORY.items()},
    **{check: f"regulatory_{kind}" for kind, check in sla.BREACH_REGULATORY.items()},
}


def trigger_key(complaint_id: int, checkpoint: sla.Checkpoint, from_level: int) -> str:
    """What makes a trigger unique: the complaint, what fired, and the deadline instance."""
    return f"{complaint_id}:{checkpoint.kind}:{from_level}:{checkpoint.deadline_at.isoformat()}"


class Settled(NamedTuple):
    """One complaint: what was read of it (`row`, with the sweep's field names), and what
    fired on it, the clock after, and its next check."""

    row: Any
    clock: sla.Clock
    next_check_at: datetime | None
    fired: list[sla.Fired]


@dataclass
class Levels:
    """The ladder's people and names, read once per sweep: who is told at each rung, as
    (id, e-mail, language), and what each rung is called in each language."""

    staff: dict[int, list[tuple[int, str, str]]]
    names: dict[int, tuple[str, str]]

    @classmethod
    def read(cls) -> Levels:
        staff, names = {}, {}
        for level in EscalationLevel.objects.select_related("group"):
            staff[level.rank] = staff_people(level.group.user_set.filter(is_active=True))
            names[level.rank] = (level.name_vi, level.name_en)
        return cls(staff=staff, names=names)

    def name(self, rank: int, language: str) -> str:
        name_vi, name_en = self.names.get(rank, ("", ""))
        return in_language(language, name_vi, name_en) or str(rank)


def record(
    settled: Iterable[Settled], *, now: datetime, levels: Levels, result: SweepResult, dry_run: bool = False
) -> None:
    """Write the moves, events and notices of what fired, set-wise, in the caller's transaction.

    The moves first: a trigger key already taken (by an earlier or a concurrent sweep)
    is skipped by the database, and only the moves it took get their events and notices.
    """
    settled = list(settled)
    events, notices = EventRows(), NoticeRows()
    escalations = BulkInsert(
        Escalation,
        ("complaint_id", "from_level", "to_level", "reason", "deadline_at", "due_at", "trigger_key"),
        created_at=now,
    )
    keys = {}
    for case in settled:
        for fired in case.fired:
            if fired.checkpoint.kind in REASON_OF and fired.to_level != fired.from_level:
                key = keys[case.row.id, fired] = trigger_key(case.row.id, fired.checkpoint, fired.from_level)
                escalations.add(
                    complaint_id=case.row.id,
                    from_level=fired.from_level,
                    to_level=fired.to_level,
                    reason=REASON_OF[fired.checkpoint.kind],
                    deadline_at=fired.checkpoint.deadline_at if fired.checkpoint.kind != sla.CLIMB else None,
                    due_at=fired.checkpoint.at,
                    trigger_key=key,
                )
    taken = escalations.insert(unless_taken="trigger_key")
    holding: list[int] = []  # the cases warned that their final response is near
    for case in settled:
        done = []
        for fired in case.fired:
            key = keys.get((case.row.id, fired))
            if key is not None and key not in taken:
                result.skipped += 1
                continue
            _event(case.row, fired, now=now, events=events, result=result, dry_run=dry_run)
            done.append(fired)
        for values in _notices(case, done, now=now, levels=levels):
            notices.add(values)
        if any(fired.checkpoint.kind == HOLDING_CHECK for fired in done):
            holding.append(case.row.id)
    if holding:
        _holding_letters(holding, now=now, events=events, notices=notices)
    events.insert()
    notices.insert()  # and nudges delivery after the commit


# A regime's holding letter goes out when staff are warned that the final response is near.
HOLDING_CHECK = sla.WARN_REGULATORY[sla.FINAL_RESPONSE]


def _holding_letters(ids: list[int], *, now: datetime, events: EventRows, notices: NoticeRows) -> None:
    """Each case's holding letter to its complainant, and its timeline entry (set-wise, beside
    the rest: two reads whatever the number of cases)."""
    for complaint, letter in letters.holding_letters(ids):
        values = notice_values(
            complaint_id=complaint.pk,
            email=complaint.contact_email,
            template=letters.LETTER_NOTICE,
            language=complaint.language,
            context=letters.letter_context(letter, guest=complaint.complainant_id is None),
            now=now,
        )
        notices.add(values)
        events.add(
            complaint_id=complaint.pk,
            now=now,
            **letters.letter_event(letter, message_id=values["message_id"]),
        )


def _event(
    row: Any, fired: sla.Fired, *, now: datetime, events: EventRows, result: SweepResult, dry_run: bool
) -> None:
    """The timeline entry of one fired checkpoint (its escalation row is already written)."""
    checkpoint, before, after = fired.checkpoint, fired.from_level, fired.to_level
    which = DEADLINE_OF.get(checkpoint.kind)
    deadline = checkpoint.deadline_at.isoformat()
    warning = sla.is_warning(checkpoint.kind)
    if warning:
        result.warned += 1
    elif checkpoint.kind != sla.CLIMB:
        result.breached += 1
    # A warning (staff only), or a breach at the top of the ladder: recorded, nothing moves.
    if warning or after == before:
        events.add(
            complaint_id=row.id,
            now=now,
            kind=EventKind.SLA_WARNING if warning else EventKind.SLA_BREACHED,
            public=not warning,
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
        payload={
            "from": before,
            "to": after,
            "reason": reason,
            "deadline": which,
            "due_at": deadline,
            "fell_due_at": checkpoint.at.isoformat(),
        },
    )
    logger.info(
        "%s %s from level %s to %s (%s, fell due %s)",
        "would escalate" if dry_run else "escalated",
        row.reference,
        before,
        after,
        reason,
        checkpoint.at.isoformat(),
    )


def _notices(case: Settled, fired: list[sla.Fired], *, now: datetime, levels: Levels) -> list[dict]:
    """One notice per person for what fired on one case: the moves summed up, or a warning."""
    row = case.row
    moves = [f for f in fired if f.to_level != f.from_level]
    warnings = [f for f in fired if sla.is_warning(f.checkpoint.kind)]
    found: list[dict] = []
    told: set[int] = set()
    if moves:
        summaries: dict[str, list[dict[str, Any]]] = {}  # one per language, whoever reads it
        for person in levels.staff.get(moves[-1].to_level, []):
            language = person[2]
            if language not in summaries:
                summaries[language] = _summary(moves, levels, language)
            found += staff_notices(
                [person],
                complaint_id=row.id,
                kind="escalated",
                now=now,
                context={"moves": summaries[language]},
            )
            told.add(person[0])
        found.append(
            notice_values(
                complaint_id=row.id,
                email=row.contact_email,
                template="case_update",
                language=row.language,
                context={
                    **case_update(kind="escalated", guest=row.complainant_id is None),
                    "moves": _summary(moves, levels, row.language),
                },
                now=now,
            )
        )
    if warnings:
        if row.assignee_id is not None:
            warned = [(row.assignee_id, row.assignee__email, row.assignee__preferred_language)]
        else:
            warned = levels.staff.get(case.clock.level, [])
        people = [person for person in warned if person[0] not in told]
        found += staff_notices(people, complaint_id=row.id, kind="sla_warning", now=now)
    return found


def _summary(moves: list[sla.Fired], levels: Levels, language: str) -> list[dict[str, Any]]:
    """The moves of one case as a notice lists them, rung names in the reader's language."""
    return [
        {
            "from": move.from_level,
            "to": move.to_level,
            "from_name": levels.name(move.from_level, language),
            "to_name": levels.name(move.to_level, language),
            "reason": REASON_OF[move.checkpoint.kind],
            "due_at": move.checkpoint.at.isoformat(),
        }
        for move in moves
    ]
