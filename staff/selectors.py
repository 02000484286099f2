"""What the staff pages read: the queues, the choices of the case page's forms, the export's rows.

The queues are keyset pages (`common.paging`): the agents' queue nearest deadline first,
paged by (deadline, id), the managers' oldest breach first, each on an index in that
order (Complaint.Meta.indexes), so a page 200 deep costs what the first does and
nothing counts the whole queue.
"""

from __future__ import annotations

from collections import namedtuple
from datetime import date, datetime, time, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import CharField, Count, F, IntegerField, Min, QuerySet, Value
from django.utils import translation
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from accounts.models import NAME_FIELDS, STAFF_ROLES, active_staff, name_shown
from common.kept import ProcessCopy
from common.markup import escaped
from common.paging import Cursor, Page, keyset_page
from complaints.models import (
    BREACHED_AT,
    QUEUE_DUE,
    QUEUE_STATUSES,
    CannedReply,
    Complaint,
    Incident,
    Status,
    Subcategory,
    in_language,
    localized,
)
from complaints.related import find_related
from complaints.search import fold
from complaints.selectors import name_categories
from escalation.models import REGULATORY_BREACHED, REGULATORY_DUE, REGULATORY_MET, REGULATORY_WARNED
from escalation.policies import regime_rules
from escalation.standing import latest_moves_up, standing

TABS = {
    "mine": _("Mine"),
    "unassigned": _("Unassigned"),
    "team": _("My team's"),
}


# --- The agents' queue --------------------------------------------------------------------------


def queue_queryset(
    user: Any, tab: str, filters: dict[str, Any], *, statuses: tuple[str, ...] | None = QUEUE_STATUSES
) -> QuerySet[Complaint]:
    """The cases of a tab with the filters applied, nearest deadline first; of `statuses` (None:
    of any status, as a search's results are linked to an incident: the ended ones refused)."""
    queryset = Complaint.objects.all() if statuses is None else Complaint.objects.filter(status__in=statuses)
    queryset = queryset.annotate(due=QUEUE_DUE)
    if tab == "mine":
        queryset = queryset.filter(assignee=user)
    elif tab == "unassigned":
        queryset = queryset.filter(assignee__isnull=True)
    else:  # the team: cases assigned to anyone sharing one of my staff groups
        queryset = queryset.filter(assignee__in=teammate_ids(user))
    queryset = queryset.matching(filters)
    if filters.get("q"):
        queryset = queryset.filter(search_text__contains=fold(filters["q"]))
    return queryset.order_by("due", "id")


def teammate_ids(user: Any) -> list[int]:
    """The active accounts sharing one of `user`'s staff groups, as a list: given so, the
    queue's query lets PostgreSQL weigh how many cases they hold (as a subquery it guessed a
    handful and walked every case of the team: half a second at a million). From this
    process's copy of who holds each staff role, read again when staff change."""
    my_roles = user.role_names() & STAFF_ROLES  # read once a request, by the role checks
    holders = _role_holders.get()
    return sorted(set().union(*(holders.get(role, ()) for role in my_roles)))


def _read_role_holders() -> dict[str, frozenset[int]]:
    """The active accounts holding each staff role, by role."""
    holders: dict[str, set[int]] = {}
    memberships = get_user_model().groups.through.objects.filter(
        group__name__in=STAFF_ROLES, user__is_active=True
    )
    for role, user_id in memberships.values_list("group__name", "user_id"):
        holders.setdefault(role, set()).add(user_id)
    return {role: frozenset(ids) for role, ids in holders.items()}


# Kept in this process until someone's roles or state change (accounts.models.staff_changed).
_role_holders = ProcessCopy(_read_role_holders)


def queue_page(user: Any, tab: str, filters: dict[str, Any], after: Cursor | None) -> Page:
    """One page of the tab starting after `after`, with the cursor of the next one."""
    queryset = queue_queryset(user, tab, filters).select_related("assignee").only(*QUEUE_ROW)
    page = keyset_page(queryset, {"due": QUEUE_DUE}, after)
    name_categories(page.rows)
    return page


# What sla_state reads of a case (beside its status and the QUEUE_DUE annotation).
SLA_COLUMNS = (
    "first_responded_at",
    "first_response_warned_at",
    "first_response_breached_at",
    "resolution_warned_at",
    "resolution_breached_at",
    # A regime's deadlines (outside a regime all NULL): when due, met, warned of, missed; and the
    # regime, whose rules say which of them a wait for the complainant pauses.
    "regime",
    *REGULATORY_DUE.values(),
    *(column for column in REGULATORY_MET.values() if column != "submitted_at"),
    *REGULATORY_WARNED.values(),
    *REGULATORY_BREACHED.values(),
)
# What a row of the agents' queue shows (sla_state's fields included), and nothing more: a
# complaint has some fifty columns, each read, converted and set on every row's instance.
QUEUE_ROW = (
    "reference",
    "subject",
    "complexity",
    "status",
    "incomplete_since",
    "escalation_level",
    "submitted_at",
    "version",
    *SLA_COLUMNS,
    "category",  # named from this process's copy (name_categories)
    *(f"assignee__{name}" for name in NAME_FIELDS),
)


def sla_state(complaint: Complaint, now: datetime) -> tuple[str, timedelta | None]:
    """("breached", time over) / ("warning", time left) / ("on_track", time left) / ("paused", None).

    A regime's deadline counts as the service's do: missed (its breach recorded), the case is
    breached, over since the first one missed; warned of and neither met nor missed, it is a
    warning, with the time left to the nearer of it and the service's next deadline.

    A case waiting for the complainant is paused, unless a regime deadline the wait does not
    stop is missed or warned of and not met: that clock still runs, and the badge says so.
    """
    if complaint.status == Status.AWAITING_COMPLAINANT:
        return _running_through_the_wait(complaint, now)
    due = complaint.due if complaint.due.year < 9999 else None
    if complaint.first_response_breached_at or complaint.resolution_breached_at or (due and due <= now):
        return "breached", (now - due) if due else None
    missed = [getattr(complaint, column) for column in REGULATORY_BREACHED.values()]
    if any(missed):
        return "breached", now - min(moment for moment in missed if moment)
    warned = complaint.first_response_warned_at if complaint.first_responded_at is None else None
    warned = warned or complaint.resolution_warned_at
    # A regime's deadline warned of and not met (a missed one returned above): due when?
    regime_due = [
        getattr(complaint, REGULATORY_DUE[kind])
        for kind, column in REGULATORY_WARNED.items()
        if getattr(complaint, column) and getattr(complaint, REGULATORY_MET[kind]) is None
    ]
    if regime_due:
        nearest = min((moment for moment in [*regime_due, due] if moment), default=None)
        return "warning", (nearest - now) if nearest else None
    return ("warning" if warned else "on_track"), (due - now) if due else None


def _running_through_the_wait(complaint: Complaint, now: datetime) -> tuple[str, timedelta | None]:
    """The SLA state of a case waiting for the complainant: "paused", unless a regime deadline
    the regime does not let a pause stop, not met, was missed (breached) or warned of (warning)."""
    rules = regime_rules(complaint.regime_id)
    if rules is None:
        return "paused", None
    running = [
        kind
        for kind in REGULATORY_DUE
        if kind not in rules.pausable and getattr(complaint, REGULATORY_MET[kind]) is None
    ]
    missed = [moment for kind in running if (moment := getattr(complaint, REGULATORY_BREACHED[kind]))]
    if missed:
        return "breached", now - min(missed)
    warned = [
        due
        for kind in running
        if getattr(complaint, REGULATORY_WARNED[kind]) and (due := getattr(complaint, REGULATORY_DUE[kind]))
    ]
    if warned:
        return "warning", min(warned) - now
    return "paused", None


def _staff_options() -> str:
    people = active_staff().values_list("pk", *NAME_FIELDS)  # columns, not accounts
    return mark_safe(  # noqa: S308 - the names escaped, the ids integers
        "".join(f'<option value="{pk}">{escaped(name_shown(*names))}</option>' for pk, *names in people)
    )


# Kept in this process until someone's roles, name or state change (accounts.models.staff_changed).
_staff = ProcessCopy(_staff_options)


def staff_options() -> str:
    """The <option>s of active staff, by name: whom a case can be assigned to. Written once a
    change per process, not once per page (nor per row)."""
    return _staff.get()


# --- The managers' queue ------------------------------------------------------------------------

# Without a manager-facing level nothing is shown: a rank beyond any ladder.
NO_MANAGER_LEVEL = 10**4


# What a row of the managers' queue shows, its standing's fields included.
MANAGER_QUEUE_ROW = (
    "reference",
    "subject",
    "escalation_level",
    "submitted_at",
    "version",
    "first_response_breached_at",
    "resolution_breached_at",
    "acknowledge_breached_at",
    "accept_breached_at",
    "final_response_breached_at",
    "category",  # both named from this process's copy (name_categories)
    "subcategory",
    *(f"assignee__{name}" for name in NAME_FIELDS),
)


def manager_queue_queryset(first_rank: int) -> QuerySet[Complaint]:
    """Escalated open cases from `first_rank` up, oldest breach first."""
    return Complaint.objects.escalated_to(first_rank).select_related("assignee").only(*MANAGER_QUEUE_ROW)


def manager_queue_page(first_rank: int, after: Cursor | None, levels: dict) -> Page:
    """One page of the managers' queue, oldest breach first, starting after `after`, each row
    with its standing (`escalation.standing`): the latest moves up of the page's cases are read
    in one query beside it."""
    page = keyset_page(
        manager_queue_queryset(first_rank),
        {"breached_at": BREACHED_AT, "submitted_at": F("submitted_at")},
        after,
    )
    name_categories(page.rows)
    latest = latest_moves_up([complaint.pk for complaint in page.rows])
    for complaint in page.rows:
        complaint.standing = standing(complaint, latest.get(complaint.pk), levels)
    return page


# --- The case page's forms ------------------------------------------------------------------------


class CannedChoice(NamedTuple):
    """A canned reply as the reply form offers it: its title in the reader's language, and its
    text in the complainant's."""

    id: int
    title: str
    text: str


class SubcategoryChoice(NamedTuple):
    """A subcategory as the reclassify form offers it, under its category's name."""

    id: int
    name: str
    category_id: int
    category_name: str


# The columns both sides of the choices' UNION give, in this order (SQL pairs them by
# position): a canned reply's title and texts, or a subcategory's names and its category's.
_ChoiceRow = namedtuple(
    "_ChoiceRow", "kind id name_vi name_en detail_vi detail_en position parent_id parent_position"
)


def _choice_rows() -> tuple[list[_ChoiceRow], list[_ChoiceRow]]:
    """The active canned replies and the active subcategories, each in their order, read in
    one query (UNION ALL)."""
    text, number = CharField(), IntegerField()
    canned = (
        CannedReply.objects.filter(active=True)
        .order_by()
        .values_list(
            Value("canned", output_field=text),
            "pk",
            "title_vi",
            "title_en",
            "body_vi",
            "body_en",
            "ordering",
            Value(0, output_field=number),
            Value(0, output_field=number),
        )
    )
    subcategories = (
        Subcategory.objects.filter(is_active=True, category__is_active=True)
        .order_by()
        .values_list(
            Value("subcategory", output_field=text),
            "pk",
            "name_vi",
            "name_en",
            "category__name_vi",
            "category__name_en",
            "position",
            "category_id",
            "category__position",
        )
    )
    rows = [_ChoiceRow._make(row) for row in canned.union(subcategories, all=True)]
    replies = sorted((row for row in rows if row.kind == "canned"), key=lambda row: (row.position, row.id))
    subs = sorted(
        (row for row in rows if row.kind == "subcategory"),
        key=lambda row: (row.parent_position, row.parent_id, row.position, row.id),
    )
    return replies, subs


# Kept in this process until one of them changes (common.kept).
_choices = ProcessCopy(_choice_rows)


def case_form_choices(*, language: str) -> tuple[list[CannedChoice], list[SubcategoryChoice]]:
    """The active canned replies (titles in the reader's active language, texts in `language`)
    and the active subcategories that the staff forms of a case page offer, in their order;
    read once a change (or a minute) per process, with the filing form's subcategories.
    """
    replies, subs = _choices.get()
    return (
        [
            CannedChoice(
                row.id,
                in_language(translation.get_language() or "", row.name_vi, row.name_en),
                in_language(language, row.detail_vi, row.detail_en),
            )
            for row in replies
        ],
        [
            SubcategoryChoice(
                row.id,
                localized(row.name_vi, row.name_en),
                row.parent_id,
                localized(row.detail_vi, row.detail_en),
            )
            for row in subs
        ],
    )


# --- The export ---------------------------------------------------------------------------------


def _start_of(day: date) -> datetime:
    # Dates are days in the portal's time zone, as staff see them on every page.
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(settings.TIME_ZONE))


def filtered_complaints(filters: dict) -> QuerySet[Complaint]:
    """The complaints matching the cleaned export filters, oldest submission first."""
    complaints = Complaint.objects.all()
    if filters.get("submitted_from"):
        complaints = complaints.filter(submitted_at__gte=_start_of(filters["submitted_from"]))
    # Inclusive: up to the end of that day (the calendar's last day has no next day to add).
    if filters.get("submitted_to") and filters["submitted_to"] < date.max:
        complaints = complaints.filter(
            submitted_at__lt=_start_of(filters["submitted_to"] + timedelta(days=1))
        )
    return complaints.matching(filters).order_by("submitted_at", "pk")


# --- Incidents ------------------------------------------------------------------------------------


def incident_list() -> QuerySet[Incident]:
    """Incidents for the staff list: open ones first, then the latest resolved, newest first."""
    # "open" sorts before "resolved".
    return Incident.objects.annotate(linked=Count("complaints")).order_by("status", "-started_at", "-pk")[
        :200
    ]


class SearchOutline(NamedTuple):
    """What a queue search's results have most in common: the incident declared from them starts
    from it."""

    count: int
    category_id: int
    provider_name: str
    first_submitted_at: datetime


def search_outline(cases: QuerySet[Complaint]) -> SearchOutline | None:
    """How many cases a search finds, the category and the service (as written) most of them name
    (the lowest id and the first spelling on a tie) and when the first was filed; None if it finds
    none. Three aggregate reads, whatever their number."""
    cases = cases.order_by()
    summary = cases.aggregate(count=Count("id"), first=Min("submitted_at"))
    if not summary["count"]:
        return None

    def most(name: str) -> Any:
        ranked = cases.values(name).annotate(share=Count("id")).order_by("-share", name)
        return ranked.values_list(name, flat=True)[0]

    return SearchOutline(summary["count"], most("category_id"), most("provider_name"), summary["first"])


# How many of an incident's linked cases its staff page lists.
LINKED_SHOWN = 200


def linked_cases(incident: Incident) -> tuple[list[Complaint], int]:
    """The first LINKED_SHOWN cases linked to the incident (by id) and how many there are."""
    linked = Complaint.objects.filter(incident=incident)
    rows = list(linked.order_by("id").only("reference", "subject", "status", "submitted_at")[:LINKED_SHOWN])
    return rows, (len(rows) if len(rows) < LINKED_SHOWN else linked.count())


# --- Related and linked cases (the case page) -----------------------------------------------------

# What a row of a case's related or linked cases shows: the case, its SLA state, its incident.
RELATED_ROW = (
    "reference",
    "subject",
    "status",
    "submitted_at",
    "provider_name",
    *SLA_COLUMNS,
    "incident__slug",
    "incident__title_vi",
    "incident__title_en",
    "incident__status",
)


def related_and_linked(complaint: Complaint, *, now: datetime) -> tuple[list[Complaint], list[Complaint]]:
    """The cases related to `complaint` (complaints.related), best first, each with why
    (`relatedness`), and the cases linked to it, newest first; each with its SLA state (`sla`,
    `sla_delta`; None once resolved) and incident. Two queries (one on finding none): the
    candidates', and the rows."""
    found = find_related(complaint)
    ids = [item.id for item in found.related] + found.linked
    if not ids:
        return [], []
    rows = {
        row.pk: row
        for row in Complaint.objects.filter(pk__in=ids)
        .annotate(due=QUEUE_DUE)
        .select_related("incident")
        .only(*RELATED_ROW)
    }
    for row in rows.values():
        # Only a case still being handled has a clock running: a resolved or ended one shows none.
        row.sla, row.sla_delta = sla_state(row, now) if row.status in QUEUE_STATUSES else (None, None)
    related = []
    for item in found.related:
        if (row := rows.get(item.id)) is not None:
            row.relatedness = item
            related.append(row)
    linked = sorted((rows[pk] for pk in found.linked if pk in rows), key=lambda row: row.submitted_at)
    return related, linked[::-1]
