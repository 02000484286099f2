"""The managers' SLA dashboard: who sees it, its figures, its cost, and its CSP-safe charts."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from complaints.models import Category, Complaint, Status, Subcategory
from staff import charts, dashboard
from tests.factories import NOW, make_complaint, make_user, sign_in

pytestmark = pytest.mark.django_db

HOUR = timedelta(hours=1)
URL = "/staff/dashboard/"
# NOW is Monday 2 March 2026, 10:00 in Ho Chi Minh City: the current ISO week starts at
# local midnight, 1 March 17:00 UTC; the week before (WEEK_A) on 23 February.
WEEK_A, WEEK_B = date(2026, 2, 23), date(2026, 3, 2)
IN_A = datetime(2026, 2, 24, 3, 0, tzinfo=UTC)


def test_the_dashboard_url_is_named():
    assert reverse("staff:dashboard") == URL


@pytest.mark.parametrize(
    ("role", "status"),
    [(None, 404), (Role.AGENT, 404), (Role.TEAM_LEAD, 404), (Role.MANAGER, 200), ("superuser", 200)],
)
def test_only_managers_see_the_dashboard(client, role, status):
    user = make_user(is_superuser=True) if role == "superuser" else make_user(role=role)
    sign_in(client, user)
    assert client.get(URL).status_code == status


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def complaint(*, at: datetime, sub: str = "cannot-log-in", status: str = Status.NEW, **fields) -> Complaint:
    """A complaint submitted `at`, its clock fields then set exactly as given (deadlines
    default to the usual 24 h and 3 days, unless given, possibly as None)."""
    category = "account" if sub == "cannot-log-in" else "technical"
    made = make_complaint(now=at, subcategory=Subcategory.objects.get(category__slug=category, slug=sub))
    values = {
        "status": status,
        "first_response_due_at": at + 24 * HOUR,
        "resolution_due_at": at + 72 * HOUR,
        "first_responded_at": None,
        "first_response_breached_at": None,
        "resolved_at": None,
        "resolution_breached_at": None,
        "escalation_level": 0,
        **fields,
    }
    Complaint.objects.filter(pk=made.pk).update(**values)
    return made


@pytest.fixture
def crafted():
    """Two weeks of complaints with every kind of outcome (see the expectations below)."""
    # Week A, Account
    complaint(  # both targets met
        at=IN_A,
        status=Status.CLOSED,
        first_responded_at=IN_A + 2 * HOUR,
        resolved_at=IN_A + 48 * HOUR,
        escalation_level=2,
    )
    complaint(  # answered late (the sweep had not flagged it yet); resolution deadline missed
        at=IN_A,
        status=Status.RESOLVED,
        first_responded_at=IN_A + 25 * HOUR,
        resolution_breached_at=IN_A + 72 * HOUR,
        resolved_at=IN_A + 80 * HOUR,
    )
    complaint(  # first response missed, answered afterwards; resolution undecided
        at=IN_A,
        status=Status.OPEN,
        first_response_breached_at=IN_A + 24 * HOUR,
        first_responded_at=IN_A + 30 * HOUR,
        escalation_level=2,
    )
    complaint(at=IN_A)  # nothing decided yet
    complaint(  # no SLA policy: no target, never decided
        at=IN_A, first_response_due_at=None, resolution_due_at=None, first_responded_at=IN_A + HOUR
    )
    # The last minute of week A and the first of week B, in Ho Chi Minh City.
    complaint(at=datetime(2026, 3, 1, 16, 59, tzinfo=UTC))
    complaint(at=datetime(2026, 3, 1, 17, 0, tzinfo=UTC))
    # Week A, Technical fault: answered on time
    complaint(at=IN_A, sub="app", first_responded_at=IN_A + HOUR)
    # Week B, Account: first response missed already
    complaint(
        at=datetime(2026, 3, 1, 18, 0, tzinfo=UTC),
        first_response_breached_at=NOW - HOUR,
        escalation_level=1,
    )
    # Submitted long before the window (not counted there), resolution missed in week A.
    complaint(
        at=NOW - timedelta(weeks=14),
        status=Status.CLOSED,
        first_responded_at=NOW - timedelta(weeks=14) + HOUR,
        resolution_breached_at=IN_A + HOUR,
        resolved_at=IN_A + 2 * HOUR,
    )


def figures_of(result: dashboard.Dashboard, slug: str) -> dict[date, dashboard.WeekFigures]:
    category = Category.objects.get(slug=slug)
    row = next(row for row in result.categories if row.category_id == category.pk)
    return {week.week: week for week in row.weeks}


def test_the_window_is_the_last_iso_weeks_in_the_portal_time_zone():
    mondays = dashboard.week_starts(now=NOW, weeks=12)
    assert len(mondays) == 12
    assert mondays[-1] == WEEK_B and mondays[-2] == WEEK_A
    assert all(monday.weekday() == 0 for monday in mondays)
    # Sunday 23:30 in Ho Chi Minh City is still the week before, though Monday in UTC.
    sunday_night = datetime(2026, 3, 1, 16, 30, tzinfo=UTC)
    assert dashboard.week_starts(now=sunday_night, weeks=4)[-1] == WEEK_A


def test_targets_met_and_decided_per_category_and_week(crafted):
    result = dashboard.build_dashboard(now=NOW, weeks=12)
    account = figures_of(result, "account")
    assert account[WEEK_A].submitted == 6
    assert account[WEEK_A].first_response == dashboard.Share(met=1, decided=3)
    assert account[WEEK_A].resolution == dashboard.Share(met=1, decided=2)
    assert account[WEEK_A].first_response.percent == pytest.approx(100 / 3)
    assert account[WEEK_B].submitted == 2
    assert account[WEEK_B].first_response == dashboard.Share(met=0, decided=1)
    assert account[WEEK_B].resolution == dashboard.Share(met=0, decided=0)
    assert account[WEEK_B].resolution.percent is None
    technical = figures_of(result, "technical")
    assert technical[WEEK_A].submitted == 1
    assert technical[WEEK_A].first_response == dashboard.Share(met=1, decided=1)
    assert technical[WEEK_B].submitted == 0
    # Earlier weeks of the window are there, empty.
    assert len(account) == 12 and account[WEEK_A - timedelta(weeks=5)].submitted == 0
    totals = {week.week: week for week in result.totals}
    assert totals[WEEK_A].submitted == 7
    assert totals[WEEK_A].first_response == dashboard.Share(met=2, decided=4)


def test_breaches_are_counted_in_the_week_they_happened(crafted):
    result = dashboard.build_dashboard(now=NOW, weeks=4)
    breaches = {week.week: week for week in result.breaches}
    assert (breaches[WEEK_A].first_response, breaches[WEEK_A].resolution) == (1, 2)
    assert (breaches[WEEK_B].first_response, breaches[WEEK_B].resolution) == (1, 0)
    assert sum(week.first_response + week.resolution for week in result.breaches) == 4


def test_open_complaints_per_level_count_the_queue_statuses_only(crafted):
    result = dashboard.build_dashboard(now=NOW, weeks=4)
    assert [(level.rank, level.open) for level in result.levels] == [(0, 5), (1, 1), (2, 1)]
    assert result.open_total == 7


def test_the_share_chart_breaks_its_line_where_nothing_was_decided():
    weeks = [WEEK_A - timedelta(weeks=2), WEEK_A - timedelta(weeks=1), WEEK_A, WEEK_B]
    chart = charts.share_chart(weeks, [("Account", [100.0, None, 50.0, 0.0])])
    (series,) = chart.series
    assert len(series.segments) == 2
    assert [point.value for point in series.points] == [100.0, 50.0, 0.0]
    top, bottom = chart.top, chart.bottom
    assert [point.y for point in series.points] == [top, (top + bottom) / 2, bottom]
    xs = [point.x for point in series.points]
    assert xs[0] == chart.left and xs[-1] == chart.right


def test_the_bar_chart_scales_to_a_round_maximum():
    chart = charts.grouped_bar_chart([WEEK_A, WEEK_B], [("First", [7, 0]), ("Resolution", [3, 10])])
    assert [tick.label for tick in chart.y_ticks] == [0, 2, 4, 6, 8, 10]  # even, whole steps
    tallest = max(chart.bars, key=lambda bar: bar.value)
    assert tallest.height == pytest.approx(chart.bottom - chart.top)
    assert [bar.height for bar in chart.bars if bar.value == 0] == [0]
    assert len(chart.bars) == 4


@pytest.mark.parametrize(
    ("peak", "ticks"),
    [
        (0, [0, 1, 2, 3, 4]),
        (7, [0, 2, 4, 6, 8]),
        (99, [0, 20, 40, 60, 80, 100]),
        (1001, [0, 250, 500, 750, 1000, 1250]),
    ],
)
def test_bar_chart_axes_read_in_even_whole_steps(peak, ticks):
    chart = charts.grouped_bar_chart([WEEK_A], [("First", [peak])])
    assert [tick.label for tick in chart.y_ticks] == ticks


def manager_client(client, language: str = "en"):
    sign_in(client, make_user(role=Role.MANAGER, preferred_language=language))
    client.cookies["django_language"] = language
    return client


def test_level_names_follow_the_language(client, crafted):
    manager_client(client, "en")
    page = client.get(URL, headers={"accept-language": "en"}).content.decode()
    assert "Frontline" in page and "Team lead" in page
    client.cookies["django_language"] = "vi"
    page = client.get(URL, headers={"accept-language": "vi"}).content.decode()
    from escalation.models import EscalationLevel

    assert EscalationLevel.objects.get(rank=0).name_vi in page


def test_the_page_shows_svg_charts_and_tables_and_no_inline_style_or_script(client):
    now = timezone.now()
    complaint(at=now - 30 * HOUR, first_responded_at=now - 29 * HOUR)
    complaint(at=now - 30 * HOUR, first_response_breached_at=now - 6 * HOUR, escalation_level=1)
    manager_client(client)
    response = client.get(URL, {"weeks": "4"})
    assert response.status_code == 200
    page = response.content.decode()
    assert page.count("<svg") == 4
    assert page.count('role="img"') == 4
    for chart_id in ("chart-first-response", "chart-resolution", "chart-breaches", "chart-levels"):
        assert f'<title id="{chart_id}-title">' in page and f'<desc id="{chart_id}-desc">' in page
    for table in ("first_response-table", "resolution-table", "breaches-table", "levels-table"):
        assert f'data-testid="{table}"' in page
    assert "<polyline" in page and "<rect" in page
    assert "style=" not in page
    for tag in re.findall(r"<script[^>]*>", page):
        assert re.fullmatch(r'<script src="/static/[^"]+\.js">', tag), tag
    assert page.count("<script") == page.count('<script src="/static/')
    assert "/static/css/dashboard.css" in page
    # SVG coordinates never take the Vietnamese decimal comma.
    client.cookies["django_language"] = "vi"
    page = client.get(URL, {"weeks": "4"}, headers={"accept-language": "vi"}).content.decode()
    for points in re.findall(r'points="([^"]*)"', page):
        assert re.fullmatch(r"[0-9., ]+", points) and "," in points
    numbers = re.findall(r' (?:x|y|x1|x2|y1|y2|cx|cy)="([^"]*)"', page)
    for rect in re.findall(r"<rect [^>]*>", page):
        numbers += re.findall(r' (?:width|height)="([^"]*)"', rect)
    assert len(numbers) > 50
    for number in numbers:
        assert re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", number), number


def test_the_export_link_carries_the_period(client):
    manager_client(client)
    page = client.get(URL, {"weeks": "26"}).content.decode()
    start = dashboard.week_starts(now=timezone.now(), weeks=26)[0]
    assert f"{reverse('staff:export')}?submitted_from={start.isoformat()}&amp;submitted_to=" in page


@pytest.mark.parametrize("weeks", ["5", "abc", "-4", "1000000"])
def test_an_invalid_period_is_refused_with_a_clear_message(client, weeks):
    manager_client(client)
    response = client.get(URL, {"weeks": weeks})
    assert response.status_code == 400
    assert "Choose a period of 4, 12 or 26 weeks." in response.content.decode()


@pytest.mark.parametrize("weeks", ["4", "12", "26", ""])
def test_every_offered_period_works(client, weeks):
    manager_client(client)
    assert client.get(URL, {"weeks": weeks}).status_code == 200


def count_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(URL, {"weeks": "26"}).status_code == 200
    return len(queries)


def test_the_number_of_queries_does_not_grow_with_the_data(client, django_assert_max_num_queries):
    now = timezone.now()
    manager_client(client)
    complaint(at=now - HOUR)
    client.get(URL)  # warm the session and the policy cache
    one = count_queries(client)
    for week in range(20):
        for sub in ("cannot-log-in", "app"):
            complaint(
                at=now - timedelta(weeks=week, hours=1),
                sub=sub,
                first_responded_at=now - timedelta(weeks=week),
                first_response_breached_at=now - timedelta(weeks=week) if week % 2 else None,
                resolution_breached_at=now - timedelta(weeks=week) if week % 3 else None,
                escalation_level=week % 3,
            )
    many = count_queries(client)
    assert one == many
    with django_assert_max_num_queries(10):
        client.get(URL, {"weeks": "26"})


def test_build_dashboard_itself_runs_one_query_on_the_tallies(crafted, django_assert_num_queries):
    """The tallies' sums in one query; the ladder and the categories are named from this
    process's copies (common.kept), read on the first call."""
    dashboard.build_dashboard(now=NOW, weeks=26)
    with django_assert_num_queries(1):
        dashboard.build_dashboard(now=NOW, weeks=26)


# --- Causes ------------------------------------------------------------------------------------


def resolved_with(cause_slug: str, *, weeks_ago: int, now: datetime, **fields) -> Complaint:
    from complaints.models import Cause

    cause = Cause.objects.get(slug=cause_slug)
    sub = "cannot-log-in" if cause.category is None or cause.category.slug == "account" else "app"
    moment = now - timedelta(weeks=weeks_ago)
    values = {"status": Status.RESOLVED, "resolved_at": moment, **fields}
    return complaint(
        at=moment - timedelta(days=1), sub=sub, cause=cause, outcome="upheld", remedy="apology", **values
    )


@pytest.mark.parametrize(
    "language,trends",
    [
        ("en", ["rising (1 → 2)", "falling (2 → 0)", "rising (0 → 1)"]),
        ("vi", ["tăng (1 → 2)", "giảm (2 → 0)", "tăng (0 → 1)"]),
    ],
)
def test_the_causes_are_a_pareto_per_category_with_their_trend(client, language, trends):
    now = timezone.now()
    # Twelve weeks: the first six are the earlier half, the last six the later.
    resolved_with("credentials", weeks_ago=10, now=now)
    resolved_with("credentials", weeks_ago=1, now=now)
    resolved_with("credentials", weeks_ago=2, now=now)
    resolved_with("recovery-flow", weeks_ago=9, now=now)
    resolved_with("recovery-flow", weeks_ago=8, now=now)
    resolved_with("fraud", weeks_ago=0, now=now)
    resolved_with("technical-fault", weeks_ago=3, now=now)
    resolved_with("fraud", weeks_ago=20, now=now)  # before the window
    resolved_with("fraud", weeks_ago=1, now=now, status=Status.OPEN, resolved_at=None)  # reopened
    sign_in(client, make_user(role=Role.MANAGER, preferred_language=language))
    page = client.get(URL, HTTP_ACCEPT_LANGUAGE=language).content.decode()
    account = Category.objects.get(slug="account")
    table = re.search(rf'data-testid="causes-{account.pk}">(.*?)</table>', page, re.S).group(1)
    rows = re.findall(r'<tr data-cause="(\d+)">(.*?)</tr>', table, re.S)
    from complaints.models import Cause

    assert [int(cause) for cause, _row in rows] == [
        Cause.objects.get(slug=slug).pk for slug in ("credentials", "recovery-flow", "fraud")
    ]
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", row, re.S) for _cause, row in rows]
    counts = [cell[0] for cell in cells]
    shares = [re.sub(r"<svg.*?</svg>\s*", "", cell[1], flags=re.S).strip() for cell in cells]
    running = [cell[2] for cell in cells]
    assert counts == ["3", "2", "1"]
    assert shares == ["50%", "33%", "17%"]
    assert running == ["50%", "83%", "100%"]
    assert [cell[3] for cell in cells] == trends
    technical = Category.objects.get(slug="technical")
    assert f'data-testid="causes-{technical.pk}"' in page
    assert f'data-testid="causes-{Category.objects.get(slug="quality").pk}"' not in page


def test_without_resolutions_the_causes_section_says_so(client):
    sign_in(client, make_user(role=Role.MANAGER, preferred_language="en"))
    page = client.get(URL, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-testid="no-causes"' in page
