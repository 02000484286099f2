"""The staff workspace on the case page: reply, note, request information, reclassify,
assign or claim, escalate, de-escalate, resolve.

Every action is a POST to `staff/cases/<reference>/<action>/`. Invalid input re-renders
the case page with the errors (400); a form read from an older version of the case
re-renders it as it is now, with what was typed kept (409); a business rule that
refuses the action becomes a message, never a 500. On success each action redirects
to `next` when that is a local URL, else to the case page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.http import require_POST

from accounts.decorators import role_required
from accounts.models import STAFF_ROLES, Role, active_staff
from complaints import services
from complaints.forms import (
    AssignForm,
    InternalNoteForm,
    ReclassifyForm,
    RequestInfoForm,
    ResolveForm,
    StaffReasonForm,
    StaffReplyForm,
    staff_form_choices,
)
from complaints.models import Complaint, ComplaintEvent, EventKind
from escalation import services as escalation_services

# The staff forms of the case page: the context name of each, and its class.
FORMS: dict[str, type] = {
    "staff_reply_form": StaffReplyForm,
    "note_form": InternalNoteForm,
    "info_form": RequestInfoForm,
    "reclassify_form": ReclassifyForm,
    "assign_form": AssignForm,
    "escalate_form": StaffReasonForm,
    "de_escalate_form": StaffReasonForm,
    "resolve_form": ResolveForm,
}
# Two forms share a class; their fields need distinct HTML ids.
_AUTO_IDS = {"escalate_form": "id_escalate_%s", "de_escalate_form": "id_deescalate_%s"}


def _form(name: str, complaint: Complaint, request: HttpRequest, **kwargs: Any) -> Any:
    if name in _AUTO_IDS:
        kwargs.setdefault("auto_id", _AUTO_IDS[name])
    return FORMS[name](complaint=complaint, user=request.user, **kwargs)


def workspace_context(
    request: HttpRequest, complaint: Complaint, events: list[ComplaintEvent], bound: dict[str, Any]
) -> dict[str, Any]:
    """The staff panel's context: its forms (a bound one kept as posted), canned replies,
    and for leads the staff to assign to. A constant number of queries, whatever the case."""
    user = request.user
    canned_replies, subcategories = staff_form_choices()
    staff = list(active_staff()) if user.is_lead else None
    forms: dict[str, Any] = {}
    for name in FORMS:
        form = bound.get(name) or _form(name, complaint, request)
        if not form.is_bound:
            # A form kept after a stale post retries at the version shown now.
            form.initial["version"] = complaint.version
        forms[name] = form
    forms["staff_reply_form"].show_canned_replies(canned_replies)
    forms["reclassify_form"].show_subcategories(subcategories)
    if staff is not None:
        forms["assign_form"].show_staff(staff)
    _describe_assignments(events)
    return {
        **forms,
        "canned_replies": canned_replies,
        "assignable_staff": staff,
        "open_action": next((name for name in FORMS if name in bound), None),
        "can_escalate": complaint.is_open
        and complaint.status != "resolved"
        and escalation_services.next_rank_above(complaint.escalation_level) is not None,
        "can_de_escalate": user.is_manager and complaint.is_open and complaint.escalation_level > 0,
        "can_claim": complaint.is_open and complaint.assignee_id is None,
    }


def _describe_assignments(events: list[ComplaintEvent]) -> None:
    """Name who got the case on each ASSIGNED event (one query, only if there are any)."""
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


def _next_url(request: HttpRequest) -> str | None:
    """The `next` field when it is a URL of this site, else None."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return None


def _case_page(request: HttpRequest, reference: str, bound: dict[str, Any], status: int) -> HttpResponse:
    # complaints.views imports this module for workspace_context; import it when first needed.
    from complaints.views import complaint_detail

    response = complaint_detail(request, reference, **bound)
    response.status_code = status
    return response


def staff_action(
    form_name: str, act: Callable[..., Any], success: str, *, roles: tuple[str, ...] = tuple(STAFF_ROLES)
) -> Callable[[HttpRequest, str], HttpResponse]:
    """A POST view for one staff action: validate, call the service, redirect.

    Anyone without one of `roles` gets 404 (anonymous visitors are sent to sign in).
    """

    @role_required(*roles)
    @require_POST
    def view(request: HttpRequest, reference: str) -> HttpResponse:
        from complaints.views import complaint_or_404  # complaints.views imports this module

        complaint = complaint_or_404(Complaint.objects.all(), reference)
        form = _form(form_name, complaint, request, data=request.POST)
        if not form.is_valid():
            return _case_page(request, reference, {form_name: form}, status=400)
        try:
            act(complaint=complaint, by=request.user, now=timezone.now(), **form.cleaned_data)
        except services.StaleForm as exc:
            # Show the case as it is now; keep what was typed, at the new version.
            messages.error(request, " ".join(exc.messages))
            typed = {name: form.data.get(name) for name in form.fields if name != "version"}
            retry = _form(form_name, complaint, request, initial=typed)
            return _case_page(request, reference, {form_name: retry}, status=409)
        except ValidationError as exc:  # ComplaintActionRefused, TransitionNotAllowed, EscalationRefused
            messages.error(request, " ".join(exc.messages))
            return redirect("complaints:detail", complaint.reference)
        messages.success(request, _(success))  # the literals are marked with gettext_noop below
        return redirect(_next_url(request) or reverse("complaints:detail", args=[complaint.reference]))

    return view


def _reply(*, complaint: Complaint, by: Any, now: Any, body: str, version: int, **_: Any) -> None:
    services.reply_as_staff(complaint=complaint, body=body, by=by, now=now, version=version)


def _note(*, complaint: Complaint, by: Any, now: Any, body: str) -> None:
    services.add_internal_note(complaint=complaint, body=body, by=by, now=now)


staff_reply = staff_action(
    "staff_reply_form", _reply, gettext_noop("Your reply was sent to the complainant.")
)
staff_note = staff_action("note_form", _note, gettext_noop("The internal note was added."))
staff_request_info = staff_action(
    "info_form",
    services.request_information,
    gettext_noop("The complainant was asked for information. The SLA clock is paused until they answer."),
)
staff_reclassify = staff_action(
    "reclassify_form",
    services.reclassify_complaint,
    gettext_noop("The category and complexity were changed; the deadlines were recomputed."),
)
staff_assign = staff_action("assign_form", services.assign_complaint, gettext_noop("The case was assigned."))
staff_escalate = staff_action(
    "escalate_form", escalation_services.escalate_manually, gettext_noop("The case was escalated.")
)
staff_de_escalate = staff_action(
    "de_escalate_form",
    escalation_services.de_escalate,
    gettext_noop("The case was moved back down a level."),
    roles=(Role.MANAGER,),
)
staff_resolve = staff_action(
    "resolve_form",
    services.resolve_complaint,
    gettext_noop("The case was resolved; the complainant was told."),
)
