"""The agents' queue: open cases nearest deadline first, paged by (deadline, id).

Keyset paging keeps a page 200 deep as cheap as the first: each page starts after the
last (deadline, id) seen, on an index in that order (Complaint.Meta.indexes). Nothing
counts the whole queue.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import F, QuerySet
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _

from accounts.models import STAFF_ROLES, active_staff
from complaints.models import QUEUE_DUE, QUEUE_STATUSES, Category, Complaint, Complexity, Status
from complaints.search import fold

PAGE_SIZE = 25
TABS = {
    "mine": _("Mine"),
    "unassigned": _("Unassigned"),
    "team": _("My team's"),
}


class QueueFilterForm(forms.Form):
    """Filters of the queue; every field optional, every value checked."""

    q = forms.CharField(label=_("Search"), required=False, max_length=200, strip=True)
    category = forms.ModelChoiceField(
        label=_("Category"), queryset=Category.objects.all(), required=False, empty_label=_("Any")
    )
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Any"))] + [(s.value, s.label) for s in Status if s in QUEUE_STATUSES],
    )
    complexity = forms.ChoiceField(
        label=_("Complexity"), required=False, choices=[("", _("Any")), *Complexity.choices]
    )
    level = forms.IntegerField(label=_("Level"), required=False, min_value=0, max_value=100)
    breached = forms.BooleanField(label=_("Breached only"), required=False)


@dataclass(frozen=True)
class Cursor:
    """Where a page starts: after the row whose sort key is (*moments, id)."""

    moments: tuple[datetime, ...]
    id: int

    def encode(self) -> str:
        parts = [str((moment - EPOCH) // timedelta(microseconds=1)) for moment in self.moments]
        raw = ".".join([*parts, str(self.id)])
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str, size: int = 1) -> Cursor | None:
        """The cursor in a link, or None if it is not one (a hand-edited URL starts over)."""
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
            *micros, pk = (int(part) for part in raw.split("."))
            if len(micros) != size:
                return None
            return cls(tuple(EPOCH + timedelta(microseconds=m) for m in micros), pk)
        except (ValueError, OverflowError, UnicodeDecodeError):
            return None

    def after(self, *keys: Any) -> TupleGreaterThan:
        """The condition "sorts after this cursor", as one row comparison, so the database
        starts its index scan at the cursor instead of skipping the pages before it."""
        return TupleGreaterThan(Tuple(*keys, F("id")), (*self.moments, self.id))


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class QueuePage:
    rows: list[Complaint]
    next_cursor: str | None


def queue_queryset(user: Any, tab: str, filters: dict[str, Any]) -> QuerySet[Complaint]:
    """The cases of a tab with the filters applied, nearest deadline first."""
    queryset = Complaint.objects.filter(status__in=QUEUE_STATUSES).annotate(due=QUEUE_DUE)
    if tab == "mine":
        queryset = queryset.filter(assignee=user)
    elif tab == "unassigned":
        queryset = queryset.filter(assignee__isnull=True)
    else:  # the team: cases assigned to anyone sharing one of my staff groups
        teammates = get_user_model().objects.filter(
            groups__in=user.groups.filter(name__in=STAFF_ROLES), is_active=True
        )
        queryset = queryset.filter(assignee__in=teammates.values("pk"))
    queryset = queryset.matching(filters)
    if filters.get("q"):
        queryset = queryset.filter(search_text__contains=fold(filters["q"]))
    return queryset.order_by("due", "id")


def queue_page(user: Any, tab: str, filters: dict[str, Any], after: Cursor | None) -> QueuePage:
    """One page of the tab starting after `after`, with the cursor of the next one."""
    queryset = queue_queryset(user, tab, filters).select_related("category", "assignee").defer(*LONG_TEXT)
    return keyset_page(queryset, {"due": QUEUE_DUE}, after)


# What no queue row shows: left out of the page's SELECT.
LONG_TEXT = ("description", "desired_outcome", "steps_taken", "search_text", "resolution_summary")


def keyset_page(
    queryset: QuerySet[Complaint], keys: dict[str, Any], after: Cursor | None, size: int = PAGE_SIZE
) -> QueuePage:
    """The `size` rows of `queryset` (ordered by the `keys` annotations, then id) after `after`.

    One more row than shown is read to know whether a next page exists: nothing is counted.
    """
    if after is not None:
        queryset = queryset.filter(after.after(*keys.values()))
    rows = list(queryset[: size + 1])
    if len(rows) <= size:
        return QueuePage(rows, None)
    rows = rows[:size]
    last = rows[-1]
    return QueuePage(rows, Cursor(tuple(getattr(last, name) for name in keys), last.pk).encode())


def sla_state(complaint: Complaint, now: datetime) -> tuple[str, timedelta | None]:
    """("breached", time over) / ("warning", time left) / ("on_track", time left) / ("paused", None)."""
    if complaint.status == Status.AWAITING_COMPLAINANT:
        return "paused", None
    due = complaint.due if complaint.due.year < 9999 else None
    if complaint.first_response_breached_at or complaint.resolution_breached_at or (due and due <= now):
        return "breached", (now - due) if due else None
    warned = complaint.first_response_warned_at if complaint.first_responded_at is None else None
    warned = warned or complaint.resolution_warned_at
    return ("warning" if warned else "on_track"), (due - now) if due else None


def staff_options() -> str:
    """The <option>s of active staff, by name: whom a case can be assigned to. Built once per
    page, not once per row."""
    return format_html_join(
        "", '<option value="{}">{}</option>', ((p.pk, p.display_name) for p in active_staff())
    )
