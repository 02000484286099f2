"""Who may do what to a complaint, and when: each rule once, for the page and the service.

A page offers an action only where `complaints.refusals.permitted(rule, ...)` says so;
the service that performs it calls the same rule inside its transaction, on the locked
row, and lets its refusal reach the person. The ladder's rules are in `escalation.rules`.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext_lazy as _

from accounts.models import STAFF_ROLES
from common.times import when
from complaints.models import Cause, Complaint, Incident, Outcome, Remedy, Status, WaveAlert
from complaints.refusals import (
    CLOSED_MESSAGE,
    ActionRefused,
    AssignmentRefused,
    IncidentRefused,
    LimitReached,
    NotAllowed,
    RelationRefused,
    WaveAlertRefused,
)
from complaints.search import provider_key


def check_open(complaint: Complaint) -> None:
    """Raise ActionRefused if the complaint is closed or withdrawn."""
    if not complaint.is_open:
        raise ActionRefused(CLOSED_MESSAGE, code="closed")


def check_resolution(
    complaint: Complaint,
    *,
    cause: Cause | None,
    outcome: str,
    remedy: str,
    remedy_amount: Decimal | None,
    remedy_currency: str,
) -> None:
    """What a resolution must say: a cause offered for the complaint's category (or for every
    category), whether the complaint is upheld, and the remedy; a refund with a positive
    amount and its currency, no other remedy with an amount. Raises ActionRefused."""
    if cause is None or not cause.is_active or cause.category_id not in (None, complaint.category_id):
        raise ActionRefused(_("Choose a cause listed for this complaint's category."), code="cause")
    if outcome not in Outcome.values:
        raise ActionRefused(_("Say whether the complaint is upheld."), code="outcome")
    if remedy not in Remedy.values:
        raise ActionRefused(_("Choose the remedy."), code="remedy")
    refund = remedy == Remedy.REFUND
    if refund and (remedy_amount is None or remedy_amount <= 0 or not remedy_currency):
        raise ActionRefused(_("Give the amount refunded."), code="refund_amount")
    if not refund and remedy_amount is not None:
        raise ActionRefused(_("Only a refund has an amount."), code="amount_without_refund")


def check_claim(complaint: Complaint, *, by: Any) -> None:
    """A member of staff may take an open case nobody holds; a team lead or manager may take
    over one someone else holds. Raises ActionRefused or AssignmentRefused."""
    check_open(complaint)
    if complaint.assignee_id == by.pk:
        raise AssignmentRefused(_("This case is already yours."), code="unchanged")
    if complaint.assignee_id is not None and not by.is_lead:
        raise AssignmentRefused(
            _("Someone else holds this case. Ask a team lead to reassign it."), code="taken"
        )


def check_reassign(complaint: Complaint, *, by: Any) -> None:
    """Only a team lead or manager gives an open case to someone else. Raises ActionRefused or
    AssignmentRefused."""
    check_open(complaint)
    if not by.is_lead:
        raise AssignmentRefused(
            _("Only a team lead or a manager can give a case to someone else. You can claim it."),
            code="not_lead",
        )


def check_assignment(complaint: Complaint, *, by: Any, assignee: Any) -> None:
    """`by` may give the case to `assignee`: an active member of staff who does not hold it
    yet, through a claim (to oneself) or a reassignment. Raises ActionRefused or
    AssignmentRefused."""
    check_open(complaint)
    if assignee is None or not assignee.is_active or not assignee.has_role(*STAFF_ROLES):
        raise AssignmentRefused(
            _("A case can only be assigned to an active member of staff; %(name)s is not one."),
            params={"name": (assignee.display_name if assignee is not None else "") or "?"},
            code="not_staff",
        )
    if assignee.pk == by.pk:
        check_claim(complaint, by=by)
        return
    check_reassign(complaint, by=by)
    if complaint.assignee_id == assignee.pk:
        raise AssignmentRefused(
            _("This case is already assigned to %(name)s."),
            params={"name": assignee.display_name},
            code="unchanged",
        )


def check_reminder(complaint: Complaint, *, now: datetime) -> None:
    """The complainant may remind the team of a case being handled, once per 24 hours.

    Raises NotAllowed (not being handled) or LimitReached (too soon).
    """
    if complaint.can_remind(now):
        return
    if complaint.status not in (Status.NEW, Status.OPEN):
        raise NotAllowed(
            _("A reminder can only be sent while the case is being handled."), code="not_handled"
        )
    raise LimitReached(
        _("You already sent a reminder in the last 24 hours. You can send another after %(time)s."),
        params={"time": when(complaint.next_reminder_at())},
        code="reminder_too_soon",
    )


ALREADY_COMPLETE = _("This complaint is already complete.")


def check_completable(complaint: Complaint) -> None:
    """Only an open complaint marked incomplete (opened by e-mail) is completed; raise
    ActionRefused otherwise."""
    check_open(complaint)
    if not complaint.is_incomplete:
        raise ActionRefused(ALREADY_COMPLETE, code="complete")


def check_incident_staff(*, by: Any) -> None:
    """Only a team lead or a manager declares, updates or resolves an incident, or links cases
    to one. Raises IncidentRefused."""
    if by is None or not getattr(by, "is_authenticated", False) or not by.is_lead:
        raise IncidentRefused(
            _(
                "Only a team lead or a manager can declare, update or resolve an incident, "
                "or link cases to it."
            ),
            code="not_lead",
        )


def check_incident_open(incident: Incident, *, by: Any) -> None:
    """`by` may act on the incident (`check_incident_staff`) and it is still open. Raises
    IncidentRefused."""
    check_incident_staff(by=by)
    if not incident.is_open:
        raise IncidentRefused(
            _("This incident is resolved: it takes no more updates or cases."), code="incident_resolved"
        )


def check_incident_link(complaint: Complaint, incident: Incident, *, by: Any) -> None:
    """`by` may link this open complaint to this open incident, which it is not linked to yet.
    Raises IncidentRefused or ActionRefused (a closed or withdrawn complaint)."""
    check_incident_open(incident, by=by)
    check_open(complaint)
    if complaint.incident_id == incident.pk:
        raise IncidentRefused(_("This case is already linked to this incident."), code="unchanged")


def check_related_incident_link(complaint: Complaint, incident: Incident, *, by: Any) -> None:
    """The one click of a case's related cases: `by` may link this case to this incident
    (`check_incident_link`), and the case is linked to no other incident (a case is moved from one
    incident to another on purpose, from its own page). Raises IncidentRefused or ActionRefused."""
    check_incident_link(complaint, incident, by=by)
    if complaint.incident_id is not None:
        raise IncidentRefused(
            _("This case is linked to another incident. To move it, open it and choose the incident there."),
            code="other_incident",
        )


def check_relate(complaint: Complaint, other: Complaint, *, by: Any) -> None:
    """Any member of staff may link two cases to each other, or remove that link, whatever their
    state: it is an internal cross-reference that changes neither case's handling, clocks nor what
    its complainant sees. Not a case to itself. Raises RelationRefused."""
    if by is None or not getattr(by, "is_authenticated", False) or not by.is_agent:
        raise RelationRefused(_("Only staff can link cases to each other."), code="not_staff")
    if complaint.pk == other.pk:
        raise RelationRefused(_("A case cannot be linked to itself."), code="self")


def check_wave_alert_open(alert: WaveAlert, *, by: Any) -> None:
    """Only a team lead or a manager dismisses a wave alert, and only an open one. Raises
    WaveAlertRefused."""
    if by is None or not getattr(by, "is_authenticated", False) or not by.is_lead:
        raise WaveAlertRefused(_("Only a team lead or a manager can dismiss a wave alert."), code="not_lead")
    if not alert.is_open:
        raise WaveAlertRefused(
            _("This alert was dismissed already, or an incident was declared from it."), code="handled"
        )


def check_incident_join(complaint: Complaint, incident: Incident) -> None:
    """A complainant may join their open, unlinked complaint to an open incident of its category
    and provider (as the filing form matched them). Raises IncidentRefused or ActionRefused."""
    check_open(complaint)
    if not incident.is_open:
        raise IncidentRefused(
            _("This problem is solved already: there is nothing to join."), code="incident_resolved"
        )
    if complaint.incident_id is not None:
        raise IncidentRefused(_("Your complaint is already linked to a known problem."), code="unchanged")
    if incident.category_id != complaint.category_id or incident.provider_key != provider_key(
        complaint.provider_name
    ):
        raise IncidentRefused(
            _("This known problem is not about the service your complaint is about."), code="other"
        )
