"""Where a complaint stands against its regime's deadlines, as the case pages show it."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from complaints.models import Status
from escalation.explain import Explanation, explain, status_events
from escalation.models import CountedFrom, DeadlineKind
from escalation.policies import regime_rules

# What meets each kind of deadline, on the complaint: the portal's notice of receipt goes out
# as the complaint is filed; staff accept the case when they take it up; the final response
# is the resolution.
MET_BY = {
    DeadlineKind.ACKNOWLEDGE: "submitted_at",
    DeadlineKind.ACCEPT: "accepted_at",
    DeadlineKind.FINAL_RESPONSE: "resolved_at",
}
_DUE_IN = {
    DeadlineKind.ACKNOWLEDGE: "acknowledge_due_at",
    DeadlineKind.ACCEPT: "accept_due_at",
    DeadlineKind.FINAL_RESPONSE: "final_response_due_at",
}


class Deadline(NamedTuple):
    kind: str
    label: str
    due_at: datetime | None  # None: counted from acceptance, which has not come yet
    met_at: datetime | None
    late: bool  # met after it fell due, or not met and past due (a withdrawn case is owed nothing)
    explanation: Explanation | None  # how its date was reached


class RegulatoryStanding(NamedTuple):
    name: str
    requirement: str
    deadlines: list[Deadline]


def regulatory_standing(
    complaint: Any, *, now: datetime, timeline: list[Any] | None = None
) -> RegulatoryStanding | None:
    """The complaint's regime and each of its deadlines: when due, whether met and when.
    None when the complaint is under no regime."""
    rules = regime_rules(complaint.regime_id)
    if rules is None:
        return None
    rows = []
    # Each account replays the case's pauses and reclassifications: from its whole timeline when
    # the caller has it (staff's case page), else from its status changes (one query).
    events = timeline if timeline is not None else status_events(complaint)
    for deadline in sorted(rules.deadlines, key=lambda d: list(DeadlineKind).index(d.kind)):
        due = getattr(complaint, _DUE_IN[deadline.kind])
        met = getattr(complaint, MET_BY[deadline.kind])
        if due is None and deadline.counted_from != CountedFrom.ACCEPTANCE:
            continue  # filed before its regime had this deadline
        if met is None and complaint.status == Status.WITHDRAWN:
            late = False
        else:
            late = due is not None and (met or now) > due
        explanation = explain(complaint, rules, deadline.kind, events) if due is not None else None
        rows.append(Deadline(deadline.kind, deadline.get_kind_display(), due, met, late, explanation))
    return RegulatoryStanding(rules.regime.name, rules.regime.requirement, rows)
