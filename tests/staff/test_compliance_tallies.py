"""The compliance report's tallies (complaints.report_tallies): kept by PostgreSQL's triggers,
they give the same figures as counting the complaints, on the hand-built month and after every
kind of change; where they cannot (another time zone, a calendar moved to another zone, a run
of days off too long for the days they keep), the report counts from the complaints."""

from __future__ import annotations

import io
import random
from datetime import UTC, date, datetime, timedelta

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from accounts.models import Role
from complaints import report_tallies
from complaints.models import Category, Complaint, Complexity, ReportTally, Status, Subcategory
from complaints.services import accept_resolution, dispute_resolution, transition_complaint
from complaints.services.staff import reclassify_complaint
from escalation import sla
from escalation.models import (
    REGULATORY_BREACHED,
    REGULATORY_DUE,
    REGULATORY_MET,
    BusinessCalendar,
    Holiday,
    Regime,
)
from escalation.policies import forget_policies, regime_rules
from escalation.sweep import sweep
from staff import compliance
from tests.factories import make_complaint, make_user, resolve
from tests.staff.test_compliance import february, regimes  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db

JANUARY, FEBRUARY, MARCH = (compliance.month(2026, n) for n in (1, 2, 3))
PERIODS = (
    JANUARY,
    FEBRUARY,
    MARCH,
    compliance.quarter(2026, 1),
    compliance.year(2026),
    compliance.year(2025),
)
# Moments the acknowledgements still pending are decided at: the deadlines of the month lie
# between them.
NOWS = (
    datetime(2026, 2, 3, tzinfo=UTC),
    datetime(2026, 2, 20, tzinfo=UTC),
    datetime(2026, 3, 2, tzinfo=UTC),
    datetime(2027, 1, 1, tzinfo=UTC),
)


def normalised(figures: tuple[dict, dict]) -> dict:
    """Both kinds of counts per regime, counts of nothing left out."""
    counts, closed = figures
    result = {}
    for name, per_regime in (("counts", counts), ("closed", closed)):
        for regime_id, values in per_regime.items():
            for figure, value in values.items():
                if value:
                    result[(name, regime_id, figure)] = value
    return result


def both(period: compliance.Period, now: datetime) -> tuple[dict, dict]:
    every = list(Regime.objects.all())
    tallied = compliance.tallied_figures(every, period, now)
    assert tallied is not None, "kept by PostgreSQL"
    return normalised(tallied), normalised(compliance.counted_figures(every, period, now))


def assert_same_figures(nows: tuple[datetime, ...] = NOWS) -> None:
    for period in PERIODS:
        for now in nows:
            tallied, counted = both(period, now)
            assert tallied == counted, (period.code, now)


def test_the_tallies_give_the_counted_figures_of_the_hand_built_month(february):  # noqa: F811
    tallied, counted = both(FEBRUARY, datetime(2026, 3, 2, tzinfo=UTC))
    assert tallied == counted
    assert counted  # the month is not empty: received, met, missed, closed, prompt...
    fca = Regime.objects.get(code="fca-disp").pk
    assert tallied[("closed", fca, "promptly")] == 3
    assert tallied[("counts", fca, "acknowledge_pending")] == 1
    assert_same_figures()


def test_the_report_reads_the_tallies_and_shows_the_same_tables(february, monkeypatch):  # noqa: F811
    now = datetime(2026, 3, 2, tzinfo=UTC)
    tallied = compliance.build_report(period=FEBRUARY, regime=None, now=now)
    monkeypatch.setattr(compliance, "tallied_figures", lambda *args: None)
    counted = compliance.build_report(period=FEBRUARY, regime=None, now=now)
    assert tallied.regimes == counted.regimes
    assert tallied.breach_total == counted.breach_total == 2


# --- Changes, through the portal's services ------------------------------------------------------


@pytest.fixture
def filed_under_regimes(regimes):  # noqa: F811
    """Accounts under the FCA's regime (an acknowledgement in one working day, sent with the
    notice of receipt), technical faults under Vietnam's Law on Complaints."""
    fca, vn = regimes
    Category.objects.filter(slug="account").update(regime=fca)
    Category.objects.filter(slug="technical").update(regime=vn)
    forget_policies()
    return fca, vn


def some_moment(rng: random.Random) -> datetime:
    """A moment from December 2025 to March 2026."""
    return datetime(2025, 12, 1, tzinfo=UTC) + timedelta(minutes=rng.randrange(0, 120 * 24 * 60))


def test_the_tallies_give_the_counted_figures_after_every_kind_of_change(filed_under_regimes):
    rng = random.Random(16)
    agent = make_user(username="agent", role=Role.AGENT)
    subcategories = list(Subcategory.objects.filter(category__slug__in=["account", "technical", "quality"]))
    made: list[int] = []

    def file(count: int) -> None:
        for _ in range(count):
            made.append(make_complaint(now=some_moment(rng), subcategory=rng.choice(subcategories)).pk)

    file(16)
    assert ReportTally.objects.exists()
    assert_same_figures()
    for step in range(36):
        complaint = Complaint.objects.get(pk=rng.choice(made))
        # From an hour to three weeks after receipt: some within 3 business days, most not.
        at = complaint.submitted_at + timedelta(hours=rng.randrange(1, 21 * 24))
        change = step % 6
        if change == 0 and complaint.status == Status.NEW:  # accepted, as staff take it up
            transition_complaint(complaint=complaint, to_status=Status.OPEN, by=agent, now=at)
        elif change == 1 and complaint.status in (Status.NEW, Status.OPEN):  # the final response
            soon = complaint.submitted_at + timedelta(hours=rng.randrange(1, 8 * 24))  # prompt, or not
            outcome = rng.choice(["upheld", "partly_upheld", "not_upheld"])
            resolve(complaint, by=agent, now=soon, outcome=outcome)
        elif change == 2:  # the sweep flags what was missed, many complaints in a statement
            sweep(now=some_moment(rng))
        elif change == 3 and complaint.status == Status.RESOLVED:  # accepted, or disputed
            if rng.random() < 0.5:
                accept_resolution(complaint=complaint, by=None, now=at)
            else:
                dispute_resolution(complaint=complaint, by=None, now=at, reason="Chưa được giải quyết.")
        elif change == 4 and complaint.status in (Status.NEW, Status.OPEN):  # to another regime, or none
            reclassify_complaint(
                complaint=complaint,
                subcategory=rng.choice(subcategories),
                complexity=rng.choice(list(Complexity.values)),
                by=agent,
                now=at,
                version=complaint.version,
            )
        elif change == 5:  # filed, and deleted
            file(2)
            gone = rng.choice(made)
            Complaint.objects.filter(pk=gone).delete()
            made.remove(gone)
        assert_same_figures(NOWS[1::2])
    assert_same_figures()
    # Anything the report counts was reached along the way.
    figures = normalised(
        compliance.counted_figures(list(Regime.objects.all()), compliance.year(2026), NOWS[-1])
    )
    reached = {figure for _name, _regime, figure in figures}
    assert {"received", "acknowledge_due", "acknowledged_in_time", "closed", "promptly", "upheld"} <= reached
    assert {"accept_met", "final_response_met"} & reached and {
        "accept_breaches",
        "acknowledge_breaches",
    } & reached


def test_a_change_the_report_does_not_count_appends_no_tally(february):  # noqa: F811
    before = ReportTally.objects.count()
    Complaint.objects.update(subject="Đã đổi tiêu đề", escalation_level=2)
    assert ReportTally.objects.count() == before


@pytest.mark.parametrize("column", report_tallies.COLUMNS)
def test_an_update_of_any_one_counted_column_alone_is_counted(february, column):  # noqa: F811
    """An UPDATE that changes none of the counted columns returns before counting (the triggers'
    `unchanged`); one that changes any of them, alone, is counted: here each to a value that
    moves a figure."""
    cases = Complaint.objects.filter(pk__in=[february[name].pk for name in ("a5", "a9")])
    cases.update(  # every deadline met in time, on the 8th
        **{name: datetime(2026, 2, 9, tzinfo=UTC) for name in REGULATORY_DUE.values()},
        **{name: datetime(2026, 2, 8, tzinfo=UTC) for name in REGULATORY_MET.values()},
        outcome="upheld",
    )
    assert_same_figures()
    moved = {
        "regime_id": Regime.objects.get(code="vn-complaints-2011").pk,
        "submitted_at": datetime(2026, 2, 3, tzinfo=UTC),
        "outcome": "not_upheld",
        **{name: datetime(2026, 2, 1, tzinfo=UTC) for name in REGULATORY_DUE.values()},  # missed
        **{name: datetime(2026, 2, 20, tzinfo=UTC) for name in REGULATORY_MET.values()},  # late
        **{name: datetime(2026, 2, 15, tzinfo=UTC) for name in REGULATORY_BREACHED.values()},
    }
    before = ReportTally.objects.count()
    cases.update(**{column: moved[column]})
    assert ReportTally.objects.count() > before
    assert_same_figures()


def test_folding_keeps_the_sums_in_one_row_per_key(february):  # noqa: F811
    made = february["b1"]
    Complaint.objects.filter(pk=made.pk).update(outcome="not_upheld")
    Complaint.objects.filter(pk=made.pk).update(outcome="upheld")
    rows = ReportTally.objects.count()
    before = both(compliance.year(2026), NOWS[2])
    assert report_tallies.compact() == rows
    assert both(compliance.year(2026), NOWS[2]) == before
    assert before[0] == before[1]
    keys = list(ReportTally.objects.values_list(*report_tallies.KEYS))
    assert len(keys) == len(set(keys)) < rows


def test_emptying_the_complaints_table_empties_the_tallies(february):  # noqa: F811
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the test's transaction holds deferred checks
        cursor.execute("TRUNCATE complaints_complaint CASCADE")
    assert not ReportTally.objects.exists()
    assert_same_figures()


# --- Where the tallies cannot tell -------------------------------------------------------------


def test_in_another_time_zone_the_report_counts_from_the_complaints_until_rebuilt(february):  # noqa: F811
    every = list(Regime.objects.all())
    with override_settings(TIME_ZONE="UTC"):
        assert compliance.tallied_figures(every, FEBRUARY, NOWS[2]) is None
        in_utc = normalised(compliance.counted_figures(every, FEBRUARY, NOWS[2]))
        call_command("rebuild_tallies", stdout=io.StringIO())
        assert both(FEBRUARY, NOWS[2]) == (in_utc, in_utc)
    assert compliance.tallied_figures(every, FEBRUARY, NOWS[2]) is None


def test_a_calendar_moved_to_another_zone_is_counted_from_the_complaints_until_rebuilt(february):  # noqa: F811
    every = list(Regime.objects.all())
    BusinessCalendar.objects.filter(regimes__code="fca-disp").update(time_zone="America/New_York")
    forget_policies()
    assert compliance.tallied_figures(every, FEBRUARY, NOWS[2]) is None
    call_command("rebuild_tallies", stdout=io.StringIO())
    tallied, counted = both(FEBRUARY, NOWS[2])
    assert tallied == counted


def test_a_run_of_days_off_longer_than_the_tallies_keep_is_counted_from_the_complaints(february):  # noqa: F811
    """A response sent 16 days after receipt, within 3 working days of it on a calendar that
    stops for a fortnight: the tallies keep no days for it, so the report counts directly."""
    fca = Regime.objects.get(code="fca-disp")
    calendar = BusinessCalendar.objects.get(regimes=fca)
    for day in range(2, 20):
        Holiday.objects.get_or_create(calendar=calendar, date=date(2026, 3, day), defaults={"name_en": "Off"})
    forget_policies()
    late = make_complaint(now=datetime(2026, 2, 27, 12, tzinfo=UTC))
    Complaint.objects.filter(pk=late.pk).update(
        regime=fca, final_response_at=datetime(2026, 3, 23, 9, tzinfo=UTC)
    )
    every = list(Regime.objects.all())
    march = compliance.build_report(period=MARCH, regime=fca, now=NOWS[3])
    assert compliance.tallied_figures(every, MARCH, NOWS[3]) is None
    assert (march.regimes[0].closed, march.regimes[0].closed_promptly) == (1, 1)


def test_the_seeded_calendars_never_set_a_cutoff_as_far_as_the_tallies_keep():
    """For every day of the years whose holidays are seeded (Tết among them), the cut-off of
    3 business days falls fewer than RECENT_DAYS days after the day of receipt (so a later
    response is never prompt), and the one-pass cut-offs are add_days's."""
    first, last = date(2024, 1, 1), date(2030, 12, 31)
    for calendar in BusinessCalendar.objects.all():
        rules = calendar.as_sla_calendar()
        cutoffs = compliance.prompt_cutoffs(rules, first, last)
        longest = max((cutoff - received).days for received, cutoff in cutoffs.items())
        assert longest < report_tallies.RECENT_DAYS, calendar.name_en
        for received in (first + timedelta(days=n) for n in range(0, (last - first).days, 3)):
            noon = datetime.combine(received, datetime.min.time().replace(hour=12), tzinfo=rules.zone)
            assert (
                cutoffs[received]
                == sla.add_days(noon, compliance.PROMPT_DAYS, sla.WORKING_DAYS, rules).last_day
            )


def test_the_longest_run_is_tet(regimes):  # noqa: F811
    """What RECENT_DAYS leaves room for: the Vietnamese office calendar's longest span from a day
    of receipt to its cut-off, over Tết."""
    office = regime_rules(Regime.objects.get(code="vn-complaints-2011").pk).calendar
    cutoffs = compliance.prompt_cutoffs(office, date(2024, 1, 1), date(2030, 12, 31))
    longest = max((cutoff - received).days for received, cutoff in cutoffs.items())
    assert 10 <= longest < report_tallies.RECENT_DAYS
    assert settings.TIME_ZONE == "Asia/Ho_Chi_Minh"
