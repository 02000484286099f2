"""The one way each kind of time is written: a moment, a day, a length of time."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone, translation

from common.times import day, duration, duration_since, duration_until, reading_as, when

# 16:52:35.796875 UTC is 23:52 in Ho Chi Minh City (UTC+7), the portal's TIME_ZONE.
MOMENT = datetime(2026, 12, 1, 16, 52, 35, 796875, tzinfo=UTC)


@pytest.mark.parametrize(
    ("language", "delta", "words"),
    [
        ("en", timedelta(days=2, hours=3), "2 days 3 hours"),
        ("vi", timedelta(days=2, hours=3), "2 ngày 3 giờ"),
        ("en", timedelta(days=1), "1 day"),
        ("vi", timedelta(days=1), "1 ngày"),
        ("en", timedelta(hours=1, minutes=1), "1 hour 1 minute"),
        ("vi", timedelta(hours=1, minutes=1), "1 giờ 1 phút"),
        ("en", timedelta(minutes=45, seconds=59, microseconds=999_999), "45 minutes"),
        ("vi", timedelta(minutes=45, seconds=59, microseconds=999_999), "45 phút"),
        # The largest unit and the next one down; smaller ones are dropped.
        ("en", timedelta(days=2, minutes=5), "2 days"),
        ("vi", timedelta(days=2, minutes=5), "2 ngày"),
        ("en", timedelta(days=35, hours=23, minutes=59), "35 days 23 hours"),
        ("vi", timedelta(days=35, hours=23, minutes=59), "35 ngày 23 giờ"),
        ("en", timedelta(seconds=59), "less than a minute"),
        ("vi", timedelta(seconds=59), "dưới một phút"),
        ("en", timedelta(0), "less than a minute"),
        # Time past reads as time to come: "over" or "left" is the sentence's word.
        ("en", -timedelta(hours=5, minutes=30), "5 hours 30 minutes"),
        ("vi", -timedelta(hours=5, minutes=30), "5 giờ 30 phút"),
    ],
)
def test_a_duration_reads_as_its_largest_unit_and_the_next(language, delta, words):
    with translation.override(language):
        shown = duration(delta)
    assert shown.replace("\xa0", " ") == words
    assert "," not in shown


def test_a_number_and_its_unit_are_kept_on_one_line():
    with translation.override("en"):
        assert duration(timedelta(days=2, hours=3)) == "2\xa0days 3\xa0hours"


def test_the_time_left_and_the_time_passed_count_between_two_moments():
    later = MOMENT + timedelta(days=1, hours=2, seconds=30)
    with translation.override("vi"):
        assert duration_until(later, MOMENT) == duration_since(MOMENT, later) == "1\xa0ngày 2\xa0giờ"
        # A moment already come leaves no time; one still to come has no time passed.
        assert duration_until(MOMENT, later) == duration_since(later, MOMENT) == "dưới một phút"


@pytest.mark.parametrize(
    ("language", "moment", "the_day"),
    [("en", "1 Dec 2026, 23:52", "1 Dec 2026"), ("vi", "23:52 ngày 01/12/2026", "01/12/2026")],
)
def test_a_moment_is_shown_in_the_display_zone_without_seconds(language, moment, the_day):
    with translation.override(language):
        assert when(MOMENT) == moment
        assert day(MOMENT) == the_day
        assert day(date(2026, 12, 1)) == the_day
        assert when(None) == day(None) == duration(None) == ""


def test_the_day_of_a_moment_is_the_day_in_the_display_zone():
    late_evening_utc = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)  # already 2 December in Ho Chi Minh City
    with translation.override("en"):
        assert day(late_evening_utc) == "2 Dec 2026"


def test_an_email_is_written_in_its_readers_language_and_the_display_zone():
    """Whatever the sender's language and zone, `reading_as` writes for the recipient."""
    with translation.override("vi"), timezone.override(ZoneInfo("Europe/Paris")):
        with reading_as("en"):
            assert when(MOMENT) == "1 Dec 2026, 23:52"
        assert when(MOMENT) == "17:52 ngày 01/12/2026"


@pytest.mark.parametrize("language", ["vi", "en"])
@pytest.mark.parametrize(
    "format_string",
    [None, r"\a\t P, l jS F Y (e O) \\\\ N, b. D w z", r"\\H\i\\", "Y"],
)
def test_a_moment_is_written_as_djangos_date_format_writes_it(language, format_string, monkeypatch):
    """`when` splits each format once, not on every call: what it writes is still what
    django.utils.dateformat writes, for the portal's formats (None) and others (escaped
    letters, backslashes, names of months and days, noon and midnight), moments naive and
    aware, in both languages."""
    from django.utils import dateformat, formats

    if format_string is not None:
        monkeypatch.setattr(formats, "get_format", lambda *args, **kwargs: format_string)
    moments = [MOMENT + timedelta(days=37 * n, hours=5 * n, minutes=13 * n) for n in range(40)]
    moments += [datetime(2026, 1, 1, 17, 0, tzinfo=UTC), datetime(2026, 6, 1, 5, 0, tzinfo=UTC)]
    moments += [datetime(2025, 2, 28, 23, 59, 59)]  # naive: written as it is
    with translation.override(language):
        written = formats.get_format("DATETIME_FORMAT")
        assert format_string is None or written == format_string
        for moment in moments:
            local = timezone.localtime(moment) if timezone.is_aware(moment) else moment
            assert when(moment) == dateformat.format(local, written)
