"""Staff's case page and its actions: reply, note, request information, reclassify, assign or
claim, escalate, de-escalate, resolve.

The page is `staff/cases/<reference>/`; every action is a POST to
`staff/cases/<reference>/<action>/`. Invalid input re-renders the page with the errors
(400); a form read from an older version of the case re-renders it as it is now, with
what was typed kept (409); a business rule that refuses the action becomes a message,
never a 500. On success each action redirects to `next` when that is a local URL, else
to the case page. The page offers an action only where the rule its service applies
(`complaints.rules`, `escalation.rules`) lets it through.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.http import require_POST

from accounts.decorators import role_required
from accounts.models import STAFF_ROLES, Role, active_staff
from common.times import duration
from complaints import services
from complaints.access import complaint_or_404, reader, staff_case_or_404
from complaints.accesslog import record_access
from complaints.case_page import case_context
from complaints.models import AccessKind, Complaint, Incident
from complaints.refusals import ActionRefused, NotAllowed, StaleForm, permitted
from complaints.related import RELATED_WINDOW
from complaints.rules import check_claim, check_reassign, check_related_incident_link
from complaints.selectors import name_categories, open_incidents
from escalation import moves
from escalation.rules import check_de_escalate, check_escalate
from staff.forms import (
    AssignForm,
    InternalNoteForm,
    ReclassifyForm,
    RequestInfoForm,
    ResolveForm,
    StaffReasonForm,
    StaffReplyForm,
)
from staff.selectors import case_form_choices, related_and_linked

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


@role_required(*STAFF_ROLES)
def case(request: HttpRequest, reference: str) -> HttpResponse:
    """The case as staff work it: the whole timeline, internal events included, and the actions."""
    return _case_page(request, reference, bound={}, status=200)


def _case_page(request: HttpRequest, reference: str, *, bound: dict[str, Any], status: int) -> HttpResponse:
    """Render the staff case page; `bound` holds a form posted with errors (or kept after a
    stale post), by context name. A constant number of queries, whatever the case, of which
    one writes: the view's entry in the access log."""
    complaint = staff_case_or_404(reference)
    name_categories([complaint])
    now = timezone.now()
    record_access(reader=reader(request), kind=AccessKind.CASE_VIEW, complaint=complaint, at=now)
    context = case_context(request, complaint, staff=True, now=now, bound=bound)
    context.update(_workspace(request, complaint, bound))
    context.update(_related_panel(complaint, request.user, context["case_incident"], now=now))
    return render(request, "staff/case.html", context, status=status)


def _workspace(request: HttpRequest, complaint: Complaint, bound: dict[str, Any]) -> dict[str, Any]:
    """The staff panel: its forms (a bound one kept as posted), canned replies in the
    complainant's language, for leads the staff to assign to, and which actions to offer."""
    user = request.user
    canned_replies, subcategories = case_form_choices(language=complaint.language)
    can_reassign = permitted(check_reassign, complaint, by=user)
    staff = list(active_staff()) if can_reassign else None
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
    return {
        **forms,
        "canned_replies": canned_replies,
        "assignable_staff": staff,
        "open_action": next((name for name in FORMS if name in bound), None),
        "can_escalate": permitted(check_escalate, complaint, by=user),
        "can_de_escalate": permitted(check_de_escalate, complaint, by=user),
        "can_claim": permitted(check_claim, complaint, by=user),
        **_incident_panel(complaint, user),
    }


def _incident_panel(complaint: Complaint, user: Any) -> dict[str, Any]:
    """The incident the case is linked to, and for leads the open incidents it can be linked to
    (from this process's copy; those of its category and provider first)."""
    choices = open_incidents() if user.is_lead and complaint.is_open else []
    linked = next((incident for incident in choices if incident.pk == complaint.incident_id), None)
    if linked is None and complaint.incident_id is not None:
        linked = Incident.objects.filter(pk=complaint.incident_id).first()
    matching = [
        i for i in choices if i.category_id == complaint.category_id and i.pk != complaint.incident_id
    ]
    others = [i for i in choices if i not in matching and i.pk != complaint.incident_id]
    return {"case_incident": linked, "incident_choices": matching + others}


MINUTE = timedelta(minutes=1)


def _related_panel(complaint: Complaint, user: Any, incident: Incident | None, *, now: Any) -> dict[str, Any]:
    """The case's related cases (each with why, and for leads the incident one click links it to,
    or links this case to) and its linked cases (staff.views.related acts on them)."""
    related, linked = related_and_linked(complaint, now=now)
    for row in related:
        gap = row.relatedness.gap
        if gap < -MINUTE:
            row.filed = _("filed %(time)s before this one") % {"time": duration(-gap)}
        elif gap > MINUTE:
            row.filed = _("filed %(time)s after this one") % {"time": duration(gap)}
        else:
            row.filed = _("filed at the same time")
        row.similar_percent = round(row.relatedness.score * 100)
        row.link_to = None  # (the incident, whether this case is the one linked to it)
        if not user.is_lead:
            continue
        if incident is not None and incident.is_open:
            if permitted(check_related_incident_link, row, incident, by=user):
                row.link_to = (incident, False)
        elif row.incident is not None and permitted(
            check_related_incident_link, complaint, row.incident, by=user
        ):
            row.link_to = (row.incident, True)
    return {"related_cases": related, "linked_cases": linked, "related_window": RELATED_WINDOW}


def _next_url(request: HttpRequest) -> str | None:
    """The `next` field when it is a URL of this site, else None."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return None


def staff_action(
    form_name: str,
    act: Callable[..., Any],
    success: str,
    *,
    roles: tuple[str, ...] = tuple(STAFF_ROLES),
    refusal_on_form: bool = False,
) -> Callable[[HttpRequest, str], HttpResponse]:
    """A POST view for one staff action: validate, call the service, redirect.

    Anyone without one of `roles` gets 404 (anonymous visitors are sent to sign in). With
    `refusal_on_form`, a refusal of what the form says (not of the case's state: NotAllowed)
    is shown on the form as posted, what was typed kept, not as a message above the page.
    """

    @role_required(*roles)
    @require_POST
    def view(request: HttpRequest, reference: str) -> HttpResponse:
        complaint = complaint_or_404(Complaint.objects.all(), reference)
        form = _form(form_name, complaint, request, data=request.POST)
        if not form.is_valid():
            return _case_page(request, reference, bound={form_name: form}, status=400)
        try:
            act(complaint=complaint, by=request.user, now=timezone.now(), **form.cleaned_data)
        except StaleForm as exc:
            # Show the case as it is now; keep what was typed, at the new version.
            messages.error(request, " ".join(exc.messages))
            typed = {name: form.data.get(name) for name in form.fields if name != "version"}
            retry = _form(form_name, complaint, request, initial=typed)
            return _case_page(request, reference, bound={form_name: retry}, status=409)
        except ActionRefused as exc:  # a rule refused it: TransitionNotAllowed, AssignmentRefused, ...
            if refusal_on_form and not isinstance(
                exc, NotAllowed
            ):  # the form's content, not the case's state
                form.add_error(None, exc)
                return _case_page(request, reference, bound={form_name: form}, status=400)
            messages.error(request, " ".join(exc.messages))
            return redirect("staff:case", complaint.reference)
        messages.success(request, _(success))  # the literals are marked with gettext_noop below
        # A URL, never a view name: redirect() would try to reverse whatever `next` holds.
        return HttpResponseRedirect(_next_url(request) or reverse("staff:case", args=[complaint.reference]))

    return view


def _reply(*, complaint: Complaint, by: Any, now: Any, body: str, version: int, **_: Any) -> None:
    services.reply_as_staff(complaint=complaint, body=body, by=by, now=now, version=version)


def _note(*, complaint: Complaint, by: Any, now: Any, body: str) -> None:
    services.add_internal_note(complaint=complaint, body=body, by=by, now=now)


reply = staff_action("staff_reply_form", _reply, gettext_noop("Your reply was sent to the complainant."))
note = staff_action("note_form", _note, gettext_noop("The internal note was added."))
request_info = staff_action(
    "info_form",
    services.request_information,
    gettext_noop("The complainant was asked for information. The SLA clock is paused until they answer."),
)
reclassify = staff_action(
    "reclassify_form",
    services.reclassify_complaint,
    gettext_noop("The category and complexity were changed; the deadlines were recomputed."),
)
assign = staff_action("assign_form", services.assign_complaint, gettext_noop("The case was assigned."))
escalate = staff_action("escalate_form", moves.escalate_manually, gettext_noop("The case was escalated."))
de_escalate = staff_action(
    "de_escalate_form",
    moves.de_escalate,
    gettext_noop("The case was moved back down a level."),
    roles=(Role.MANAGER,),
)
resolve = staff_action(
    "resolve_form",
    services.resolve_complaint,
    gettext_noop("The case was resolved; the complainant was told."),
    refusal_on_form=True,
)
