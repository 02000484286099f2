"""Ladder moves asked for by people: a complainant's request, an escalation or a de-escalation by staff.

Each move is an `Escalation` row whose unique trigger key makes it happen once, a
timeline event and, going up, an alert to the new level's staff, written through
`complaints.records` like every other change. Whether a move is allowed is decided by
`escalation.rules`, which the case page asks too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from complaints.models import ActorRole, Complaint, EventKind
from complaints.records import notify_staff, record_event
from complaints.refusals import EscalationRefused
from escalation.clock import CLOCK_FIELDS, reschedule, settle
from escalation.models import Escalation, EscalationLevel, Reason
from escalation.policies import next_rank_above
from escalation.rules import check_de_escalate, check_escalate, check_request_escalation

logger = logging.getLogger(__name__)


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
    """Move a locked (and settled) complaint to `to_level`, once per `key`; record, notify, reschedule."""
    if Escalation.objects.filter(trigger_key=key).exists():
        raise EscalationRefused(_("This case was already moved for that reason."))
    from_level = complaint.escalation_level
    complaint.escalation_level = to_level
    complaint.level_since = now
    reschedule(complaint)
    complaint.version += 1
    complaint.save(update_fields=[*CLOCK_FIELDS, "version"])
    account = by if getattr(by, "is_authenticated", False) else None
    escalation = Escalation.objects.create(
        complaint=complaint,
        from_level=from_level,
        to_level=to_level,
        reason=reason,
        trigger_key=key,
        by=account,
        note=note,
        due_at=now,
        created_at=now,
    )
    if to_level < from_level:
        kind = EventKind.DE_ESCALATED
    elif reason == Reason.COMPLAINANT_REQUEST:
        kind = EventKind.ESCALATION_REQUESTED
    else:
        kind = EventKind.ESCALATED
    record_event(
        complaint=complaint,
        kind=kind,
        by=account,
        now=now,
        public=public_note,
        body=note,
        payload={"from": from_level, "to": to_level, "reason": reason},
        actor_role=ActorRole.COMPLAINANT if reason == Reason.COMPLAINANT_REQUEST else ActorRole.STAFF,
    )
    if to_level > from_level:
        level = EscalationLevel.objects.select_related("group").filter(rank=to_level).first()
        if level is not None:
            notify_staff(complaint, level.group.user_set.filter(is_active=True), kind="escalated", now=now)
    logger.info("escalated %s from level %s to %s (%s)", complaint.reference, from_level, to_level, reason)
    return escalation


def request_escalation(*, complaint: Complaint, by: Any, now: datetime, reason: str) -> Escalation:
    """The complainant asks for the case to go up a level, saying why.

    Allowed once per passed deadline or unanswered reminder (`escalation.rules`); raises
    EscalationRefused otherwise. Locks the complaint.
    """
    with transaction.atomic():
        complaint = Complaint.objects.locked(complaint)
        settle(complaint=complaint, now=now)  # saved with the move
        key = check_request_escalation(complaint, now=now)
        return _bump(
            complaint=complaint,
            to_level=next_rank_above(complaint.escalation_level),
            reason=Reason.COMPLAINANT_REQUEST,
            by=by,
            now=now,
            note=reason,
            key=key,
        )


def escalate_manually(
    *, complaint: Complaint, by: Any, now: datetime, reason: str, version: int
) -> Escalation:
    """Staff move the case up one level with a reason, recorded on the internal timeline.

    Raises StaleForm if the case changed since `version`, EscalationRefused where
    `escalation.rules.check_escalate` refuses. Locks the complaint.
    """
    return _move_by_staff(
        complaint, check_escalate, Reason.MANUAL, by=by, now=now, reason=reason, version=version
    )


def de_escalate(*, complaint: Complaint, by: Any, now: datetime, reason: str, version: int) -> Escalation:
    """A manager moves the case back down one level with a reason (internal timeline).

    Raises StaleForm if the case changed since `version`, EscalationRefused where
    `escalation.rules.check_de_escalate` refuses. Locks the complaint.
    """
    return _move_by_staff(
        complaint, check_de_escalate, Reason.DE_ESCALATION, by=by, now=now, reason=reason, version=version
    )


def _move_by_staff(
    complaint: Complaint,
    rule: Callable[..., int],
    why: str,
    *,
    by: Any,
    now: datetime,
    reason: str,
    version: int,
) -> Escalation:
    """Lock the case at `version`, ask `rule` for the level it may go to, and move it there.

    The trigger key names the level and version it moved from: one move per state of the case.
    """
    with transaction.atomic():
        complaint = Complaint.objects.locked(complaint, version=version)
        settle(complaint=complaint, now=now)  # saved with the move
        to_level = rule(complaint, by=by)
        return _bump(
            complaint=complaint,
            to_level=to_level,
            reason=why,
            by=by,
            now=now,
            note=reason,
            key=f"{complaint.pk}:{why}:{complaint.escalation_level}:{complaint.version}",
            public_note=False,
        )
