"""Deadline arithmetic, property-tested: weekends, holidays, Tết, pauses, time zones."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays as holiday_data
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from escalation.sla import (
    Calendar,
    CalendarHasNoWorkingTime,
    add_business_time,
    business_time_between,
    resume_deadline,
    warning_point,
)

HCMC = ZoneInfo("Asia/Ho_Chi_Minh")
OFFICE = ((time(8), time(12)), (time(13, 30), time(17, 30)))  # 8 working hours with a lunch break
VIETNAM = Calendar(
    time_zone="Asia/Ho_Chi_Minh",
    hours=dict.fromkeys(range(5), OFFICE),  # Monday to Friday
    holidays=frozenset(holiday_data.VN(years=range(2025, 2029))),
)
# A calendar where the clock crosses a daylight-saving change (Europe/Berlin, 27 March 2026).
BERLIN = Calendar(time_zone="Europe/Berlin", hours={day: ((time(9), time(17)),) for day in range(7)})
ROUND_THE_CLOCK = Calendar(time_zone="UTC", hours={day: ((time(0), time(0)),) for day in range(7)})


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=HCMC)


moments = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2028, 6, 30), timezones=st.just(UTC)
)
durations = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=15))
calendars = st.sampled_from([VIETNAM, BERLIN, ROUND_THE_CLOCK, None])


# --- Examples at the boundaries -----------------------------------------------------------


def test_wall_clock_is_plain_addition():
    start = local(2026, 3, 6, 16, 0)
    assert add_business_time(start, timedelta(hours=24), None) == start + timedelta(hours=24)


def test_24_business_hours_from_friday_afternoon_end_on_wednesday():
    # Friday 16:00 leaves 1.5 h; Mon and Tue give 16 h; 6.5 h remain on Wednesday.
    due = add_business_time(local(2026, 3, 6, 16, 0), timedelta(hours=24), VIETNAM)
    assert due == local(2026, 3, 11, 16, 0)


def test_the_lunch_break_does_not_count():
    assert add_business_time(local(2026, 3, 9, 11, 0), timedelta(hours=2), VIETNAM) == local(
        2026, 3, 9, 14, 30
    )


def test_a_deadline_that_fills_an_interval_ends_at_its_end():
    assert add_business_time(local(2026, 3, 9, 8, 0), timedelta(hours=4), VIETNAM) == local(2026, 3, 9, 12, 0)


def test_filed_on_a_sunday_the_clock_starts_on_monday_morning():
    assert add_business_time(local(2026, 3, 8, 10, 0), timedelta(minutes=1), VIETNAM) == local(
        2026, 3, 9, 8, 1
    )


def test_tet_holidays_stop_the_clock():
    # Tết 2026: 16-20 February (Monday to Friday). Filed Friday 13 Feb at 17:00.
    due = add_business_time(local(2026, 2, 13, 17, 0), timedelta(hours=8), VIETNAM)
    assert due == local(
        2026, 2, 23, 17, 0
    )  # 0.5 h on Friday, nothing for Tết or the weekend, 7.5 h on Monday
    assert business_time_between(local(2026, 2, 13, 17, 0), due, VIETNAM) == timedelta(hours=8)


def test_a_pause_spanning_a_holiday_moves_the_deadline_by_working_time_only():
    due = local(2026, 2, 24, 10, 0)
    # Paused from Friday 13 Feb 16:00 to Monday 23 Feb 9:00: 1.5 h + 1 h of working time.
    moved = resume_deadline(due, local(2026, 2, 13, 16, 0), local(2026, 2, 23, 9, 0), VIETNAM)
    assert moved == add_business_time(due, timedelta(hours=2, minutes=30), VIETNAM)
    assert moved == local(2026, 2, 24, 14, 0)


def test_a_pause_outside_working_hours_moves_nothing():
    due = local(2026, 3, 10, 10, 0)
    assert resume_deadline(due, local(2026, 3, 7, 9, 0), local(2026, 3, 8, 20, 0), VIETNAM) == due


def test_the_warning_point_is_a_share_of_working_time():
    start = local(2026, 3, 9, 8, 0)
    due = add_business_time(start, timedelta(hours=24), VIETNAM)
    assert warning_point(start, due, 0.75, VIETNAM) == add_business_time(start, timedelta(hours=18), VIETNAM)


def test_the_warning_point_on_wall_clock_time_and_its_ratio_bounds():
    start = local(2026, 3, 9, 8, 0)
    due = start + timedelta(hours=24)
    assert warning_point(start, due, 0.75, None) == start + timedelta(hours=18)
    assert warning_point(start, due, 1, None) == due  # a ratio of 1 warns at the deadline
    for ratio in (0, -0.5, 1.000001):
        with pytest.raises(ValueError, match="ratio"):
            warning_point(start, due, ratio, None)


def test_a_pause_on_wall_clock_time_moves_the_deadline_by_its_length():
    due = local(2026, 3, 10, 10, 0)
    paused_at = local(2026, 3, 7, 9, 0)
    assert resume_deadline(due, paused_at, paused_at + timedelta(hours=30), None) == due + timedelta(hours=30)
    assert resume_deadline(due, paused_at, paused_at, None) == due  # resumed at once


def test_daylight_saving_changes_do_not_move_working_hours():
    # Berlin clocks go forward on 29 March 2026: still 8 working hours that Sunday.
    start = datetime(2026, 3, 29, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    assert add_business_time(start, timedelta(hours=8), BERLIN) == datetime(
        2026, 3, 29, 17, 0, tzinfo=ZoneInfo("Europe/Berlin")
    )


def test_a_calendar_without_working_time_is_refused():
    with pytest.raises(CalendarHasNoWorkingTime):
        add_business_time(local(2026, 3, 9), timedelta(hours=1), Calendar(time_zone="UTC", hours={}))


def test_negative_durations_are_refused():
    with pytest.raises(ValueError):
        add_business_time(local(2026, 3, 9), timedelta(hours=-1), VIETNAM)


# --- Properties ---------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(start=moments, duration=durations, calendar=calendars)
def test_the_time_between_start_and_deadline_is_the_duration(start, duration, calendar):
    due = add_business_time(start, duration, calendar)
    assert due >= start
    assert business_time_between(start, due, calendar) == duration
    assert due.tzinfo is not None


@settings(max_examples=300, deadline=None)
@given(start=moments, first=durations, second=durations, calendar=calendars)
def test_adding_in_two_steps_is_adding_once(start, first, second, calendar):
    assert add_business_time(
        add_business_time(start, first, calendar), second, calendar
    ) == add_business_time(start, first + second, calendar)


@settings(max_examples=300, deadline=None)
@given(start=moments, first=durations, second=durations, calendar=calendars)
def test_longer_targets_never_end_earlier(start, first, second, calendar):
    shorter, longer = sorted((first, second))
    assert add_business_time(start, shorter, calendar) <= add_business_time(start, longer, calendar)


@settings(max_examples=300, deadline=None)
@given(start=moments, duration=durations)
def test_a_business_deadline_never_falls_on_a_holiday_or_weekend(start, duration):
    assume(duration > timedelta(0))
    due = add_business_time(start, duration, VIETNAM).astimezone(HCMC)
    assert due.date() not in VIETNAM.holidays
    assert due.weekday() < 5
    assert any(begin < due <= end for begin, end in VIETNAM.intervals_on(due.date()))


@settings(max_examples=300, deadline=None)
@given(start=moments, end=moments, calendar=calendars)
def test_business_time_never_exceeds_wall_time(start, end, calendar):
    assert timedelta(0) <= business_time_between(start, end, calendar) <= max(end - start, timedelta(0))


@settings(max_examples=300, deadline=None)
@given(start=moments, duration=durations, pause_start=moments, pause_length=durations)
def test_a_pause_gives_back_exactly_the_working_time_it_took(start, duration, pause_start, pause_length):
    due = add_business_time(start, duration, VIETNAM)
    pause_end = pause_start + pause_length
    moved = resume_deadline(due, pause_start, pause_end, VIETNAM)
    assert moved >= due
    assert business_time_between(due, moved, VIETNAM) == business_time_between(
        pause_start, pause_end, VIETNAM
    )


@settings(max_examples=200, deadline=None)
@given(start=moments, duration=durations, ratio=st.floats(min_value=0.05, max_value=1.0))
def test_the_warning_comes_before_the_deadline(start, duration, ratio):
    due = add_business_time(start, duration, VIETNAM)
    assert start <= warning_point(start, due, ratio, VIETNAM) <= due


def test_vietnamese_holidays_include_tet():
    assert {date(2026, 2, 17), date(2026, 2, 18)} <= VIETNAM.holidays
