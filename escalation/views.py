"""The manager-facing queue: escalated open cases, why, and the deadline that broke."""

from __future__ import annotations

from django.db.models import F, OuterRef, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from accounts.decorators import role_required
from accounts.models import Role
from complaints.models import BREACHED_AT, FAR_FUTURE, Complaint
from complaints.queue import LONG_TEXT, Cursor, keyset_page, staff_options
from escalation.models import Escalation, EscalationLevel


def manager_queue_queryset(first_rank: int) -> QuerySet[Complaint]:
    """Escalated open cases from `first_rank` up, oldest breach first, with the latest move up:
    its reason, when it happened and the deadline it was for."""
    latest = Escalation.objects.filter(complaint=OuterRef("pk"), to_level__gt=F("from_level")).order_by(
        "-created_at", "-pk"
    )
    return (
        Complaint.objects.escalated_to(first_rank)
        .select_related("category", "subcategory", "assignee")
        .defer(*LONG_TEXT)
        .annotate(
            escalation_reason=Subquery(latest.values("reason")[:1]),
            escalation_deadline=Subquery(latest.values("deadline_at")[:1]),
            escalated_at=Subquery(latest.values("created_at")[:1]),
        )
    )


@role_required(Role.MANAGER)
def manager_queue(request: HttpRequest) -> HttpResponse:
    levels = {level.rank: level for level in EscalationLevel.objects.all()}
    manager_ranks = [rank for rank, level in levels.items() if level.is_manager_facing]
    # Without a manager-facing level nothing is shown (rank beyond any ladder).
    first_rank = min(manager_ranks) if manager_ranks else 10**4
    after = Cursor.decode(request.GET.get("after", ""), size=2) if request.GET.get("after") else None
    page = keyset_page(
        manager_queue_queryset(first_rank),
        {"breached_at": BREACHED_AT, "submitted_at": F("submitted_at")},
        after,
    )
    reasons = dict(Escalation._meta.get_field("reason").choices)
    for complaint in page.rows:
        complaint.level_obj = levels.get(complaint.escalation_level)
        complaint.reason_label = reasons.get(complaint.escalation_reason, "")
        if complaint.breached_at == FAR_FUTURE:  # moved up by a person, no deadline missed
            complaint.breached_at = None
    context = {
        "rows": page.rows,
        "next_query": f"after={page.next_cursor}" if page.next_cursor else None,
        "is_later_page": after is not None,
        "staff_options": staff_options(),
        "now": timezone.now(),
    }
    return render(request, "escalation/manager_queue.html", context)
