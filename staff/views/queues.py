"""The agents' queue and the managers' queue of escalated cases."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from accounts.decorators import role_required
from accounts.models import STAFF_ROLES, Role
from common.paging import Cursor
from common.urls import kept_row_url
from complaints.selectors import open_incidents, open_wave_alerts
from escalation.standing import level_names, levels
from staff.forms import QueueFilterForm
from staff.selectors import (
    NO_MANAGER_LEVEL,
    TABS,
    manager_queue_page,
    queue_page,
    sla_state,
    staff_options,
)
from staff.views.incidents import search_query


def _link(rows: list[Any]) -> None:
    """Give each row the links its cells write: to the case, and its assignment forms' target."""
    case_url, assign_url = kept_row_url("staff:case"), kept_row_url("staff:assign")
    for row in rows:
        row.case_url, row.assign_url = case_url(row.reference), assign_url(row.reference)


@role_required(*STAFF_ROLES)
def agent_queue(request: HttpRequest, tab: str = "mine") -> HttpResponse:
    """Open cases nearest deadline first: mine, unassigned, or my team's; filters and search."""
    if tab not in TABS:
        raise Http404
    filters = {key: value for key, value in request.GET.items() if key != "after"}
    form = QueueFilterForm(filters or None)
    if form.is_bound and not form.is_valid():
        context = {"form": form, "tab": tab, "tabs": TABS, "rows": [], "next_query": None}
        return render(request, "staff/queue.html", context, status=400)
    after = Cursor.decode(request.GET["after"]) if request.GET.get("after") else None
    page = queue_page(request.user, tab, form.cleaned_data if form.is_bound else {}, after)
    now = timezone.now()
    names = level_names()
    for row in page.rows:
        row.sla, row.sla_delta = sla_state(row, now)
        row.level_name = names.get(row.escalation_level, row.escalation_level)
    _link(page.rows)
    # Team leads and managers hand cases out; agents claim them.
    options = staff_options() if request.user.is_lead else ""
    next_query = None
    if page.next_cursor:
        query = request.GET.copy()
        query["after"] = page.next_cursor
        next_query = query.urlencode()
    search_fields = [(key, value) for key, value in filters.items() if key in QueueFilterForm.base_fields]
    first_query = request.GET.copy()
    first_query.pop("after", None)
    link_search = request.user.is_lead and form.is_bound and bool(form.cleaned_data.get("q"))
    context = {
        "form": form,
        "tab": tab,
        "tabs": TABS,
        "rows": page.rows,
        "now": now,
        "next_query": next_query,
        "first_query": first_query.urlencode(),
        "is_later_page": after is not None,
        "staff_options": options,
        "here": request.get_full_path(),
        # Team leads and managers link a search's results to an open incident at once, or declare
        # one from them.
        "link_search": link_search,
        "link_incidents": open_incidents() if link_search else [],
        "search_fields": search_fields,
        "declare_query": search_query(tab, search_fields),
        # Waves of complaints not yet handled, for team leads and managers to declare or dismiss.
        "wave_alerts": open_wave_alerts(now=now) if request.user.is_lead else [],
    }
    return render(request, "staff/queue.html", context)


@role_required(Role.MANAGER)
def manager_queue(request: HttpRequest) -> HttpResponse:
    """Escalated open cases, oldest breach first: why and when each went up, and how late it is."""
    ladder = levels()
    manager_ranks = [rank for rank, level in ladder.items() if level.is_manager_facing]
    first_rank = min(manager_ranks) if manager_ranks else NO_MANAGER_LEVEL
    after = Cursor.decode(request.GET.get("after", ""), size=2) if request.GET.get("after") else None
    page = manager_queue_page(first_rank, after, ladder)
    _link(page.rows)
    context = {
        "rows": page.rows,
        "next_query": f"after={page.next_cursor}" if page.next_cursor else None,
        "is_later_page": after is not None,
        "staff_options": staff_options(),
        "now": timezone.now(),
        "here": request.get_full_path(),
        "wave_alerts": open_wave_alerts(now=timezone.now()),
    }
    return render(request, "staff/manager_queue.html", context)
