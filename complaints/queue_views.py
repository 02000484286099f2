"""The agents' queue page: tabs, filters, search, nearest deadline first, keyset pages."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from accounts.decorators import role_required
from accounts.models import STAFF_ROLES
from complaints.queue import TABS, Cursor, QueueFilterForm, queue_page, sla_state, staff_options
from escalation.models import EscalationLevel


@role_required(*STAFF_ROLES)
def agent_queue(request: HttpRequest, tab: str = "mine") -> HttpResponse:
    if tab not in TABS:
        raise Http404
    filters = {key: value for key, value in request.GET.items() if key != "after"}
    form = QueueFilterForm(filters or None)
    if form.is_bound and not form.is_valid():
        context = {"form": form, "tab": tab, "tabs": TABS, "rows": [], "next_query": None}
        return render(request, "complaints/staff/queue.html", context, status=400)
    after = Cursor.decode(request.GET["after"]) if request.GET.get("after") else None
    page = queue_page(request.user, tab, form.cleaned_data if form.is_bound else {}, after)
    now = timezone.now()
    levels = {level.rank: level.name for level in EscalationLevel.objects.all()}
    for row in page.rows:
        row.sla, row.sla_delta = sla_state(row, now)
        row.level_name = levels.get(row.escalation_level, row.escalation_level)
    # Team leads and managers hand cases out; agents claim them.
    options = staff_options() if request.user.is_lead else ""
    next_query = None
    if page.next_cursor:
        query = request.GET.copy()
        query["after"] = page.next_cursor
        next_query = query.urlencode()
    first_query = request.GET.copy()
    first_query.pop("after", None)
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
    }
    return render(request, "complaints/staff/queue.html", context)
