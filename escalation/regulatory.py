"""Where a complaint stands against its regime's deadlines, as the case pages show it."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from escalation.explain import Explanation, explain, status_events
from escalation.models import REGULATORY_BREACHED, REGULATORY_DUE, REGULATORY_MET, CountedFrom, DeadlineKind
from escalation.policies import regime_rules


class Deadline(NamedTuple):
    kind: str
    label: str
    due_at: datetime | None  # None: counted from acceptance, which has not come yet
    met_at: datetime | None
    late: bool  # missed (the clock recorded the breach), or met after it fell due
    paused: bool  # stopped while the case waits for the complainant (the regime allows it)
    explanation: Explanation | None  # how its date was reached
    recounted: bool  # the account, counted with today's rules, ends elsewhere


class RegulatoryStanding(NamedTuple):
    name: str
    requirement: str
    deadlines: list[Deadline]


def regulatory_standing(complaint: Any, *, timeline: list[Any] | None = None) -> RegulatoryStanding | None:
    """The complaint's regime and each of its deadlines: when due, whether met and when,
    whether missed, and how its date was reached. None when the complaint is under no regime."""
    rules = regime_rules(complaint.regime_id)
    if rules is None:
        return None
    rows = []
    # Each account replays the case's pauses and reclassifications: from its whole timeline when
    # the caller has it (staff's case page), else from its status changes (one query).
    events = timeline if timeline is not None else status_events(complaint)
    for deadline in sorted(rules.deadlines, key=lambda d: list(DeadlineKind).index(d.kind)):
        due = getattr(complaint, REGULATORY_DUE[deadline.kind])
        met = getattr(complaint, REGULATORY_MET[deadline.kind])
        if due is None and deadline.counted_from != CountedFrom.ACCEPTANCE:
            continue  # filed before its regime had this deadline
        # Late as the clock says: a breach it recorded, or met after the date.
        breached = getattr(complaint, REGULATORY_BREACHED[deadline.kind])
        late = breached is not None or (met is not None and due is not None and met > due)
        explanation = explain(complaint, rules, deadline.kind, events) if due is not None else None
        rows.append(
            Deadline(
                kind=deadline.kind,
                label=deadline.get_kind_display(),
                due_at=due,
                met_at=met,
                late=late,
                paused=deadline.pausable and complaint.clock_paused_at is not None and met is None,
                explanation=explanation,
                # Counted again today, the regime or its calendar (an edit since) gives another
                # date: the stored one stands, and the account says so.
                recounted=explanation is not None and explanation.due_at != due,
            )
        )
    return RegulatoryStanding(rules.regime.name, rules.regime.requirement, rows)
