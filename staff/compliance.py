"""The managers' compliance report: per period and regime, the figures a regulator's return asks
for (the FCA's among them: complaints closed within 3 business days, within the regime's final
response deadline, and the share upheld), the deadlines missed and the letters sent late.

A period is a month, a quarter or a year, its days counted in the portal's time zone
(settings.TIME_ZONE), as the dashboard counts its weeks. Every figure is about the
complaints under a regime (`Complaint.regime`, set when the complaint was filed or
reclassified), one table per regime:

- *received*: submitted in the period;
- *acknowledged in time*: of those received with an acknowledgement deadline, acknowledged at
  or before it; *late*: acknowledged after it, or not acknowledged and the deadline passed;
  *pending*: not acknowledged, deadline still ahead;
- for each deadline the regime sets (acknowledge, accept, final response), the deadlines
  *decided* in the period: *met in time* (the date that meets it falls in the period, at or
  before the deadline, and no breach was recorded) and *missed* (the breach was recorded in
  the period; or, where the sweep recorded none, the date that met it falls in the period,
  after the deadline); the share is met in time / decided;
- *closed*: the final response was sent (`final_response_at`) in the period; of those, how
  many *within 3 business days* of receipt (before the end of the third working day after the
  day of receipt, on the regime's calendar, as `escalation.sla.add_days` counts a period),
  how many *within the regime's final response deadline* (at or before it, no breach
  recorded; only for a regime that sets one), and the share *upheld* (upheld in full or in
  part, `UPHELD_OUTCOMES`, among those closed with an outcome);
- *breaches*: each regulatory deadline whose breach was recorded in the period, with its
  complaint's reference (the list on the page is capped; the CSV has them all);
- *letters sent late*: the letters (timeline events `letter_sent`) recorded in the period whose
  e-mail (the notice whose Message-ID the event names) was sent after the deadline the letter serves (an
  acknowledgement: the acknowledgement deadline; a holding letter or the final response: the
  final response deadline), or is still unsent and the deadline has passed.

Cost: the figures are read from the tallies PostgreSQL keeps as complaints change
(complaints.report_tallies): one query on the tally table over the period's days, whatever the
size of the complaints table, and one for the acknowledgements still pending (not given, their
deadline ahead: a range of complaint_ack_pending_idx, as long as what is pending). Whether a
complaint closed within 3 business days is worked out from the days of receipt and of the
response the tallies keep for a response sent within report_tallies.RECENT_DAYS calendar days
of receipt: one pass over the regime's calendar gives every day's cut-off, and checks that no
later response could be within it (no RECENT_DAYS - 1 days in a row hold fewer than 3 working
days: Tết at its longest leaves 12); where that fails, or no tallies are kept (SQLite, another
time zone), every figure is counted from the complaints (`counted_figures`: one aggregate, and
the closed complaints grouped by day of receipt and of the response). Then one query for the
breaches (a range of each complaint_rg_*_miss_idx, the first LIST_CAP; their total is the
tallies'), and one for the late letters and one for their count (a range of
event_letter_sent_idx: the letters of the period).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import (
    Case,
    CharField,
    Count,
    DateTimeField,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import TruncDate
from django.utils import translation
from django.utils.translation import gettext as _

from complaints import report_tallies
from complaints.models import (
    STAFF_STATUS_LABELS,
    UPHELD_OUTCOMES,
    Complaint,
    ComplaintEvent,
    EventKind,
    Notification,
    Status,
)
from escalation import sla
from escalation.models import (
    REGULATORY_BREACHED,
    REGULATORY_DUE,
    REGULATORY_MET,
    DeadlineKind,
    LetterKind,
    Regime,
)
from escalation.policies import regime_rules
from staff.dashboard import portal_time_zone

# What the FCA's return counts as closed promptly: within 3 business days of receipt.
PROMPT_DAYS = 3
# The breaches and late letters listed on the page; the CSV lists them all.
LIST_CAP = 100

# --- Periods ---------------------------------------------------------------------------------

MONTH, QUARTER, YEAR = "month", "quarter", "year"
_PATTERNS = (
    (MONTH, re.compile(r"^(\d{4})-(\d{2})$")),
    (QUARTER, re.compile(r"^(\d{4})-Q([1-4])$", re.IGNORECASE)),
    (YEAR, re.compile(r"^(\d{4})$")),
)
FIRST_YEAR = 2000


@dataclass(frozen=True)
class Period:
    """A month, a quarter or a year: its first and last day, in the portal's time zone."""

    kind: str
    first: date
    last: date

    @property
    def code(self) -> str:
        if self.kind == MONTH:
            return f"{self.first:%Y-%m}"
        if self.kind == QUARTER:
            return f"{self.first.year}-Q{(self.first.month - 1) // 3 + 1}"
        return str(self.first.year)

    @property
    def label(self) -> str:
        if self.kind == MONTH:
            return _("Month %(month)d/%(year)d") % {"month": self.first.month, "year": self.first.year}
        if self.kind == QUARTER:
            return _("Quarter %(quarter)d/%(year)d") % {
                "quarter": (self.first.month - 1) // 3 + 1,
                "year": self.first.year,
            }
        return _("Year %(year)d") % {"year": self.first.year}

    @property
    def start(self) -> datetime:
        """The period's first moment (aware)."""
        return datetime.combine(self.first, time.min, tzinfo=portal_time_zone())

    @property
    def end(self) -> datetime:
        """The moment after the period (aware): midnight after its last day."""
        return datetime.combine(self.last + timedelta(days=1), time.min, tzinfo=portal_time_zone())

    def contains(self, day: date) -> bool:
        return self.first <= day <= self.last


def month(year: int, number: int) -> Period:
    first = date(year, number, 1)
    following = date(year + number // 12, number % 12 + 1, 1)
    return Period(MONTH, first, following - timedelta(days=1))


def quarter(year: int, number: int) -> Period:
    first = date(year, 3 * number - 2, 1)
    return Period(QUARTER, first, month(year, 3 * number).last)


def year(number: int) -> Period:
    return Period(YEAR, date(number, 1, 1), date(number, 12, 31))


def parse_period(code: str) -> Period | None:
    """The period a code names (`2026-02`, `2026-Q1`, `2026`), or None if it names none."""
    for kind, pattern in _PATTERNS:
        found = pattern.match(code.strip())
        if found is None:
            continue
        number = int(found.group(1))
        if number < FIRST_YEAR or number > 9998:
            return None
        if kind == MONTH:
            part = int(found.group(2))
            return month(number, part) if 1 <= part <= 12 else None
        return quarter(number, int(found.group(2))) if kind == QUARTER else year(number)
    return None


def last_full_month(today: date) -> Period:
    previous = today.replace(day=1) - timedelta(days=1)
    return month(previous.year, previous.month)


def recent_periods(today: date) -> list[Period]:
    """What the period select offers, newest first: the current year and the two before, the
    last eight quarters and the last 24 months (the current ones still running)."""
    years = [year(today.year - back) for back in range(3)]
    this_quarter = (today.month - 1) // 3  # 0-based
    quarters = []
    for back in range(8):
        n = today.year * 4 + this_quarter - back
        quarters.append(quarter(n // 4, n % 4 + 1))
    months = []
    for back in range(24):
        n = today.year * 12 + today.month - 1 - back
        months.append(month(n // 12, n % 12 + 1))
    return years + quarters + months


# --- Figures -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Share:
    """`part` out of `whole`; `percent` is None when the whole is nothing."""

    part: int
    whole: int

    @property
    def percent(self) -> float | None:
        return None if not self.whole else 100 * self.part / self.whole


@dataclass(frozen=True)
class DeadlineFigures:
    kind: str
    label: str
    met: int
    missed: int

    @property
    def decided(self) -> int:
        return self.met + self.missed

    @property
    def share(self) -> Share:
        return Share(self.met, self.decided)


@dataclass
class RegimeFigures:
    regime: Regime
    received: int = 0
    # Of those received with an acknowledgement deadline:
    acknowledge_due: int = 0
    acknowledged_in_time: int = 0
    acknowledged_late: int = 0
    acknowledge_pending: int = 0
    deadlines: list[DeadlineFigures] = field(default_factory=list)
    closed: int = 0
    closed_promptly: int = 0
    # None where the regime sets no final response deadline.
    closed_in_deadline: int | None = None
    closed_with_outcome: int = 0
    upheld: int = 0
    breaches: int = 0
    late_letters: int = 0

    @property
    def acknowledged_share(self) -> Share:
        return Share(self.acknowledged_in_time, self.acknowledge_due)

    @property
    def prompt_share(self) -> Share:
        return Share(self.closed_promptly, self.closed)

    @property
    def in_deadline_share(self) -> Share | None:
        return None if self.closed_in_deadline is None else Share(self.closed_in_deadline, self.closed)

    @property
    def upheld_share(self) -> Share:
        return Share(self.upheld, self.closed_with_outcome)

    @property
    def has_activity(self) -> bool:
        return bool(
            self.received
            or self.closed
            or self.breaches
            or self.late_letters
            or any(d.decided for d in self.deadlines)
        )


@dataclass(frozen=True)
class Breach:
    reference: str
    regime_id: int
    kind: str
    due_at: datetime | None
    breached_at: datetime
    status: str

    regime_name: str = ""

    @property
    def kind_label(self) -> str:
        return str(DeadlineKind(self.kind).label)

    @property
    def status_label(self) -> str:
        return str(STAFF_STATUS_LABELS.get(self.status, Status(self.status).label))


@dataclass(frozen=True)
class LateLetter:
    reference: str
    regime_id: int
    letter: str
    due_at: datetime
    recorded_at: datetime
    sent_at: datetime | None

    @property
    def letter_label(self) -> str:
        return str(LetterKind(self.letter).label) if self.letter in LetterKind.values else self.letter


@dataclass
class ComplianceReport:
    period: Period
    regimes: list[RegimeFigures]
    breaches: list[Breach]
    breach_total: int
    late_letters: list[LateLetter]
    late_letter_total: int


def _in(column: str, period: Period) -> Q:
    return Q(**{f"{column}__gte": period.start, f"{column}__lt": period.end})


def _deadline_conditions(kind: str, period: Period) -> tuple[Q, Q, Q]:
    """(met in time, missed, breach recorded) in the period, for one kind of deadline."""
    due, met_at, breached = REGULATORY_DUE[kind], REGULATORY_MET[kind], REGULATORY_BREACHED[kind]
    met_in_period = _in(met_at, period) & Q(**{f"{due}__isnull": False, f"{breached}__isnull": True})
    met = met_in_period & Q(**{f"{met_at}__lte": F(due)})
    recorded = _in(breached, period)
    missed = recorded | (met_in_period & Q(**{f"{met_at}__gt": F(due)}))
    return met, missed, recorded


def _figure_counts(regime_ids: list[int], period: Period, now: datetime) -> dict[int, dict[str, int]]:
    """Per regime, every count but the closed ones: one aggregate over the complaints that were
    received, or met or missed a deadline, in the period."""
    received = _in("submitted_at", period)
    with_due = received & Q(acknowledge_due_at__isnull=False)
    counts = {
        "received": Count("pk", filter=received),
        "acknowledge_due": Count("pk", filter=with_due),
        "acknowledged_in_time": Count(
            "pk", filter=with_due & Q(acknowledged_at__lte=F("acknowledge_due_at"))
        ),
        "acknowledged_late": Count(
            "pk",
            filter=with_due
            & (
                Q(acknowledged_at__gt=F("acknowledge_due_at"))
                | Q(acknowledged_at__isnull=True, acknowledge_due_at__lte=now)
            ),
        ),
        "acknowledge_pending": Count(
            "pk", filter=with_due & Q(acknowledged_at__isnull=True, acknowledge_due_at__gt=now)
        ),
    }
    touched = received
    for kind in sla.REGULATORY_KINDS:
        met, missed, recorded = _deadline_conditions(kind, period)
        counts[f"{kind}_met"] = Count("pk", filter=met)
        counts[f"{kind}_missed"] = Count("pk", filter=missed)
        counts[f"{kind}_breaches"] = Count("pk", filter=recorded)
        touched |= _in(REGULATORY_MET[kind], period) | recorded
    rows = (
        Complaint.objects.filter(touched, regime_id__in=regime_ids)
        .values("regime_id")
        .annotate(**counts)
        .order_by()
    )
    return {row.pop("regime_id"): row for row in rows}


def _closed_counts(regimes: list[Regime], period: Period) -> dict[int, dict[str, int]]:
    """Per regime, the complaints closed (final response sent) in the period: how many, how
    many within PROMPT_DAYS business days of receipt and within the final response deadline,
    with an outcome, upheld. One query grouped by regime, day of receipt and day of the
    response (in the regime calendar's time zone); the cut-off is worked out per day of receipt."""
    rules = {regime.pk: regime_rules(regime.pk) for regime in regimes}
    zones: dict[str, list[int]] = {}
    for regime in regimes:
        zone = rules[regime.pk].calendar.time_zone if rules[regime.pk] else settings.TIME_ZONE
        zones.setdefault(zone, []).append(regime.pk)

    def local_day(column: str) -> Case:
        return Case(
            *(
                When(regime_id__in=ids, then=TruncDate(column, tzinfo=ZoneInfo(zone)))
                for zone, ids in zones.items()
            )
        )

    rows = (
        Complaint.objects.filter(_in("final_response_at", period), regime_id__in=list(rules))
        .annotate(received_on=local_day("submitted_at"), closed_on=local_day("final_response_at"))
        .values("regime_id", "received_on", "closed_on")
        .annotate(
            n=Count("pk"),
            in_deadline=Count(
                "pk",
                filter=Q(
                    final_response_due_at__isnull=False,
                    final_response_breached_at__isnull=True,
                    final_response_at__lte=F("final_response_due_at"),
                ),
            ),
            with_outcome=Count("pk", filter=~Q(outcome="")),
            upheld=Count("pk", filter=Q(outcome__in=UPHELD_OUTCOMES)),
        )
        .order_by()
    )
    totals: dict[int, dict[str, int]] = {}
    cutoffs: dict[tuple[int, date], date] = {}
    for row in rows:
        regime_id = row["regime_id"]
        key = (regime_id, row["received_on"])
        if key not in cutoffs:
            cutoffs[key] = _prompt_cutoff(rules[regime_id], row["received_on"])
        total = totals.setdefault(
            regime_id, dict.fromkeys(("closed", "promptly", "in_deadline", "with_outcome", "upheld"), 0)
        )
        total["closed"] += row["n"]
        total["in_deadline"] += row["in_deadline"]
        total["with_outcome"] += row["with_outcome"]
        total["upheld"] += row["upheld"]
        if row["closed_on"] <= cutoffs[key]:
            total["promptly"] += row["n"]
    return totals


def _prompt_cutoff(rules, received_on: date) -> date:
    """The last day a response to a complaint received on `received_on` is prompt: the
    PROMPT_DAYS-th working day after it on the regime's calendar (escalation.sla.add_days)."""
    calendar = rules.calendar if rules is not None else sla.Calendar(settings.TIME_ZONE, {})
    received = datetime.combine(received_on, time(12), tzinfo=calendar.zone)
    return sla.add_days(received, PROMPT_DAYS, sla.WORKING_DAYS, calendar).last_day


Counts = dict[int, dict[str, int]]


def counted_figures(regimes: list[Regime], period: Period, now: datetime) -> tuple[Counts, Counts]:
    """Every figure but the letters, counted from the complaints: per regime, the counts of
    `_figure_counts` and the closed ones of `_closed_counts`."""
    return _figure_counts([regime.pk for regime in regimes], period, now), _closed_counts(regimes, period)


def tallied_figures(regimes: list[Regime], period: Period, now: datetime) -> tuple[Counts, Counts] | None:
    """The same figures as `counted_figures`, from the tallies (complaints.report_tallies) and
    the acknowledgements still pending; None where the tallies cannot give them: none kept
    (SQLite, another time zone), kept in a zone a regime's calendar no longer has, or a
    calendar with RECENT_DAYS - 1 days in a row holding fewer than PROMPT_DAYS working days."""
    regime_ids = [regime.pk for regime in regimes]
    sums = report_tallies.read(
        first=period.first, last=period.last, regime_ids=regime_ids, time_zone=settings.TIME_ZONE
    )
    if sums is None:
        return None
    pending = _acknowledgements_pending(regime_ids, period, now)
    counts: Counts = {}
    for regime_id, tallied in sums.counts.items():
        figures = counts[regime_id] = dict(tallied)
        # Not acknowledged: late once the deadline has passed, pending until then.
        unacknowledged = (
            tallied["acknowledge_due"] - tallied["acknowledged_in_time"] - tallied["acknowledged_late"]
        )
        figures["acknowledge_pending"] = pending.get(regime_id, 0)
        figures["acknowledged_late"] += unacknowledged - figures["acknowledge_pending"]
        for kind in sla.REGULATORY_KINDS:
            figures[f"{kind}_breaches"] = figures.pop(f"{kind}_breached")
    closed: Counts = {}
    for regime_id, tallied in sums.closed.items():
        promptly = _closed_promptly(regime_id, sums.recent.get(regime_id, {}), period)
        if promptly is None:
            return None
        closed[regime_id] = {**tallied, "promptly": promptly}
    return counts, closed


def _acknowledgements_pending(regime_ids: list[int], period: Period, now: datetime) -> dict[int, int]:
    """Per regime, the complaints received in the period whose acknowledgement is not given
    and still due: a range of complaint_ack_pending_idx (deadlines after `now`)."""
    rows = (
        Complaint.objects.filter(
            _in("submitted_at", period),
            regime_id__in=regime_ids,
            acknowledged_at__isnull=True,
            acknowledge_due_at__isnull=False,
            acknowledge_due_at__gt=now,
        )
        .values("regime_id")
        .annotate(n=Count("pk"))
        .values_list("regime_id", "n")
        .order_by()
    )
    return dict(rows)


def _closed_promptly(regime_id: int, recent: dict[tuple[date, date, str], int], period: Period) -> int | None:
    """How many of the regime's complaints closed in the period were closed within PROMPT_DAYS
    business days of receipt, from the tallies' recent responses (per day of receipt, day sent
    and the calendar's zone); None if the tallies cannot tell (see `tallied_figures`)."""
    rules = regime_rules(regime_id)
    calendar = rules.calendar if rules is not None else sla.Calendar(settings.TIME_ZONE, {})
    # A day in a calendar's zone is at most two days from the same moment's day in the portal's;
    # a response in the period sent RECENT_DAYS or more after receipt could only be prompt if
    # one of these days of receipt had its cut-off that far.
    first = period.first - timedelta(days=2 + report_tallies.RECENT_DAYS)
    cutoffs = prompt_cutoffs(calendar, first, period.last + timedelta(days=2))
    if any((cutoff - received).days >= report_tallies.RECENT_DAYS for received, cutoff in cutoffs.items()):
        return None
    promptly = 0
    for (received_on, closed_on, zone), n in recent.items():
        if zone != calendar.time_zone:
            return None  # kept before the calendar moved zone: until rebuilt
        if received_on not in cutoffs:
            cutoffs[received_on] = _prompt_cutoff(rules, received_on)
        if closed_on <= cutoffs[received_on]:
            promptly += n
    return promptly


def prompt_cutoffs(calendar: sla.Calendar, first: date, last: date) -> dict[date, date]:
    """For each day of receipt from `first` to `last`, the last day a response is prompt: the
    PROMPT_DAYS-th working day after it, as `escalation.sla.add_days` counts (found in one pass
    over the calendar's days rather than a count per day). Raises CalendarHasNoWorkingTime as
    add_days does for a calendar that never works."""
    working: list[date] = []
    day = first + timedelta(days=1)
    after_last = 0
    for _step in range((last - first).days + sla.MAX_DAYS_SEARCHED):
        if sla.is_working_day(calendar, day):
            working.append(day)
            after_last += day > last
            if after_last == PROMPT_DAYS:
                break
        day += timedelta(days=1)
    else:
        raise sla.CalendarHasNoWorkingTime(calendar.time_zone)
    cutoffs = {}
    index = 0  # working[index] is the first working day after `received`
    for offset in range((last - first).days + 1):
        received = first + timedelta(days=offset)
        while working[index] <= received:
            index += 1
        cutoffs[received] = working[index + PROMPT_DAYS - 1]
    return cutoffs


def breaches(regime_ids: list[int], period: Period) -> QuerySet:
    """The regulatory deadlines missed in the period (a breach recorded in it), one row per
    complaint and kind, oldest breach first: reference, regime, kind, due, breached, status."""
    halves = [
        Complaint.objects.filter(_in(REGULATORY_BREACHED[kind], period), regime_id__in=regime_ids)
        .annotate(
            kind=Value(kind, output_field=CharField()),
            due=F(REGULATORY_DUE[kind]),
            breached=F(REGULATORY_BREACHED[kind]),
        )
        .values_list("reference", "regime_id", "kind", "due", "breached", "status")
        .order_by()
        for kind in sla.REGULATORY_KINDS
    ]
    return halves[0].union(*halves[1:], all=True).order_by("breached", "reference", "kind")


def late_letters(regime_ids: list[int], period: Period, now: datetime) -> QuerySet:
    """The letters recorded in the period and sent late (see the module's docstring), oldest
    first: reference, regime, letter, due, recorded, sent (None: still unsent)."""
    letter = KeyTextTransform("letter", "payload")
    due = Case(
        When(letter=LetterKind.ACKNOWLEDGEMENT, then=F("complaint__acknowledge_due_at")),
        When(
            letter__in=[LetterKind.HOLDING, LetterKind.FINAL_RESPONSE],
            then=F("complaint__final_response_due_at"),
        ),
        output_field=DateTimeField(),
    )
    sent = Subquery(
        Notification.objects.filter(message_id=KeyTextTransform("message_id", OuterRef("payload"))).values(
            "sent_at"
        )[:1]
    )
    return (
        ComplaintEvent.objects.filter(
            _in("created_at", period), kind=EventKind.LETTER_SENT, complaint__regime_id__in=regime_ids
        )
        .annotate(letter=letter, due=due, sent=sent)
        .filter(Q(due__isnull=False) & (Q(sent__gt=F("due")) | Q(sent__isnull=True, due__lt=now)))
        .values_list("complaint__reference", "complaint__regime_id", "letter", "due", "created_at", "sent")
        .order_by("created_at", "pk")
    )


def build_report(*, period: Period, regime: Regime | None, now: datetime) -> ComplianceReport:
    """The report for `period`: one table per regime (only `regime` when given; otherwise every
    regime with something to count, or attached to a category), the breaches and late letters
    (the first LIST_CAP of each, and their totals). `now` decides what is still pending."""
    regimes = [regime] if regime is not None else list(Regime.objects.all())
    regime_ids = [r.pk for r in regimes]
    counts, closed = tallied_figures(regimes, period, now) or counted_figures(regimes, period, now)
    letter_rows = late_letters(regime_ids, period, now)
    letters_per_regime: dict[int, int] = dict(
        letter_rows.order_by()
        .values("complaint__regime_id")
        .annotate(n=Count("pk"))
        .values_list("complaint__regime_id", "n")
    )
    tables = []
    for each in regimes:
        tables.append(
            _figures(each, counts.get(each.pk), closed.get(each.pk), letters_per_regime.get(each.pk, 0))
        )
    if regime is None:
        attached = set(Regime.objects.filter(categories__isnull=False).values_list("pk", flat=True))
        tables = [table for table in tables if table.has_activity or table.regime.pk in attached]
    breach_total = sum(table.breaches for table in tables)
    names = {each.pk: each.name for each in regimes}
    return ComplianceReport(
        period=period,
        regimes=tables,
        breaches=[Breach(*row, regime_name=names[row[1]]) for row in breaches(regime_ids, period)[:LIST_CAP]]
        if breach_total
        else [],
        breach_total=breach_total,
        late_letters=[LateLetter(*row) for row in letter_rows[:LIST_CAP]],
        late_letter_total=sum(letters_per_regime.values()),
    )


def _figures(
    regime: Regime, counts: dict[str, int] | None, closed: dict[str, int] | None, late: int
) -> RegimeFigures:
    counts = counts or {}
    closed = closed or {}
    rules = regime_rules(regime.pk)
    kinds = [deadline.kind for deadline in rules.deadlines] if rules is not None else []
    figures = RegimeFigures(
        regime=regime,
        received=counts.get("received", 0),
        acknowledge_due=counts.get("acknowledge_due", 0),
        acknowledged_in_time=counts.get("acknowledged_in_time", 0),
        acknowledged_late=counts.get("acknowledged_late", 0),
        acknowledge_pending=counts.get("acknowledge_pending", 0),
        deadlines=[
            DeadlineFigures(
                kind=kind,
                label=str(DeadlineKind(kind).label),
                met=counts.get(f"{kind}_met", 0),
                missed=counts.get(f"{kind}_missed", 0),
            )
            for kind in sla.REGULATORY_KINDS
            if kind in kinds
        ],
        closed=closed.get("closed", 0),
        closed_promptly=closed.get("promptly", 0),
        closed_in_deadline=closed.get("in_deadline", 0) if sla.FINAL_RESPONSE in kinds else None,
        closed_with_outcome=closed.get("with_outcome", 0),
        upheld=closed.get("upheld", 0),
        breaches=sum(counts.get(f"{kind}_breaches", 0) for kind in sla.REGULATORY_KINDS),
        late_letters=late,
    )
    return figures


# --- The CSV -------------------------------------------------------------------------------


def csv_rows(report: ComplianceReport, *, now: datetime, language: str) -> Iterator[list[object]]:
    """The report as CSV rows (not yet made safe): its title, then one section per table, each
    after a blank row and its own title: the figures of each regime, every breach, every late
    letter. Labels are translated now, in `language`: the lists are read later, while the
    response streams, when the request's language may no longer be active."""
    with translation.override(language):
        head: list[list[object]] = [[_("Compliance report"), report.period.code, report.period.label]]
        for table in report.regimes:
            head += [[], [_("Figures"), table.regime.name]]
            head.append([_("Regime"), _("Figure"), _("Count"), _("Out of"), _("Share (%)")])
            head += _csv_figures(table)
        head += [[], [_("Deadlines missed"), report.breach_total]]
        head.append(
            [_("Reference"), _("Regime"), _("Deadline"), _("Due (UTC)"), _("Missed (UTC)"), _("Status")]
        )
        letter_head: list[list[object]] = [[], [_("Letters sent late"), report.late_letter_total]]
        letter_head.append(
            [_("Reference"), _("Regime"), _("Letter"), _("Due (UTC)"), _("Recorded (UTC)"), _("Sent (UTC)")]
        )
        statuses = {value: str(label) for value, label in Status.choices}
        kinds = {value: str(label) for value, label in DeadlineKind.choices}
        letters = {value: str(label) for value, label in LetterKind.choices}
        names = {table.regime.pk: table.regime.name for table in report.regimes}
    return _csv_stream(report, now, head, letter_head, names, statuses, kinds, letters)


def _csv_stream(
    report: ComplianceReport,
    now: datetime,
    head: list[list[object]],
    letter_head: list[list[object]],
    names: dict[int, str],
    statuses: dict[str, str],
    kinds: dict[str, str],
    letters: dict[str, str],
) -> Iterator[list[object]]:
    yield from head
    regime_ids = list(names)
    for reference, regime_id, kind, due, breached, status in breaches(regime_ids, report.period).iterator():
        yield [
            reference,
            names[regime_id],
            kinds.get(kind, kind),
            due,
            breached,
            statuses.get(status, status),
        ]
    yield from letter_head
    for reference, regime_id, letter, due, recorded, sent in late_letters(
        regime_ids, report.period, now
    ).iterator():
        yield [reference, names[regime_id], letters.get(letter, letter), due, recorded, sent]


def _percent(share: Share | None) -> object:
    return None if share is None or share.percent is None else round(share.percent, 1)


def _csv_figures(table: RegimeFigures) -> list[list[object]]:
    """The figures of one regime's table as rows: regime, figure, count, out of, share."""
    name = table.regime.name
    rows: list[list[object]] = [
        [name, _("Complaints received"), table.received, None, None],
        [
            name,
            _("Acknowledged in time"),
            table.acknowledged_in_time,
            table.acknowledge_due,
            _percent(table.acknowledged_share),
        ],
        [name, _("Acknowledged late or not at all"), table.acknowledged_late, table.acknowledge_due, None],
        [name, _("Acknowledgement still pending"), table.acknowledge_pending, table.acknowledge_due, None],
    ]
    for deadline in table.deadlines:
        label = {"deadline": deadline.label}
        rows.append(
            [
                name,
                _("%(deadline)s: met in time") % label,
                deadline.met,
                deadline.decided,
                _percent(deadline.share),
            ]
        )
        rows.append([name, _("%(deadline)s: missed") % label, deadline.missed, deadline.decided, None])
    rows.append([name, _("Closed (final response sent)"), table.closed, None, None])
    rows.append(
        [
            name,
            _("Closed within 3 business days"),
            table.closed_promptly,
            table.closed,
            _percent(table.prompt_share),
        ]
    )
    if table.closed_in_deadline is not None:
        rows.append(
            [
                name,
                _("Closed within the final response deadline"),
                table.closed_in_deadline,
                table.closed,
                _percent(table.in_deadline_share),
            ]
        )
    rows.append(
        [
            name,
            _("Upheld (in full or in part)"),
            table.upheld,
            table.closed_with_outcome,
            _percent(table.upheld_share),
        ]
    )
    rows.append([name, _("Deadlines missed"), table.breaches, None, None])
    rows.append([name, _("Letters sent late"), table.late_letters, None, None])
    return rows
