"""The manager-facing queue: escalated open cases, why, and the deadline that broke."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.db.models import OuterRef, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from accounts.decorators import role_required
from accounts.models import Role
from complaints.models import Complaint
from escalation.models import Escalation, EscalationLevel


@role_required(Role.MANAGER)
def manager_queue(request: HttpRequest) -> HttpResponse:
    first_manager_rank = (
        EscalationLevel.objects.filter(is_manager_facing=True)
        .order_by("rank")
        .values_list("rank", flat=True)
        .first()
    )
    latest = Escalation.objects.filter(complaint=OuterRef("pk"), to_level__gt=0).order_by(
        "-created_at", "-pk"
    )
    queue = (
        Complaint.objects.escalated_to(first_manager_rank if first_manager_rank is not None else 10**4)
        .select_related("category", "subcategory", "assignee")
        .annotate(
            escalation_reason=Subquery(latest.values("reason")[:1]),
            escalation_deadline=Subquery(latest.values("deadline_at")[:1]),
            escalated_at=Subquery(latest.values("created_at")[:1]),
        )
    )
    page = Paginator(queue, 25).get_page(request.GET.get("page"))
    levels = {level.rank: level for level in EscalationLevel.objects.all()}
    for complaint in page.object_list:
        complaint.level_obj = levels.get(complaint.escalation_level)
        complaint.reason_label = dict(Escalation._meta.get_field("reason").choices).get(
            complaint.escalation_reason, ""
        )
    return render(request, "escalation/manager_queue.html", {"page": page, "now": timezone.now()})
