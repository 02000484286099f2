"""The managers' SLA dashboard: a few aggregate queries (the charts are drawn in staff.charts).

On PostgreSQL the counts come from the tallies the database keeps as complaints change
(complaints.tallies): one query on a table of a few thousand rows, whatever the size of the
complaints table and the window. Where no tallies are kept (SQLite, the embedded default, or
tallies kept in another time zone than settings.TIME_ZONE), every figure is counted from the
complaints by the database (GROUP BY week and category, conditional counts), each query on
an index:

1. targets met per category and week of submission: a range of `complaint_submitted_idx`
   (the window's weeks only, never the whole table);
2. breaches per week: `complaint_fr_breached_idx` and `complaint_res_breached_idx`, two
   small partial indexes scanned index-only, in one UNION ALL;
3. open complaints per level: `complaint_open_level_idx`, a partial index on the open
   statuses scanned index-only;
4. the causes of the complaints resolved in the window, per category, cause and week of
   resolution (a Pareto per category, and each cause's trend).

Either way, the ladder and the categories are named from this process's copies (common.kept).

Weeks are ISO weeks (Monday to Sunday) in settings.TIME_ZONE, the portal's working time
zone, whatever the viewer's language.

A target is *decided* once it was met or missed: for the first response, the complaint was
answered or the answer's deadline was flagged as missed; for the resolution, it was resolved
or its deadline was flagged as missed. It was *met* when it was decided without a breach and
in time (answered or resolved at or before the stored deadline, which pauses moved). The share
shown is met / decided among the complaints submitted that week; complaints without a target
(no SLA policy) and those still undecided are left out, and `n` (decided) is shown beside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, DateField, F, Q, Value
from django.db.models.functions import TruncWeek

from complaints import tallies
from complaints.models import QUEUE_STATUSES, Complaint, TallyKind
from complaints.selectors import cached_categories, cached_causes
from escalation.standing import level_names

WEEK_CHOICES = (4, 12, 26)
DEFAULT_WEEKS = 12

FIRST_RESPONSE = "first_response"
RESOLUTION = "resolution"

# The conditions of the definitions above, as SQL filters of conditional counts.
FIRST_RESPONSE_DECIDED = Q(first_response_due_at__isnull=False) & (
    Q(first_responded_at__isnull=False) | Q(first_response_breached_at__isnull=False)
)
FIRST_RESPONSE_MET = Q(
    first_response_breached_at__isnull=True, first_responded_at__lte=F("first_response_due_at")
)
RESOLUTION_DECIDED = Q(resolution_due_at__isnull=False) & (
    Q(resolved_at__isnull=False) | Q(resolution_breached_at__isnull=False)
)
RESOLUTION_MET = Q(resolution_breached_at__isnull=True, resolved_at__lte=F("resolution_due_at"))


def portal_time_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def week_starts(*, now: datetime, weeks: int) -> list[date]:
    """The Mondays (in the portal's time zone) of the last `weeks` ISO weeks, oldest first,
    the current (partial) week last."""
    today = now.astimezone(portal_time_zone()).date()
    monday = today - timedelta(days=today.weekday())
    return [monday - timedelta(weeks=back) for back in range(weeks - 1, -1, -1)]


def start_of(day: date) -> datetime:
    """Midnight at the start of `day` in the portal's time zone (aware)."""
    return datetime.combine(day, time.min, tzinfo=portal_time_zone())


# --- Figures --------------------------------------------------------------------------


@dataclass(frozen=True)
class Share:
    """Met out of decided; `percent` is None when nothing was decided."""

    met: int
    decided: int

    @property
    def percent(self) -> float | None:
        return None if not self.decided else 100 * self.met / self.decided

    @property
    def missed(self) -> int:
        return self.decided - self.met


@dataclass
class WeekFigures:
    week: date
    submitted: int = 0
    first_response: Share = Share(0, 0)
    resolution: Share = Share(0, 0)


@dataclass
class CategoryRow:
    category_id: int
    name: str
    weeks: list[WeekFigures]


@dataclass(frozen=True)
class LevelCount:
    rank: int
    name: str
    open: int


@dataclass(frozen=True)
class BreachWeek:
    week: date
    first_response: int
    resolution: int


@dataclass(frozen=True)
class WeekRow:
    """One week across the categories (the tables under the charts), newest first."""

    week: date
    cells: list[WeekFigures]
    total: WeekFigures


@dataclass
class CauseRow:
    """One cause of a category's resolved complaints: how many per week of the window, its
    share of the category's, and the share of it and the causes above it (the Pareto line)."""

    cause_id: int
    name: str
    weeks: list[int]
    share: float = 0.0
    cumulative: float = 0.0

    @property
    def count(self) -> int:
        return sum(self.weeks)

    @property
    def earlier(self) -> int:
        """Resolved in the first half of the window."""
        return sum(self.weeks[: len(self.weeks) // 2])

    @property
    def later(self) -> int:
        """Resolved in the second half of the window (the current week included)."""
        return sum(self.weeks[len(self.weeks) // 2 :])

    @property
    def trend(self) -> str:
        return "rising" if self.later > self.earlier else "falling" if self.later < self.earlier else "steady"


@dataclass
class CausePareto:
    category_id: int
    name: str
    rows: list[CauseRow]

    @property
    def total(self) -> int:
        return sum(row.count for row in self.rows)


@dataclass
class Dashboard:
    weeks: list[date]
    start: datetime
    categories: list[CategoryRow]
    levels: list[LevelCount]
    breaches: list[BreachWeek]
    totals: list[WeekFigures] = field(default_factory=list)
    causes: list[CausePareto] = field(default_factory=list)

    def week_rows(self) -> list[WeekRow]:
        return [
            WeekRow(week=week, cells=[row.weeks[i] for row in self.categories], total=self.totals[i])
            for i, week in reversed(list(enumerate(self.weeks)))
        ]

    @property
    def open_total(self) -> int:
        return sum(level.open for level in self.levels)


def _week(field_name: str) -> TruncWeek:
    # A date (the Monday) in the portal's time zone, not the viewer's.
    return TruncWeek(field_name, tzinfo=portal_time_zone(), output_field=DateField())


def weekly_targets(*, start: datetime) -> list[dict]:
    """Per (category, week of submission) since `start`: submitted, and met/decided counts of
    both targets. One query on a range of complaint_submitted_idx."""
    return list(
        Complaint.objects.filter(submitted_at__gte=start)
        .annotate(week=_week("submitted_at"))
        .values("category_id", "week")
        .annotate(
            submitted=Count("*"),
            fr_decided=Count("pk", filter=FIRST_RESPONSE_DECIDED),
            fr_met=Count("pk", filter=FIRST_RESPONSE_DECIDED & FIRST_RESPONSE_MET),
            res_decided=Count("pk", filter=RESOLUTION_DECIDED),
            res_met=Count("pk", filter=RESOLUTION_DECIDED & RESOLUTION_MET),
        )
        .order_by()
    )


def weekly_breaches(*, start: datetime) -> list[dict]:
    """Per week of the breach since `start`: how many first-response and resolution deadlines
    were flagged as missed. One query (UNION ALL), each half index-only on its partial index."""
    halves = [
        Complaint.objects.filter(**{f"{column}__gte": start})
        .annotate(week=_week(column), kind=Value(kind))
        .values("kind", "week")
        .annotate(n=Count("*"))
        .order_by()
        for kind, column in (
            (FIRST_RESPONSE, "first_response_breached_at"),
            (RESOLUTION, "resolution_breached_at"),
        )
    ]
    return list(halves[0].union(halves[1], all=True))


def weekly_causes(*, start: datetime) -> list[dict]:
    """Per (category, cause, week of resolution) since `start`: the complaints resolved with
    that cause and still resolved (a dispute takes one back until it is resolved again). One
    query (the fallback where no tallies are kept: SQLite's small databases)."""
    return list(
        Complaint.objects.filter(resolved_at__gte=start, cause_id__isnull=False)
        .annotate(week=_week("resolved_at"))
        .values("category_id", "cause_id", "week")
        .annotate(n=Count("*"))
        .order_by()
    )


def open_per_level() -> dict[int, int]:
    """Open complaints (the queue statuses) per escalation level: one index-only scan of
    complaint_open_level_idx, never a count of the whole table."""
    return dict(
        Complaint.objects.filter(status__in=QUEUE_STATUSES)
        .values("escalation_level")
        .annotate(n=Count("*"))
        .order_by()
        .values_list("escalation_level", "n")
    )


BREACH_KINDS = {TallyKind.FIRST_RESPONSE_BREACHES: FIRST_RESPONSE, TallyKind.RESOLUTION_BREACHES: RESOLUTION}


def counted(*, mondays: list[date]) -> tuple[list[dict], list[dict], dict[int, int], list[dict]]:
    """The targets, breaches, open complaints per level and causes of resolved complaints: from
    the tallies PostgreSQL keeps (one query on a small table, complaints.tallies), or from the
    complaints themselves where none are kept in the portal's time zone (four queries, above).
    The same figures."""
    sums = tallies.read(since=mondays[0], time_zone=settings.TIME_ZONE)
    if sums is None:
        start = start_of(mondays[0])
        return (
            weekly_targets(start=start),
            weekly_breaches(start=start),
            open_per_level(),
            weekly_causes(start=start),
        )
    breaches = [
        {"kind": BREACH_KINDS[row["kind"]], "week": row["week"], "n": row["n"]} for row in sums.breaches
    ]
    return sums.targets, breaches, sums.open, sums.causes


def build_dashboard(*, now: datetime, weeks: int = DEFAULT_WEEKS) -> Dashboard:
    """All the dashboard's figures for the last `weeks` ISO weeks up to `now` (three queries
    where PostgreSQL keeps tallies, six otherwise)."""
    mondays = week_starts(now=now, weeks=weeks)
    start = start_of(mondays[0])
    target_rows, breach_rows, open_counts, cause_rows = counted(mondays=mondays)

    targets: dict[tuple[int, date], WeekFigures] = {}
    for row in target_rows:
        targets[row["category_id"], row["week"]] = WeekFigures(
            week=row["week"],
            submitted=row["submitted"],
            first_response=Share(row["fr_met"], row["fr_decided"]),
            resolution=Share(row["res_met"], row["res_decided"]),
        )
    breach_counts: dict[tuple[str, date], int] = {(row["kind"], row["week"]): row["n"] for row in breach_rows}
    seen_categories = {category_id for category_id, _week in targets}
    categories = [
        CategoryRow(
            category_id=category.pk,
            name=category.name,
            weeks=[targets.get((category.pk, monday), WeekFigures(week=monday)) for monday in mondays],
        )
        for category in cached_categories()
        if category.is_active or category.pk in seen_categories
    ]
    totals = [
        WeekFigures(
            week=monday,
            submitted=sum(row.weeks[i].submitted for row in categories),
            first_response=_sum_shares(row.weeks[i].first_response for row in categories),
            resolution=_sum_shares(row.weeks[i].resolution for row in categories),
        )
        for i, monday in enumerate(mondays)
    ]
    names = level_names()
    levels = [
        LevelCount(rank=rank, name=names.get(rank, str(rank)), open=open_counts.get(rank, 0))
        for rank in sorted(set(names) | set(open_counts))
    ]
    breaches = [
        BreachWeek(
            week=monday,
            first_response=breach_counts.get((FIRST_RESPONSE, monday), 0),
            resolution=breach_counts.get((RESOLUTION, monday), 0),
        )
        for monday in mondays
    ]
    return Dashboard(
        weeks=mondays,
        start=start,
        categories=categories,
        levels=levels,
        breaches=breaches,
        totals=totals,
        causes=cause_paretos(cause_rows, mondays),
    )


def cause_paretos(rows: list[dict], mondays: list[date]) -> list[CausePareto]:
    """The causes of each category's resolved complaints, most frequent first, with each one's
    share, the running (Pareto) share, and its count per week of the window."""
    causes = cached_causes()
    counts: dict[int, dict[int, list[int]]] = {}
    position = {monday: i for i, monday in enumerate(mondays)}
    for row in rows:
        if row["week"] not in position or not row["n"]:
            continue
        weeks = counts.setdefault(row["category_id"], {}).setdefault(row["cause_id"], [0] * len(mondays))
        weeks[position[row["week"]]] += row["n"]
    paretos = []
    for category in cached_categories():
        found = counts.get(category.pk)
        if not found:
            continue
        cause_rows = sorted(
            (
                CauseRow(
                    cause_id=cause_id, name=causes[cause_id].name if cause_id in causes else "?", weeks=weeks
                )
                for cause_id, weeks in found.items()
            ),
            key=lambda row: (-row.count, row.name),
        )
        total, running = sum(row.count for row in cause_rows), 0
        for row in cause_rows:
            running += row.count
            row.share, row.cumulative = 100 * row.count / total, 100 * running / total
        paretos.append(CausePareto(category_id=category.pk, name=category.name, rows=cause_rows))
    return paretos


def _sum_shares(shares) -> Share:
    met = decided = 0
    for share in shares:
        met += share.met
        decided += share.decided
    return Share(met, decided)
