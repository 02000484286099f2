"""The case page's context, built once for both audiences.

The complainant's page (`complaints.views.complaint_detail`) and staff's
(`staff.views.case.case`) each call `case_context` and add their own panel: one
function reads the timeline, evidence and contacts and says what the visitor may do,
so neither view calls the other.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.http import HttpRequest
from django.utils.translation import gettext as _

from common.bootstrap import Blank
from common.prepared import Param, Prepared
from complaints.access import is_owner, may_add_evidence, may_take_dossier, may_take_original
from complaints.consent import notice_context
from complaints.forms import (
    CompleteComplaintForm,
    ContactForm,
    CorrectContactForm,
    PrivacyRequestForm,
    RatingForm,
    ReasonForm,
    ReplyForm,
    WithdrawConsentForm,
    WithdrawForm,
)
from complaints.models import UNCLASSIFIED, Complaint, ComplaintEvent, ContactAttempt, EventKind
from complaints.refusals import permitted
from complaints.rules import check_completable, check_reminder
from escalation.explain import service_deadlines, status_events
from escalation.regulatory import regulatory_standing
from escalation.rules import can_request_escalation
from escalation.standing import latest_move_up, level_names, levels, standing
from escalation.timeline import LADDER_EVENTS, describe
from evidence.forms import EvidenceFormSet
from evidence.models import Evidence

# The complainant's forms on the case page: the context name of each, its class and prefix.
COMPLAINANT_FORMS: dict[str, tuple[type, str | None]] = {
    "escalation_form": (ReasonForm, "escalation"),
    "reply_form": (ReplyForm, None),
    "contact_form": (ContactForm, "contact"),
    "dispute_form": (ReasonForm, "dispute"),
    "withdraw_form": (WithdrawForm, "withdraw"),
    "consent_form": (WithdrawConsentForm, "consent"),
    "correct_form": (CorrectContactForm, "correct"),
    "privacy_form": (PrivacyRequestForm, "privacy"),
    "rating_form": (RatingForm, "rating"),
}


# A case's files, contacts and timeline (all of it, or what the complainant sees) as its
# related managers read them, in their models' order; compiled once (common.prepared).
_EVIDENCE = Prepared(Evidence.objects.filter(complaint_id=Param("complaint")))
_CONTACTS = Prepared(ContactAttempt.objects.filter(complaint_id=Param("complaint")))
_EVENTS = Prepared(ComplaintEvent.objects.filter(complaint_id=Param("complaint")))
_PUBLIC_EVENTS = Prepared(ComplaintEvent.objects.filter(complaint_id=Param("complaint"), public=True))


def _of_case(read: Prepared, complaint: Complaint) -> list[Any]:
    """The rows `read` finds for `complaint`, each knowing its complaint, as a related
    manager's rows do (no query to reach it)."""
    rows = read(complaint=complaint.pk)
    for row in rows:
        type(row).complaint.field.set_cached_value(row, complaint)
    return rows


def case_context(
    request: HttpRequest, complaint: Complaint, *, staff: bool, now: datetime, bound: dict[str, Any]
) -> dict[str, Any]:
    """What both case pages show: status, timeline (staff see internal events too), evidence,
    contacts, the ladder level, and the complainant's actions with their forms (`bound`
    holds a form posted with errors, by context name).

    A constant number of queries, whatever the case.
    """
    owner = is_owner(request, complaint)
    evidence = _of_case(_EVIDENCE, complaint)
    contacts = _of_case(_CONTACTS, complaint)
    events = _of_case(_EVENTS if staff else _PUBLIC_EVENTS, complaint)
    # Level names are read (once) only when the case or its timeline has moved on the ladder
    # (an assignment's "to" names a person, not a rung).
    on_ladder = complaint.escalation_level or any(event.kind in LADDER_EVENTS for event in events)
    ladder = levels() if on_ladder else {}
    names = level_names() if on_ladder else {}
    _annotate_events(events, evidence=evidence, contacts=contacts, level_names=names)
    # What the deadlines' accounts replay: staff's page its own timeline; the complainant's, whose
    # timeline is the public part, the status changes (one query, when the case has a deadline).
    has_deadline = complaint.regime_id or complaint.first_response_due_at or complaint.resolution_due_at
    clock_events = events if staff else status_events(complaint) if has_deadline else None
    context = {
        "complaint": complaint,
        "events": events,
        "evidence": evidence,
        "contacts": contacts,
        "level_name": names.get(complaint.escalation_level) if complaint.escalation_level else None,
        # Why it stands there: what took it up last and when (one query, on the ladder only).
        "standing": standing(complaint, latest_move_up(complaint), ladder)
        if complaint.escalation_level
        else None,
        # The service's deadlines and the regime's, each with how it was reached.
        "service": service_deadlines(complaint, timeline=clock_events) if clock_events is not None else {},
        "regulatory": regulatory_standing(complaint, timeline=clock_events) if complaint.regime_id else None,
        "can_upload": may_add_evidence(request, complaint),
        "can_export": may_take_dossier(request, complaint),
        # Whether the images' sealed originals are offered beside their cleaned copies.
        "sees_originals": may_take_original(request, complaint, is_image=True),
        "evidence_forms": EvidenceFormSet(prefix="evidence"),
        "is_owner": owner,
        "is_staff": staff,
        "now": now,
        "can_remind": permitted(check_reminder, complaint, now=now),
        "can_dispute": complaint.can_dispute(now),
        "can_request_escalation": owner and can_request_escalation(complaint, now),
    }
    if owner:  # the complainant's forms: the page shows them to the complainant alone
        for name, (form_class, prefix) in COMPLAINANT_FORMS.items():
            context[name] = bound.get(name) or Blank(form_class, prefix=prefix)
        if "correct_form" not in bound:  # the details as they stand, to correct
            context["correct_form"] = CorrectContactForm(
                prefix="correct",
                initial={name: getattr(complaint, name) for name in CorrectContactForm.base_fields},
            )
    # A complaint opened by e-mail: its complainant completes the dossier here.
    context["can_complete"] = owner and permitted(check_completable, complaint)
    if context["can_complete"]:
        initial: dict[str, Any] = {"occurred_at": complaint.occurred_at}
        if complaint.category.slug != UNCLASSIFIED:  # staff classified it meanwhile
            initial["subcategory"] = complaint.subcategory_id
        context["complete_form"] = bound.get("complete_form") or CompleteComplaintForm(
            prefix="complete", initial=initial
        )
        context.update(notice_context())  # the privacy notice it asks consent to
    return context


def _annotate_events(
    events: list[ComplaintEvent],
    *,
    evidence: list[Any],
    contacts: list[Any],
    level_names: dict[int, str],
) -> None:
    """Give each event its files, its contacts and the sentence that says what it did, without
    further queries but one for the names of people a case was assigned to (if any)."""
    evidence_by_id = {str(item.public_id): item for item in evidence}
    contacts_by_id = {contact.pk: contact for contact in contacts}
    for event in events:
        event.evidence_items = [
            evidence_by_id[i] for i in event.payload.get("evidence", []) if i in evidence_by_id
        ]
        # A reply that came by e-mail: the message as received, and the files refused.
        event.email_item = evidence_by_id.get(event.payload.get("email", ""))
        event.refused_files = event.payload.get("refused", [])
        # A filing lists its contacts; a contact added later names its own.
        listed = event.payload.get("contacts") or [event.payload.get("contact_id")]
        event.contact_items = [contacts_by_id[i] for i in listed if i in contacts_by_id]
        event.summary = describe(event, level_names) or _mail_summary(event) or _relation_summary(event)
    assigned = [event for event in events if event.kind == EventKind.ASSIGNED]
    ids = {event.payload.get("to") for event in assigned} - {None}
    if not ids:
        return
    names = {person.pk: person.display_name for person in get_user_model().objects.filter(pk__in=ids)}
    for event in assigned:
        name = names.get(event.payload.get("to"), "?")
        if event.payload.get("to") == event.actor_id:
            event.summary = _("%(name)s took the case.") % {"name": name}
        else:
            event.summary = _("The case was assigned to %(name)s.") % {"name": name}


def _mail_summary(event: ComplaintEvent) -> str:
    """What a returned e-mail means for the case, for staff ("" for other events)."""
    if event.kind != EventKind.MAIL_BOUNCED:
        return ""
    return _(
        "The e-mail to %(email)s came back undelivered (%(status)s): that address does not receive "
        "mail. Reach the complainant another way, or ask them for another address."
    ) % {"email": event.payload.get("email", ""), "status": event.payload.get("status", "")}


def _relation_summary(event: ComplaintEvent) -> str:
    """Which case a link between two cases (or its removal) names ("" for other events)."""
    if event.kind == EventKind.CASE_LINKED:
        return _("Linked to case %(reference)s.") % {"reference": event.payload.get("case", "")}
    if event.kind == EventKind.CASE_UNLINKED:
        return _("No longer linked to case %(reference)s.") % {"reference": event.payload.get("case", "")}
    return ""
