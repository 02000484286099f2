"""Incidents, for team leads and managers: the list and the declare form, an incident's page (its
news, its resolution, its linked cases), linking a case from its page and a queue search's
results at once. Every change goes through `complaints.services.incidents`; a refusal becomes a
message."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext
from django.views.decorators.http import require_POST

from accounts.decorators import role_required
from accounts.models import Role
from complaints import services
from complaints.access import complaint_or_404
from complaints.models import Complaint, Incident, WaveAlert
from complaints.refusals import ActionRefused
from complaints.selectors import open_incidents, wave_alert
from staff.forms import (
    DeclareIncidentForm,
    IncidentNewsForm,
    IncidentReplyForm,
    IncidentResolveAllForm,
    LinkIncidentForm,
    QueueFilterForm,
)
from staff.selectors import TABS, incident_list, linked_cases, queue_queryset, search_outline

LEADS = (Role.TEAM_LEAD, Role.MANAGER)

# How many references a message names; the rest are counted (the linked cases' list below shows
# each one's status).
REFERENCES_NAMED = 30


def _named(references: list[str]) -> str:
    """The references a message names: all of them if few, else the first REFERENCES_NAMED and
    how many more."""
    if len(references) <= REFERENCES_NAMED:
        return ", ".join(references)
    more = len(references) - REFERENCES_NAMED
    return ngettext("%(references)s and %(more)d more", "%(references)s and %(more)d more", more) % {
        "references": ", ".join(references[:REFERENCES_NAMED]),
        "more": more,
    }


# The queue search an incident is declared from travels with the declare form under this prefix
# (its own "category" is not the incident's).
SEARCH = "search"


def _search(request: HttpRequest, data: Any) -> tuple[QuerySet[Complaint], str] | None:
    """The queue search an incident is declared from (its tab and filters, prefixed `SEARCH`), as
    the cases it finds (of any status: the ended ones are refused when linked) and its words;
    None if none was carried or it is not a search."""
    tab = data.get(f"{SEARCH}-tab")
    filters = QueueFilterForm(data, prefix=SEARCH)
    if tab not in TABS or not filters.is_valid() or not filters.cleaned_data.get("q"):
        return None
    cases = queue_queryset(request.user, tab, filters.cleaned_data, statuses=None)
    return cases, filters.cleaned_data["q"]


def search_query(tab: str, fields: list[tuple[str, str]]) -> str:
    """The declare form's address query that carries a queue search (see `_search`)."""
    return urlencode([(f"{SEARCH}-tab", tab), *((f"{SEARCH}-{name}", value) for name, value in fields)])


def _declare_initial(alert: WaveAlert | None) -> dict[str, Any]:
    """What the declare form starts with: now; or, opened from a wave alert, the wave's category,
    provider and first hour."""
    if alert is None:
        return {"started_at": timezone.localtime()}
    return {
        "category": alert.category_id,
        "provider_name": alert.provider_name,
        "started_at": timezone.localtime(alert.window_start),
        "alert": alert.public_id,
    }


@role_required(*LEADS)
def incidents(request: HttpRequest) -> HttpResponse:
    """The incidents, open ones first, and the form that declares one (POST). Opened from a wave
    alert (`?alert=`, its public id), the form starts from the wave; declared from a queue search
    (its fields prefixed `SEARCH`), from what the results share, and links them all at once."""
    data = request.POST if request.method == "POST" else request.GET
    search = _search(request, data) if f"{SEARCH}-tab" in data else None
    outline = search_outline(search[0]) if search else None
    alert = wave_alert(request.GET.get("alert", ""))
    initial = _declare_initial(alert)
    if outline is not None and alert is None and request.method == "GET":
        initial.update(
            category=outline.category_id,
            provider_name=outline.provider_name,
            started_at=timezone.localtime(outline.first_submitted_at).replace(second=0, microsecond=0),
        )
    form = DeclareIncidentForm(request.POST or None, initial=initial)
    if f"{SEARCH}-tab" in data and outline is None:
        messages.error(request, _("That search finds no cases any more: the incident would link none."))
    elif request.method == "POST" and form.is_valid():
        now = timezone.now()
        try:
            if search:
                incident, linked = services.declare_incident_for(
                    complaints=search[0], **form.cleaned_data, by=request.user, now=now
                )
            else:
                incident, linked = (
                    services.declare_incident(**form.cleaned_data, by=request.user, now=now),
                    None,
                )
        except ActionRefused as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("The incident was declared. The filing form shows it from now on."))
            if linked is not None:
                _say_linked(request, linked)
            return redirect("staff:incident", incident.slug)
    context = {
        "form": form,
        "incidents": incident_list(),
        "search": {"words": search[1], "count": outline.count, "fields": _carried(data)} if outline else None,
        "from_alert": alert,
    }
    return render(request, "staff/incidents.html", context, status=400 if request.method == "POST" else 200)


def _carried(data: Any) -> list[tuple[str, str]]:
    """The search's fields as the declare form carries them on (hidden)."""
    names = [f"{SEARCH}-tab", *(f"{SEARCH}-{name}" for name in QueueFilterForm.base_fields)]
    return [(name, data[name]) for name in names if name in data]


def _say_linked(request: HttpRequest, result: Any) -> None:
    """How many cases were linked to the incident, and those refused, by reference."""
    messages.success(
        request,
        ngettext(
            "%(count)d case was linked to the incident.",
            "%(count)d cases were linked to the incident.",
            len(result.linked),
        )
        % {"count": len(result.linked)},
    )
    if result.refused:
        messages.warning(
            request,
            _("Not linked, because they are closed or withdrawn: %(references)s")
            % {"references": _named(result.refused)},
        )


def _incident_page(
    request: HttpRequest, incident: Incident, *, bound: dict, status: int = 200
) -> HttpResponse:
    cases, count = linked_cases(incident)
    context = {
        "incident": incident,
        "updates": incident.updates.order_by("-at", "-pk"),
        "update_form": bound.get("update_form") or IncidentNewsForm(auto_id="id_update_%s"),
        "resolve_form": bound.get("resolve_form") or IncidentNewsForm(auto_id="id_resolve_%s"),
        "reply_all_form": bound.get("reply_all_form") or IncidentReplyForm(auto_id="id_reply_all_%s"),
        "resolve_all_form": bound.get("resolve_all_form")
        or IncidentResolveAllForm(auto_id="id_resolve_all_%s", category_id=incident.category_id),
        "cases": cases,
        "case_count": count,
    }
    return render(request, "staff/incident.html", context, status=status)


@role_required(*LEADS)
def incident(request: HttpRequest, slug: str) -> HttpResponse:
    return _incident_page(request, get_object_or_404(Incident, slug=slug), bound={})


def _news(form_name: str, act: str, success: str):
    @role_required(*LEADS)
    @require_POST
    def view(request: HttpRequest, slug: str) -> HttpResponse:
        found = get_object_or_404(Incident, slug=slug)
        form = IncidentNewsForm(request.POST, auto_id=f"id_{form_name.removesuffix('_form')}_%s")
        if not form.is_valid():
            return _incident_page(request, found, bound={form_name: form}, status=400)
        try:
            getattr(services, act)(incident=found, **form.cleaned_data, by=request.user, now=timezone.now())
        except ActionRefused as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _(success))
        return redirect("staff:incident", found.slug)

    return view


update = _news(
    "update_form",
    "update_incident",
    gettext_noop("The news was published and sent to the linked complainants."),
)
resolve = _news(
    "resolve_form",
    "resolve_incident",
    gettext_noop("The incident was resolved and the linked complainants told."),
)


@role_required(*LEADS)
@require_POST
def link_case(request: HttpRequest, reference: str) -> HttpResponse:
    """Link one case to an open incident, from the staff case page."""
    complaint = complaint_or_404(Complaint.objects.all(), reference)
    form = LinkIncidentForm(request.POST, incidents=open_incidents())
    if not form.is_valid():
        messages.error(request, _("Choose an open incident."))
        return redirect("staff:case", complaint.reference)
    chosen = get_object_or_404(Incident, pk=form.cleaned_data["incident"])
    try:
        services.link_complaint(complaint=complaint, incident=chosen, by=request.user, now=timezone.now())
    except ActionRefused as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The case was linked to the incident “%(title)s”.") % {"title": chosen})
    return redirect("staff:case", complaint.reference)


@role_required(*LEADS)
@require_POST
def link_search(request: HttpRequest) -> HttpResponse:
    """Link every result of a queue search (its tab and filters, sent back as hidden fields) to an
    open incident; closed and withdrawn cases that match are listed as refused."""
    tab = request.POST.get("tab", "mine")
    filters = QueueFilterForm({key: request.POST.get(key, "") for key in QueueFilterForm.base_fields})
    form = LinkIncidentForm(request.POST, incidents=open_incidents())
    if tab not in TABS or not filters.is_valid() or not form.is_valid() or not filters.cleaned_data.get("q"):
        messages.error(request, _("Search the queue first, then choose an open incident."))
        return redirect("staff:queue")
    chosen = get_object_or_404(Incident, pk=form.cleaned_data["incident"])
    results = queue_queryset(request.user, tab, filters.cleaned_data, statuses=None)
    try:
        result = services.link_complaints(
            complaints=results, incident=chosen, by=request.user, now=timezone.now()
        )
    except ActionRefused as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("staff:queue")
    _say_linked(request, result)
    return redirect("staff:incident", chosen.slug)


def _answer(form_class: type, form_name: str, act: str):
    """A bulk answer to the incident's linked cases (`services.reply_to_linked` or
    `resolve_linked`): how many were answered, and the refused ones listed by reason."""

    @role_required(*LEADS)
    @require_POST
    def view(request: HttpRequest, slug: str) -> HttpResponse:
        found = get_object_or_404(Incident, slug=slug)
        extra = {"category_id": found.category_id} if form_class is IncidentResolveAllForm else {}
        form = form_class(request.POST, auto_id=f"id_{form_name.removesuffix('_form')}_%s", **extra)
        if not form.is_valid():
            return _incident_page(request, found, bound={form_name: form}, status=400)
        try:
            result = getattr(services, act)(
                incident=found, **form.cleaned_data, by=request.user, now=timezone.now()
            )
        except ActionRefused as exc:
            form.add_error(None, exc)
            return _incident_page(request, found, bound={form_name: form}, status=400)
        count = len(result.answered)
        if act == "resolve_linked":
            text = ngettext(
                "%(count)d linked case was resolved.", "%(count)d linked cases were resolved.", count
            )
        else:
            text = ngettext(
                "%(count)d linked case was answered.", "%(count)d linked cases were answered.", count
            )
        messages.success(request, text % {"count": count})
        by_reason: dict[str, list[str]] = {}
        for reference, why in result.refused:
            by_reason.setdefault(str(why), []).append(reference)
        for why, references in by_reason.items():
            messages.warning(
                request,
                _("Not answered, %(why)s: %(references)s") % {"why": why, "references": _named(references)},
            )
        return redirect("staff:incident", found.slug)

    return view


reply_linked = _answer(IncidentReplyForm, "reply_all_form", "reply_to_linked")
resolve_linked = _answer(IncidentResolveAllForm, "resolve_all_form", "resolve_linked")


@role_required(*LEADS)
@require_POST
def dismiss_wave(request: HttpRequest, public_id: str) -> HttpResponse:
    """Dismiss an open wave alert (the queues' banner): the wave is no incident. Back to the page
    the banner was on."""
    alert = get_object_or_404(WaveAlert, public_id=public_id)
    try:
        services.dismiss_wave_alert(alert=alert, by=request.user, now=timezone.now())
    except ActionRefused as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request, _("The alert was dismissed. While this wave lasts, it is not alerted again.")
        )
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, {request.get_host()}, require_https=request.is_secure()):
        back = reverse("staff:queue")
    # A URL, never a view name: redirect() would try to reverse whatever `next` holds.
    return HttpResponseRedirect(back)
