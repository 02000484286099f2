"""A case's related and linked cases, from its staff page: link two cases to each other (any member
of staff) or remove that link, and the one click that links a related case to this case's incident,
or this case to the related case's (team leads and managers, as every link to an incident).

Every action is a POST from the case page and comes back to it with a message saying what was done
or why not: an unknown reference, the case itself, a link already made or already gone, an incident
changed meanwhile. Changes go through `complaints.services` (relations, incidents).
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.http import require_POST

from accounts.decorators import role_required
from accounts.models import STAFF_ROLES
from complaints import services
from complaints.access import complaint_or_404
from complaints.models import Complaint, Incident
from complaints.refusals import ActionRefused
from staff.forms import OtherCaseForm, RelatedIncidentForm
from staff.views.incidents import LEADS


def _other_case(request: HttpRequest, form: OtherCaseForm) -> Complaint | None:
    """The case the form names, if this member of staff may see it; else None, with a message."""
    if not form.is_valid():
        messages.error(
            request, " ".join(form.errors.get("other", [])) or _("Give the other case's reference.")
        )
        return None
    reference = form.cleaned_data["other"]
    found = Complaint.objects.visible_to(request.user).filter(reference=reference).first()
    if found is None:
        messages.error(request, _("No case has the reference %(reference)s.") % {"reference": reference})
    return found


def _pair(act: str, done: str, doc: str):
    """A view that links the case to another case, or removes that link (`services.<act>`), and
    says `done` (naming the other case) or why not."""

    @role_required(*STAFF_ROLES)
    @require_POST
    def view(request: HttpRequest, reference: str) -> HttpResponse:
        complaint = complaint_or_404(Complaint.objects.visible_to(request.user), reference)
        other = _other_case(request, OtherCaseForm(request.POST))
        if other is not None:
            try:
                getattr(services, act)(complaint=complaint, other=other, by=request.user, now=timezone.now())
            except ActionRefused as exc:
                messages.error(request, " ".join(exc.messages))
            else:
                messages.success(request, _(done) % {"reference": other.reference})
        return redirect("staff:case", complaint.reference)

    view.__doc__ = doc
    return view


relate = _pair(
    "relate_complaints",
    gettext_noop("%(reference)s is now linked to this case."),
    "Link the case to another (a related case's button, or a reference typed).",
)
unrelate = _pair(
    "unrelate_complaints",
    gettext_noop("%(reference)s is no longer linked to this case."),
    "Remove the link between the case and another.",
)


@role_required(*LEADS)
@require_POST
def link_related_incident(request: HttpRequest, reference: str) -> HttpResponse:
    """The one click of a related case: link it to this case's incident, or this case to its."""
    complaint = complaint_or_404(Complaint.objects.visible_to(request.user), reference)
    form = RelatedIncidentForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a related case and an incident."))
        return redirect("staff:case", complaint.reference)
    related = _other_case(request, form)
    if related is None:
        return redirect("staff:case", complaint.reference)
    incident = Incident.objects.filter(pk=form.cleaned_data["incident"]).first()
    if incident is None:
        messages.error(request, _("That incident does not exist."))
        return redirect("staff:case", complaint.reference)
    try:
        linked = services.link_related(
            complaint=complaint, related=related, incident=incident, by=request.user, now=timezone.now()
        )
    except ActionRefused as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            _("%(reference)s was linked to the incident “%(title)s”.")
            % {"reference": linked.reference, "title": incident.title},
        )
    return redirect("staff:case", complaint.reference)
