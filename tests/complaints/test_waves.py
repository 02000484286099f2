"""The wave is noticed: a beat check compares each category's and provider's complaints of the last
hour with the same hour of the week in the four weeks before, and alerts the managers of a surge
once, by e-mail through the outbox (complaints.services.waves)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from accounts.models import Role
from complaints import services
from complaints.models import (
    Category,
    Notification,
    Subcategory,
    WaveAlert,
    WaveAlertQuerySet,
    WaveAlertState,
)
from complaints.notifications import deliver_outbox
from complaints.services import waves
from complaints.services.waves import same_hour_windows
from tests.factories import NOW, file_copies, make_user

pytestmark = pytest.mark.django_db

HOUR = timedelta(hours=1)
WEEK = timedelta(weeks=1)
# The history: four weeks of filings and two hours more, up to NOW (Monday, 10:00 in Ho Chi Minh City).
START = NOW - 4 * WEEK - 2 * HOUR


def hourly(per_hour: int, *, start: datetime = START, end: datetime = NOW) -> list[datetime]:
    """`per_hour` filings in every hour from `start` to `end`, spread over each hour."""
    times, hour = [], start
    while hour < end:
        times += [hour + n * HOUR / per_hour for n in range(per_hour)]
        hour += HOUR
    return times


def within(start: datetime, count: int, *, span: timedelta = 19 * timedelta(minutes=1)) -> list[datetime]:
    """`count` filings spread over `span` from `start`."""
    return [start + n * span / max(count - 1, 1) for n in range(count)]


def subcategory(category: str, slug: str) -> Subcategory:
    return Subcategory.objects.get(category__slug=category, slug=slug)


def the_mondays_hour(week: int) -> datetime:
    """The start of the hour before NOW, `week` weeks earlier (Monday 9:00 to 10:00 there)."""
    return NOW - week * WEEK - HOUR


@pytest.fixture
def managers():
    """Two managers (one reads Vietnamese, one English), and a team lead and an agent, who are
    not e-mailed."""
    make_user(username="lead", role=Role.TEAM_LEAD)
    make_user(username="agent", role=Role.AGENT)
    return [
        make_user(username="quan-ly", role=Role.MANAGER, preferred_language="vi"),
        make_user(username="manager", role=Role.MANAGER, preferred_language="en"),
    ]


@pytest.fixture
def history(managers):
    """Four weeks of ordinary hourly filings for three providers, and a wave for one of them:
    ShopNhanh's log-in complaints, 3 an hour, then 30 in the last hour (its name spelt three ways:
    "ShopNhanh", "Shop Nhanh", "shopnhanh.vn");
    MoMoney's payment complaints, 5 an hour; NganHangX's unanswered complaints, 1 an hour but 20
    in the Monday 9:00 hour of every week, this one included."""
    file_copies(hourly(3), provider_name="ShopNhanh")
    file_copies(within(NOW - 20 * timedelta(minutes=1), 9), provider_name="ShopNhanh")
    file_copies(within(NOW - 20 * timedelta(minutes=1), 9), provider_name="Shop Nhanh")
    file_copies(within(NOW - 20 * timedelta(minutes=1), 9), provider_name="shopnhanh.vn ")
    file_copies(hourly(5), provider_name="MoMoney", subcategory=subcategory("technical", "payments"))
    bank = subcategory("customer-service", "no-response")
    file_copies(hourly(1), provider_name="NganHangX", subcategory=bank)
    for week in range(5):
        file_copies(within(the_mondays_hour(week), 19), provider_name="NganHangX", subcategory=bank)


def alerts() -> list[tuple[str, str, int, float]]:
    return [
        (alert.category.slug, alert.provider_key, alert.count, alert.baseline)
        for alert in WaveAlert.objects.select_related("category").order_by("pk")
    ]


def wave_notices():
    return Notification.objects.filter(template="wave_alert")


# --- which surges are waves ----------------------------------------------------------------------


def test_only_the_spiking_provider_is_alerted(history, managers):
    result = services.detect_waves(now=NOW)
    assert result.alerted == 1 and result.ongoing == result.covered == 0
    assert alerts() == [("account", "shopnhanh", 30, 3.0)]
    alert = WaveAlert.objects.get()
    assert alert.window_start == NOW - HOUR and alert.created_at == alert.last_seen_at == NOW
    assert alert.state == WaveAlertState.OPEN
    # Named as most of its complaints spelt it ("ShopNhanh": the 3 ordinary ones and 9 of the wave).
    assert alert.provider_name == "ShopNhanh"
    assert sorted(wave_notices().values_list("recipient_id", flat=True)) == sorted(m.pk for m in managers)


def test_a_busy_hour_is_no_wave_when_the_same_hour_is_busy_every_week(history):
    """NganHangX gets 20 complaints on Monday 9:00 to 10:00 every week: this Monday's 20 are
    usual. The same 20 on a Tuesday, whose 9:00 hour brings one, are a wave."""
    services.detect_waves(now=NOW)
    assert "nganhangx" not in [key for _category, key, _count, _usual in alerts()]
    tuesday = NOW + 24 * HOUR
    bank = subcategory("customer-service", "no-response")
    file_copies(hourly(1, start=NOW, end=tuesday), provider_name="NganHangX", subcategory=bank)
    file_copies(within(tuesday - HOUR, 20), provider_name="NganHangX", subcategory=bank)
    services.detect_waves(now=tuesday)
    assert ("customer-service", "nganhangx", 21, 1.0) in alerts()


def test_the_factor_is_a_floor_reached_at_exactly_that_many_times_the_usual(history):
    """MoMoney usually gets 5 payment complaints an hour: 14 is not three times that, 15 is."""
    payments = subcategory("technical", "payments")
    file_copies(within(NOW - 30 * timedelta(minutes=1), 9), provider_name="MoMoney", subcategory=payments)
    services.detect_waves(now=NOW)
    assert "momoney" not in [key for _category, key, _count, _usual in alerts()]
    file_copies([NOW - timedelta(minutes=5)], provider_name="momoney", subcategory=payments)
    services.detect_waves(now=NOW)
    assert ("technical", "momoney", 15, 5.0) in alerts()


def test_fewer_than_the_minimum_are_no_wave_even_against_none(managers):
    file_copies(within(NOW - 40 * timedelta(minutes=1), 9), provider_name="Cửa hàng Mới")
    assert services.detect_waves(now=NOW, minimum=10).alerted == 0
    assert not WaveAlert.objects.exists() and not wave_notices().exists()


def test_the_minimum_against_a_usual_of_none_is_a_wave(managers):
    """A provider nobody complained about before: its usual count is 0, so the minimum decides."""
    file_copies(hourly(1, start=START, end=NOW - 3 * HOUR), provider_name="ShopNhanh")  # the portal's age
    file_copies(within(NOW - 40 * timedelta(minutes=1), 10), provider_name="Cửa hàng Mới")
    assert services.detect_waves(now=NOW, minimum=10).alerted == 1
    assert alerts() == [("account", "cuahangmoi", 10, 0.0)]


def test_the_hour_counted_starts_exactly_an_hour_ago_and_ends_just_before_now(managers):
    file_copies(within(NOW - 30 * timedelta(minutes=1), 9), provider_name="ShopNhanh")
    file_copies([NOW - HOUR - timedelta(microseconds=1), NOW], provider_name="ShopNhanh")  # just outside
    assert services.detect_waves(now=NOW, minimum=10).alerted == 0
    file_copies([NOW - HOUR], provider_name="ShopNhanh")  # exactly at its start: in
    assert services.detect_waves(now=NOW, minimum=10).alerted == 1
    assert alerts() == [("account", "shopnhanh", 10, 0.0)]


def test_the_usual_is_the_mean_of_the_weeks_the_portal_has_seen(managers):
    """A portal two weeks and a bit old: the usual count is the mean of two weeks' hours, not of
    four with two empty ones (5, not 2.5: 14 is no wave)."""
    file_copies(hourly(5, start=NOW - 2 * WEEK - 2 * HOUR), provider_name="ShopNhanh")
    file_copies(within(NOW - 30 * timedelta(minutes=1), 9), provider_name="ShopNhanh")
    assert services.detect_waves(now=NOW).alerted == 0
    file_copies([NOW - timedelta(minutes=2)], provider_name="ShopNhanh")
    assert services.detect_waves(now=NOW).alerted == 1
    assert alerts() == [("account", "shopnhanh", 15, 5.0)]


@pytest.mark.parametrize(
    ("count", "baseline", "expected"),
    [
        (9, 0.0, False),  # under the minimum, against none
        (10, 0.0, True),  # the minimum, against none
        (10, 3.25, True),  # the minimum, over three times the usual
        (10, 3.5, False),  # the minimum, under three times the usual
        (14, 5.0, False),  # just under three times the usual
        (15, 5.0, True),  # exactly three times
        (16, 5.0, True),  # just over
    ],
)
def test_a_wave_is_at_least_the_minimum_and_at_least_the_factor_times_the_usual(count, baseline, expected):
    assert waves.is_wave(count, baseline, factor=3, minimum=10) is expected


def test_the_same_hour_of_the_week_is_read_on_the_wall_clock_across_summer_time(settings):
    """London moves to summer time on 29 March 2026: 9:00 to 10:00 on 1 April is 8:00 to 9:00 UTC,
    and 9:00 to 10:00 a week before was 9:00 to 10:00 UTC."""
    settings.TIME_ZONE = "Europe/London"
    now = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)  # 10:00 in London
    windows = same_hour_windows(now)
    assert windows[0] == (datetime(2026, 4, 1, 8, 0, tzinfo=UTC), now)
    assert windows[1] == (datetime(2026, 3, 25, 9, 0, tzinfo=UTC), datetime(2026, 3, 25, 10, 0, tzinfo=UTC))
    assert windows[4][1] == datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
    assert len(windows) == 5


# --- exactly once per wave -----------------------------------------------------------------------


def test_two_checks_of_one_wave_alert_it_once(history, managers):
    first = services.detect_waves(now=NOW)
    second = services.detect_waves(now=NOW + timedelta(minutes=15))
    again = services.detect_waves(now=NOW + timedelta(minutes=15))
    assert (first.alerted, second.alerted, second.ongoing, again.alerted) == (1, 0, 1, 0)
    assert WaveAlert.objects.count() == 1
    assert WaveAlert.objects.get().last_seen_at == NOW + timedelta(minutes=15)
    assert wave_notices().count() == len(managers)


def test_a_dismissed_wave_that_goes_on_is_not_alerted_again(history, managers):
    services.detect_waves(now=NOW)
    alert = services.dismiss_wave_alert(alert=WaveAlert.objects.get(), by=managers[0], now=NOW)
    assert alert.state == WaveAlertState.DISMISSED and alert.handled_by == managers[0]
    result = services.detect_waves(now=NOW + timedelta(minutes=15))
    assert (result.alerted, result.ongoing) == (0, 1)
    assert WaveAlert.objects.count() == 1 and wave_notices().count() == len(managers)


def test_a_wave_after_a_quiet_spell_is_a_new_alert_and_replaces_one_left_open(history, managers):
    services.detect_waves(now=NOW)
    later = NOW + 5 * HOUR  # the first wave was last seen five hours before
    file_copies(hourly(3, start=NOW, end=later), provider_name="ShopNhanh")
    file_copies(within(later - 20 * timedelta(minutes=1), 27), provider_name="ShopNhanh")
    assert services.detect_waves(now=later).alerted == 1
    first, second = WaveAlert.objects.order_by("pk")
    assert first.state == WaveAlertState.SUPERSEDED and second.state == WaveAlertState.OPEN
    assert second.window_start == later - HOUR
    assert wave_notices().count() == 2 * len(managers)


def test_a_crash_between_the_alert_and_its_e_mails_loses_and_repeats_nothing(history, managers, monkeypatch):
    def crash(self):
        raise RuntimeError("the worker died")

    with monkeypatch.context() as patched:
        patched.setattr(waves.NoticeRows, "insert", crash)
        with pytest.raises(RuntimeError):
            services.detect_waves(now=NOW)
    assert not WaveAlert.objects.exists() and not wave_notices().exists()
    assert services.detect_waves(now=NOW + timedelta(minutes=15)).alerted == 1
    assert WaveAlert.objects.count() == 1 and wave_notices().count() == len(managers)


@pytest.mark.django_db(transaction=True)
def test_two_checks_at_once_alert_a_wave_once(history, managers, monkeypatch):
    """Both checks find no alert of ShopNhanh's wave and both write one: the unique constraint on
    open alerts keeps the first, and only its managers' e-mails go out."""
    both_looked = threading.Barrier(2, timeout=10)
    record = waves._record

    def record_together(wave, *, now):
        both_looked.wait()  # each has read the pair's recent alerts: none
        return record(wave, now=now)

    monkeypatch.setattr(waves, "_record", record_together)
    results, errors = [], []

    def check():
        try:
            results.append(services.detect_waves(now=NOW))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=check) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    assert sorted((r.alerted, r.ongoing) for r in results) == [(0, 1), (1, 0)]
    assert WaveAlert.objects.count() == 1 and wave_notices().count() == len(managers)


@pytest.mark.django_db(transaction=True)
def test_a_check_that_alerts_between_another_s_look_and_its_write_is_not_undone(
    history, managers, monkeypatch
):
    """The first check finds no alert of ShopNhanh's wave; before it writes, a second check alerts
    the wave and commits. The first must neither supersede that fresh alert nor add its own."""
    other: list[waves.WaveResult] = []
    superseding = WaveAlertQuerySet.open

    def open_after_another_check(self):
        if threading.current_thread() is threading.main_thread() and not other:
            thread = threading.Thread(
                target=lambda: (other.append(services.detect_waves(now=NOW)), connections.close_all())
            )
            thread.start()
            thread.join(timeout=30)
        return superseding(self)

    monkeypatch.setattr(WaveAlertQuerySet, "open", open_after_another_check)
    mine = services.detect_waves(now=NOW)
    assert [(r.alerted, r.ongoing) for r in (*other, mine)] == [(1, 0), (0, 1)]
    assert list(WaveAlert.objects.values_list("state", flat=True)) == [WaveAlertState.OPEN]
    assert wave_notices().count() == len(managers)


@pytest.mark.django_db(transaction=True)
def test_an_incident_declared_while_a_check_alerts_takes_the_alert_over_at_the_next(
    history, managers, monkeypatch
):
    """The check reads the open incidents (none), then a manager declares ShopNhanh's incident and
    commits (no alert to mark yet), then the check writes its alert. The next check finds the wave
    covered and marks that alert acted on by the incident: no banner is left behind."""
    declared = []
    superseding = WaveAlertQuerySet.open

    def declare() -> None:
        incident = services.declare_incident(
            title_vi="Sự cố", title_en="Outage", note_vi="Đang xử lý.", note_en="On it.",
            category=Category.objects.get(slug="account"), provider_name="ShopNhanh",
            started_at=NOW - HOUR, by=managers[0], now=NOW,
        )  # fmt: skip
        declared.append(incident)
        connections.close_all()

    def open_after_a_declaration(self):
        if threading.current_thread() is threading.main_thread() and not declared:
            thread = threading.Thread(target=declare)
            thread.start()
            thread.join(timeout=30)
        return superseding(self)

    monkeypatch.setattr(WaveAlertQuerySet, "open", open_after_a_declaration)
    assert services.detect_waves(now=NOW).alerted == 1
    assert WaveAlert.objects.get().is_open and declared
    assert services.detect_waves(now=NOW + timedelta(minutes=15)).covered == 1
    alert = WaveAlert.objects.get()
    assert (alert.state, alert.incident, alert.handled_at) == (
        WaveAlertState.DECLARED,
        declared[0],
        NOW + timedelta(minutes=15),
    )


def test_an_open_incident_of_the_same_category_and_provider_covers_the_wave(history, managers):
    def declare(category: str, provider_name: str):
        return services.declare_incident(
            title_vi="Sự cố", title_en="Outage", note_vi="Đang xử lý.", note_en="On it.",
            category=Category.objects.get(slug=category), provider_name=provider_name,
            started_at=NOW - HOUR, by=managers[0], now=NOW,
        )  # fmt: skip

    declare("technical", "ShopNhanh")  # another category
    declare("account", "Shop Nhanh Việt")  # another provider ("shopnhanhviet")
    assert services.detect_waves(now=NOW).alerted == 1
    WaveAlert.objects.all().delete()
    wave_notices().delete()
    declare("account", "Shop Nhanh")  # the same, as filings are matched ("shopnhanh")
    result = services.detect_waves(now=NOW)
    assert (result.alerted, result.covered) == (0, 1)
    assert not WaveAlert.objects.exists() and not wave_notices().exists()


def test_once_its_incident_is_resolved_a_wave_still_going_is_alerted(history, managers):
    incident = services.declare_incident(
        title_vi="Sự cố", title_en="Outage", note_vi="Đang xử lý.", note_en="On it.",
        category=Category.objects.get(slug="account"), provider_name="ShopNhanh", started_at=NOW - HOUR,
        by=managers[0], now=NOW - HOUR,
    )  # fmt: skip
    assert services.detect_waves(now=NOW).covered == 1
    services.resolve_incident(incident=incident, text_vi="Đã xong.", text_en="Done.", by=managers[0], now=NOW)
    assert services.detect_waves(now=NOW + timedelta(minutes=15)).alerted == 1


# --- the managers' e-mail ------------------------------------------------------------------------


def test_each_manager_is_e_mailed_in_their_language_with_the_declare_link(history, managers, settings):
    settings.SITE_URL = "https://portal.example"
    services.detect_waves(now=NOW)
    Notification.objects.exclude(template="wave_alert").delete()  # the complainants' acknowledgements
    mail.outbox.clear()
    deliver_outbox(now=NOW)
    by_address = {message.to[0]: message for message in mail.outbox}
    assert set(by_address) == {manager.email for manager in managers}
    alert = WaveAlert.objects.get()
    english, vietnamese = by_address["manager@example.org"], by_address["quan-ly@example.org"]
    assert english.subject == "[Wave] 30 complaints about ShopNhanh in an hour"
    assert "Category: Account" in english.body
    assert "30 complaints in the hour from 2 Mar 2026, 09:00." in english.body
    assert "Usually 3 in that hour of the week" in english.body
    assert f"https://portal.example/staff/incidents/?alert={alert.public_id}" in english.body
    assert "You receive this e-mail as a manager" in english.body
    with translation.override("vi"):
        assert vietnamese.subject == "[Làn sóng] 30 khiếu nại về ShopNhanh trong một giờ"
    assert "Danh mục: Tài khoản" in vietnamese.body
    assert "30 khiếu nại trong giờ từ 09:00 ngày 02/03/2026." in vietnamese.body
    assert f"?alert={alert.public_id}" in vietnamese.alternatives[0][0]


def test_without_managers_the_administrators_are_e_mailed():
    admin = make_user(username="root", is_superuser=True, is_staff=True)
    make_user(username="gone", role=Role.MANAGER, is_active=False)
    file_copies(within(NOW - 30 * timedelta(minutes=1), 10), provider_name="ShopNhanh")
    services.detect_waves(now=NOW)
    assert list(wave_notices().values_list("recipient_id", flat=True)) == [admin.pk]


# --- cost ----------------------------------------------------------------------------------------


def test_a_quiet_check_is_one_query_whatever_the_history(history):
    services.detect_waves(now=NOW)  # the wave is alerted; what follows is the hour after it
    quiet = NOW + 2 * HOUR
    file_copies(hourly(3, start=NOW, end=quiet), provider_name="ShopNhanh")
    with CaptureQueriesContext(connection) as checked:
        assert services.detect_waves(now=quiet).as_dict() == {
            "alerted": 0,
            "ongoing": 0,
            "covered": 0,
            "notices": 0,
        }
    assert len(checked) == 1


def test_a_wave_costs_the_same_queries_however_long_the_history(managers):
    def alert_once(start: datetime, now: datetime, provider: str) -> int:
        file_copies(hourly(2, start=start, end=now), provider_name=provider)
        file_copies(within(now - 30 * timedelta(minutes=1), 30), provider_name=provider)
        with CaptureQueriesContext(connection) as checked:
            assert services.detect_waves(now=now).alerted == 1
        return len(checked)

    short = alert_once(NOW - 4 * WEEK - 2 * HOUR, NOW, "ShopNhanh")
    long = alert_once(NOW - 12 * WEEK, NOW + 24 * HOUR, "MoMoney")
    assert short == long


# --- the beat task -------------------------------------------------------------------------------


def test_the_beat_task_checks_at_the_database_s_time(history, monkeypatch, settings):
    from complaints import tasks

    monkeypatch.setattr(tasks, "database_now", lambda: NOW)
    assert tasks.detect_waves.apply().get() == {"alerted": 1, "ongoing": 0, "covered": 0, "notices": 2}
    entry = settings.CELERY_BEAT_SCHEDULE["detect-waves"]
    assert entry["task"] == tasks.detect_waves.name and entry["schedule"] == settings.WAVE_CHECK_INTERVAL
