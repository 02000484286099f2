"""Periods in days as statutes count them: the day of receipt not counted, working days over
Tết and weekends, calendar days rolled past a day off or not."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays as holiday_data
import pytest
from hypothesis import given
from hypothesis import strategies as st

from escalation.sla import (
    CALENDAR_DAYS,
    WORKING_DAYS,
    Calendar,
    CalendarHasNoWorkingTime,
    add_days,
    days_between,
    is_working_day,
    resume_days,
)

HCMC = ZoneInfo("Asia/Ho_Chi_Minh")
OFFICE = ((time(8), time(12)), (time(13, 30), time(17, 30)))
VIETNAM = Calendar(
    time_zone="Asia/Ho_Chi_Minh",
    hours=dict.fromkeys(range(5), OFFICE),
    holidays=frozenset(holiday_data.VN(years=range(2025, 2029))),
)
LONDON = Calendar(
    time_zone="Europe/London",
    hours=dict.fromkeys(range(5), ((time(9), time(17, 30)),)),
    holidays=frozenset(holiday_data.UK(subdiv="ENG", years=range(2025, 2029))),
)
# Tết 2027: Thursday 4 to Wednesday 10 February are days off; Thursday 11 is a working day.
TET_2027 = [date(2027, 2, day) for day in range(4, 11)]


def end_of(day: date, zone: ZoneInfo = HCMC) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)


def test_seven_working_days_step_over_tet_and_the_weekend_after_it():
    period = add_days(datetime(2027, 2, 1, 10, tzinfo=HCMC), 7, WORKING_DAYS, VIETNAM)
    # Counted: 2, 3, 11, 12, 15, 16, 17 February.
    assert period.last_day == date(2027, 2, 17)
    assert period.due_at == end_of(date(2027, 2, 17)) == datetime(2027, 2, 17, 17, tzinfo=UTC)
    assert period.days_off == (*TET_2027, date(2027, 2, 13), date(2027, 2, 14))
    assert period.rolled_from is None


def test_the_day_of_receipt_is_the_local_day_not_the_utc_one():
    # 23:59 and 00:00 in Hồ Chí Minh City on either side of midnight: both on the same UTC day.
    before = add_days(datetime(2027, 2, 1, 23, 59, tzinfo=HCMC), 7, WORKING_DAYS, VIETNAM)
    at = add_days(datetime(2027, 2, 2, 0, 0, tzinfo=HCMC), 7, WORKING_DAYS, VIETNAM)
    assert before.last_day == date(2027, 2, 17)
    assert at.last_day == date(2027, 2, 18)  # counted from Wednesday 3: one working day later
    # The same instant given in UTC counts the same.
    assert add_days(datetime(2027, 2, 1, 17, 0, tzinfo=UTC), 7, WORKING_DAYS, VIETNAM) == at


def test_received_on_a_day_off_counts_from_the_next_working_day():
    period = add_days(datetime(2027, 2, 6, 9, tzinfo=HCMC), 1, WORKING_DAYS, VIETNAM)  # Tết itself
    assert period.last_day == date(2027, 2, 11)
    assert period.days_off == tuple(TET_2027[3:])  # 7 to 10 February


def test_calendar_days_ending_in_tet_roll_to_the_next_working_day_only_when_asked():
    received = datetime(2027, 1, 27, 15, tzinfo=HCMC)
    plain = add_days(received, 10, CALENDAR_DAYS, VIETNAM)
    assert plain.last_day == date(2027, 2, 6)  # 28 January + 9: Saturday, in Tết
    assert plain.due_at == end_of(date(2027, 2, 6))
    assert plain.rolled_from is None
    rolled = add_days(received, 10, CALENDAR_DAYS, VIETNAM, roll_to_working_day=True)
    assert rolled.last_day == date(2027, 2, 11)
    assert rolled.rolled_from == date(2027, 2, 6)
    assert rolled.days_off == (date(2027, 1, 30), date(2027, 1, 31), *TET_2027)
    # A last day that is a working day stays where it is.
    before_tet = add_days(received, 7, CALENDAR_DAYS, VIETNAM, roll_to_working_day=True)
    assert (before_tet.last_day, before_tet.rolled_from) == (date(2027, 2, 3), None)


def test_eight_weeks_in_london_end_at_london_midnight():
    # The FCA's eight weeks, received on Christmas Eve: Christmas and Boxing Day count too.
    received = datetime(2026, 12, 24, 16, tzinfo=ZoneInfo("Europe/London"))
    period = add_days(received, 56, CALENDAR_DAYS, LONDON)
    assert period.last_day == date(2027, 2, 18)
    assert period.due_at == end_of(date(2027, 2, 18), ZoneInfo("Europe/London"))
    assert date(2026, 12, 25) in period.days_off and date(2026, 12, 28) in period.days_off


def test_fifteen_business_days_in_london_skip_the_bank_holidays():
    received = datetime(2026, 12, 21, 11, tzinfo=ZoneInfo("Europe/London"))
    period = add_days(received, 15, WORKING_DAYS, LONDON)
    # 22, 23, 24, 29, 30, 31 December; 4-8 and 11-14 January (25, 26 weekend; 25, 28 Dec, 1 Jan off).
    assert period.last_day == date(2027, 1, 14)


def test_what_cannot_be_counted_is_refused():
    received = datetime(2027, 2, 1, tzinfo=HCMC)
    with pytest.raises(ValueError):
        add_days(received, 0, WORKING_DAYS, VIETNAM)
    with pytest.raises(ValueError):
        add_days(received, 3, "fortnights", VIETNAM)
    with pytest.raises(CalendarHasNoWorkingTime):
        add_days(received, 1, WORKING_DAYS, Calendar(time_zone="UTC", hours={}))
    with pytest.raises(CalendarHasNoWorkingTime):
        add_days(received, 1, CALENDAR_DAYS, Calendar(time_zone="UTC", hours={}), roll_to_working_day=True)


received_moments = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2028, 6, 30), timezones=st.just(UTC)
)


@given(received=received_moments, days=st.integers(min_value=1, max_value=60))
def test_a_working_day_period_counts_exactly_its_days(received, days):
    period = add_days(received, days, WORKING_DAYS, VIETNAM)
    first = received.astimezone(HCMC).date() + timedelta(days=1)
    span = [first + timedelta(days=n) for n in range((period.last_day - first).days + 1)]
    working = [day for day in span if is_working_day(VIETNAM, day)]
    assert len(working) == days and working[-1] == period.last_day
    assert period.days_off == tuple(day for day in span if day not in working)
    assert period.due_at == end_of(period.last_day)


@given(received=received_moments, days=st.integers(min_value=1, max_value=60), roll=st.booleans())
def test_a_calendar_day_period_counts_every_day_and_rolls_only_off_a_day_off(received, days, roll):
    period = add_days(received, days, CALENDAR_DAYS, VIETNAM, roll_to_working_day=roll)
    counted_to = received.astimezone(HCMC).date() + timedelta(days=days)
    if period.rolled_from is None:
        assert period.last_day == counted_to
        assert not roll or is_working_day(VIETNAM, counted_to)
    else:
        assert roll and period.rolled_from == counted_to and not is_working_day(VIETNAM, counted_to)
        assert is_working_day(VIETNAM, period.last_day)
        between = [counted_to + timedelta(days=n) for n in range((period.last_day - counted_to).days)]
        assert not any(is_working_day(VIETNAM, day) for day in between)


def test_a_pause_counts_the_days_after_the_one_it_began_on_up_to_the_one_it_ended_on():
    friday = datetime(2027, 1, 29, 15, tzinfo=HCMC)
    assert days_between(friday, friday + timedelta(hours=2), WORKING_DAYS, VIETNAM) == 0  # the same day
    assert days_between(friday, datetime(2027, 2, 1, 9, tzinfo=HCMC), WORKING_DAYS, VIETNAM) == 1  # Monday
    assert days_between(friday, datetime(2027, 2, 1, 9, tzinfo=HCMC), CALENDAR_DAYS, VIETNAM) == 3
    due = add_days(friday, 7, WORKING_DAYS, VIETNAM).due_at  # 1, 2, 3, 11, 12, 15, 16 February
    assert due == end_of(date(2027, 2, 16))
    assert resume_days(due, friday, friday + timedelta(hours=2), WORKING_DAYS, VIETNAM) is None  # none taken
    moved = resume_days(due, friday, datetime(2027, 2, 1, 9, tzinfo=HCMC), WORKING_DAYS, VIETNAM)
    assert moved.due_at == end_of(date(2027, 2, 17))  # one working day more
