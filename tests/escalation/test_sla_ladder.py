"""What is due and what firing it does: `checkpoints`, `next_level`, `apply` and `due`.

Pure functions, no database: the sweep only reads rows and writes what these return.
The clock below runs on wall-clock time (no calendar) with the intake policy's targets:
first response in 24 h, resolution in 72 h, warnings at 75 %.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from escalation.sla import (
    BREACH_FIRST_RESPONSE,
    BREACH_RESOLUTION,
    CLIMB,
    WARN_FIRST_RESPONSE,
    WARN_RESOLUTION,
    Calendar,
    Checkpoint,
    Clock,
    Fired,
    Rung,
    apply,
    checkpoints,
    due,
    next_level,
)

T0 = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)  # a Monday
HOUR = timedelta(hours=1)
TICK = timedelta(microseconds=1)  # the smallest step between two datetimes
RATIO = 0.75
# Agent -> Team lead after 12 h, Team lead -> Manager after 48 h, Manager is the top.
LADDER = (Rung(0, 12 * HOUR), Rung(1, 48 * HOUR), Rung(2, None))

FIRST_RESPONSE_DUE = T0 + 24 * HOUR
FIRST_RESPONSE_WARNING = T0 + 18 * HOUR
RESOLUTION_DUE = T0 + 72 * HOUR
RESOLUTION_WARNING = T0 + 54 * HOUR


def clock(**changes) -> Clock:
    """A clock started at T0 with nothing fired yet, with `changes`."""
    return Clock(
        started_at=T0, first_response_due_at=FIRST_RESPONSE_DUE, resolution_due_at=RESOLUTION_DUE
    )._replace(**changes)


def ahead(state: Clock, ladder=LADDER) -> list[Checkpoint]:
    return checkpoints(state, ratio=RATIO, calendar=None, ladder=ladder)


def fire(state: Clock, now: datetime, ladder=LADDER) -> tuple[list[Fired], Clock, datetime | None]:
    return due(state, now, ratio=RATIO, calendar=None, ladder=ladder)


def breached_at_level_one(since: datetime = FIRST_RESPONSE_DUE, **changes) -> Clock:
    """The first response was missed at its deadline and the case went up to level 1."""
    return clock(
        first_response_warned_at=FIRST_RESPONSE_WARNING,
        first_response_breached_at=FIRST_RESPONSE_DUE,
        level=1,
        level_since=since,
    )._replace(**changes)


# --- checkpoints --------------------------------------------------------------------------


def test_a_new_clock_has_both_warnings_and_both_deadlines_in_time_order():
    assert ahead(clock()) == [
        Checkpoint(WARN_FIRST_RESPONSE, FIRST_RESPONSE_WARNING, FIRST_RESPONSE_DUE),
        Checkpoint(BREACH_FIRST_RESPONSE, FIRST_RESPONSE_DUE, FIRST_RESPONSE_DUE),
        Checkpoint(WARN_RESOLUTION, RESOLUTION_WARNING, RESOLUTION_DUE),
        Checkpoint(BREACH_RESOLUTION, RESOLUTION_DUE, RESOLUTION_DUE),
    ]


def test_checkpoints_are_in_time_order_whichever_deadline_comes_first():
    state = clock(resolution_due_at=T0 + 8 * HOUR)
    assert [(c.kind, c.at) for c in ahead(state)] == [
        (WARN_RESOLUTION, T0 + 6 * HOUR),
        (BREACH_RESOLUTION, T0 + 8 * HOUR),
        (WARN_FIRST_RESPONSE, FIRST_RESPONSE_WARNING),
        (BREACH_FIRST_RESPONSE, FIRST_RESPONSE_DUE),
    ]


def test_checkpoints_at_the_same_moment_are_in_kind_order():
    state = clock(resolution_due_at=FIRST_RESPONSE_DUE)
    assert [(c.kind, c.at) for c in ahead(state)] == [
        (WARN_FIRST_RESPONSE, FIRST_RESPONSE_WARNING),
        (WARN_RESOLUTION, FIRST_RESPONSE_WARNING),
        (BREACH_FIRST_RESPONSE, FIRST_RESPONSE_DUE),
        (BREACH_RESOLUTION, FIRST_RESPONSE_DUE),
    ]


def test_the_warning_points_computed_are_kept_by_deadline():
    warnings: dict[datetime, datetime] = {}
    checkpoints(clock(), ratio=RATIO, calendar=None, ladder=LADDER, warnings=warnings)
    assert warnings == {FIRST_RESPONSE_DUE: FIRST_RESPONSE_WARNING, RESOLUTION_DUE: RESOLUTION_WARNING}


def test_a_paused_clock_has_nothing_ahead():
    # Unpaused, this clock would have a resolution warning, its deadline and a climb ahead.
    state = breached_at_level_one()
    assert ahead(state) != []
    assert ahead(state._replace(paused=True)) == []


def test_a_first_response_given_stops_the_first_response_checkpoints():
    state = clock(first_responded_at=T0 + HOUR)
    assert [c.kind for c in ahead(state)] == [WARN_RESOLUTION, BREACH_RESOLUTION]


def test_a_warning_sent_is_not_ahead_any_more_but_its_deadline_is():
    state = clock(first_response_warned_at=FIRST_RESPONSE_WARNING, resolution_warned_at=RESOLUTION_WARNING)
    assert [c.kind for c in ahead(state)] == [BREACH_FIRST_RESPONSE, BREACH_RESOLUTION]


def test_a_climb_is_counted_from_level_since_plus_the_rungs_climb_after():
    # Moved to level 1 six hours after the breach (say by hand): the 48 h run from then.
    since = FIRST_RESPONSE_DUE + 6 * HOUR
    state = breached_at_level_one(since=since)
    assert Checkpoint(CLIMB, since + 48 * HOUR, since) in ahead(state)
    assert [c.kind for c in ahead(state)] == [WARN_RESOLUTION, BREACH_RESOLUTION, CLIMB]


def test_a_missed_resolution_deadline_alone_starts_the_climb_clock():
    since = RESOLUTION_DUE
    state = clock(
        first_responded_at=T0 + HOUR,
        resolution_warned_at=RESOLUTION_WARNING,
        resolution_breached_at=RESOLUTION_DUE,
        level=1,
        level_since=since,
    )
    assert ahead(state) == [Checkpoint(CLIMB, since + 48 * HOUR, since)]


def test_there_is_no_climb_before_a_deadline_is_missed():
    # Moved up by hand, nothing missed yet: only the deadlines are ahead.
    state = clock(level=1, level_since=T0 + HOUR)
    assert CLIMB not in [c.kind for c in ahead(state)]


def test_there_is_no_climb_without_level_since():
    assert [c.kind for c in ahead(breached_at_level_one(since=None))] == [WARN_RESOLUTION, BREACH_RESOLUTION]


def test_there_is_no_climb_from_the_top_of_the_ladder():
    # The top rung has a climb_after here, but there is nowhere to climb to.
    ladder = (Rung(0, 12 * HOUR), Rung(1, 48 * HOUR), Rung(2, 24 * HOUR))
    state = breached_at_level_one(level=2)
    assert CLIMB not in [c.kind for c in ahead(state, ladder)]
    assert CLIMB in [c.kind for c in ahead(state._replace(level=1), ladder)]


def test_there_is_no_climb_from_a_rung_without_climb_after():
    ladder = (Rung(0, 12 * HOUR), Rung(1, None), Rung(2, None))
    assert CLIMB not in [c.kind for c in ahead(breached_at_level_one(), ladder)]


def test_there_is_no_climb_from_a_level_no_longer_on_the_ladder():
    ladder = (Rung(0, 12 * HOUR), Rung(2, None))  # level 1 was removed
    assert CLIMB not in [c.kind for c in ahead(breached_at_level_one(), ladder)]


# --- next_level ---------------------------------------------------------------------------


def test_the_next_level_is_the_rung_just_above():
    assert [next_level(level, LADDER) for level in (0, 1)] == [1, 2]


def test_the_top_of_the_ladder_has_no_level_above():
    assert next_level(2, LADDER) == 2
    assert next_level(3, []) == 3


def test_the_next_level_skips_gaps_in_the_ranks_whatever_their_order():
    ladder = [Rung(20, None), Rung(0, HOUR), Rung(10, HOUR)]
    assert [next_level(level, ladder) for level in (0, 5, 10, 20)] == [10, 10, 20, 20]


# --- apply --------------------------------------------------------------------------------


def test_a_warning_only_records_that_it_was_sent_as_of_when_it_fell_due():
    first = Checkpoint(WARN_FIRST_RESPONSE, FIRST_RESPONSE_WARNING, FIRST_RESPONSE_DUE)
    assert apply(clock(), first, LADDER) == clock(first_response_warned_at=FIRST_RESPONSE_WARNING)
    resolution = Checkpoint(WARN_RESOLUTION, RESOLUTION_WARNING, RESOLUTION_DUE)
    assert apply(clock(), resolution, LADDER) == clock(resolution_warned_at=RESOLUTION_WARNING)


def test_a_breach_goes_up_one_rung_as_of_its_deadline_and_counts_the_warning_as_given():
    due = FIRST_RESPONSE_DUE
    breach = Checkpoint(BREACH_FIRST_RESPONSE, due, due)
    assert apply(clock(), breach, LADDER) == clock(
        first_response_warned_at=due, first_response_breached_at=due, level=1, level_since=due
    )
    # A warning already sent keeps its time.
    warned = clock(first_response_warned_at=FIRST_RESPONSE_WARNING)
    assert apply(warned, breach, LADDER).first_response_warned_at == FIRST_RESPONSE_WARNING


def test_a_resolution_breach_goes_up_one_rung_from_where_the_case_is():
    due = RESOLUTION_DUE
    breach = Checkpoint(BREACH_RESOLUTION, due, due)
    state = breached_at_level_one()
    assert apply(state, breach, LADDER) == state._replace(
        resolution_warned_at=due, resolution_breached_at=due, level=2, level_since=due
    )


def test_a_climb_goes_up_one_rung_and_restarts_the_climb_clock_from_when_it_fell_due():
    due = FIRST_RESPONSE_DUE + 48 * HOUR
    state = breached_at_level_one()
    climb = Checkpoint(CLIMB, due, FIRST_RESPONSE_DUE)
    assert apply(state, climb, LADDER) == state._replace(level=2, level_since=due)


def test_a_breach_at_the_top_is_recorded_and_moves_nothing():
    since = FIRST_RESPONSE_DUE
    state = breached_at_level_one(level=2, since=since)
    breach = Checkpoint(BREACH_RESOLUTION, RESOLUTION_DUE, RESOLUTION_DUE)
    assert apply(state, breach, LADDER) == state._replace(
        resolution_warned_at=RESOLUTION_DUE, resolution_breached_at=RESOLUTION_DUE
    )


# --- due: just before, exactly at, just after -------------------------------------------


def test_nothing_fires_just_before_the_warning_point_and_it_is_the_next_check():
    assert fire(clock(), FIRST_RESPONSE_WARNING - TICK) == ([], clock(), FIRST_RESPONSE_WARNING)


@pytest.mark.parametrize("now", [FIRST_RESPONSE_WARNING, FIRST_RESPONSE_WARNING + TICK])
def test_the_warning_fires_at_its_point_and_just_after(now):
    fired, state, next_check = fire(clock(), now)
    warning = Checkpoint(WARN_FIRST_RESPONSE, FIRST_RESPONSE_WARNING, FIRST_RESPONSE_DUE)
    assert fired == [Fired(warning, 0, 0)]
    assert state == clock(first_response_warned_at=FIRST_RESPONSE_WARNING)  # as of when it fell due
    assert next_check == FIRST_RESPONSE_DUE


def test_nothing_fires_just_before_the_deadline_and_it_is_the_next_check():
    warned = clock(first_response_warned_at=FIRST_RESPONSE_WARNING)
    assert fire(warned, FIRST_RESPONSE_DUE - TICK) == ([], warned, FIRST_RESPONSE_DUE)


@pytest.mark.parametrize("now", [FIRST_RESPONSE_DUE, FIRST_RESPONSE_DUE + TICK])
def test_the_breach_fires_at_the_deadline_and_just_after(now):
    warned = clock(first_response_warned_at=FIRST_RESPONSE_WARNING)
    fired, state, next_check = fire(warned, now)
    breach = Checkpoint(BREACH_FIRST_RESPONSE, FIRST_RESPONSE_DUE, FIRST_RESPONSE_DUE)
    assert fired == [Fired(breach, 0, 1)]
    assert state == warned._replace(
        first_response_breached_at=FIRST_RESPONSE_DUE, level=1, level_since=FIRST_RESPONSE_DUE
    )
    assert next_check == RESOLUTION_WARNING  # before the climb (now + 48 h) and the resolution deadline


def test_a_warning_not_sent_before_its_deadline_gives_way_to_the_breach():
    fired, state, _next_check = fire(clock(), FIRST_RESPONSE_DUE)
    assert [f.checkpoint.kind for f in fired] == [BREACH_FIRST_RESPONSE]
    # ...and is never sent afterwards.
    assert state.first_response_warned_at == FIRST_RESPONSE_WARNING
    assert WARN_FIRST_RESPONSE not in [c.kind for c in ahead(state)]


def test_a_late_warning_is_still_sent_while_its_deadline_is_ahead():
    fired, _state, next_check = fire(clock(), FIRST_RESPONSE_DUE - TICK)
    assert [f.checkpoint.kind for f in fired] == [WARN_FIRST_RESPONSE]
    assert next_check == FIRST_RESPONSE_DUE


def test_the_climb_fires_exactly_climb_after_since_level_since():
    # Resolution far away, so that the climb is the only thing ahead for a while.
    state = breached_at_level_one(resolution_due_at=T0 + timedelta(days=30))
    climb_at = FIRST_RESPONSE_DUE + 48 * HOUR
    assert fire(state, climb_at - TICK) == ([], state, climb_at)
    fired, after, next_check = fire(state, climb_at)
    assert fired == [Fired(Checkpoint(CLIMB, climb_at, FIRST_RESPONSE_DUE), 1, 2)]
    assert (after.level, after.level_since) == (2, climb_at)
    assert next_check == T0 + timedelta(days=30) * RATIO  # the resolution warning; no climb from the top


# --- due: what fires, in which order ----------------------------------------------------


def test_a_late_sweep_fires_the_breaches_in_deadline_order_one_rung_each():
    now = T0 + 100 * HOUR
    fired, state, next_check = fire(clock(), now)
    assert fired == [
        Fired(Checkpoint(BREACH_FIRST_RESPONSE, FIRST_RESPONSE_DUE, FIRST_RESPONSE_DUE), 0, 1),
        Fired(Checkpoint(BREACH_RESOLUTION, RESOLUTION_DUE, RESOLUTION_DUE), 1, 2),
    ]
    # Each stamped as of when it fell due, as a sweep every minute would have left it.
    assert state == clock(
        first_response_warned_at=FIRST_RESPONSE_WARNING,
        first_response_breached_at=FIRST_RESPONSE_DUE,
        resolution_warned_at=RESOLUTION_WARNING,
        resolution_breached_at=RESOLUTION_DUE,
        level=2,
        level_since=RESOLUTION_DUE,
    )
    assert next_check is None  # at the top with every deadline missed: nothing left to check


def test_a_breach_then_a_warning_of_the_other_deadline_fire_in_time_order():
    state = clock(resolution_due_at=T0 + 40 * HOUR)  # its warning at T0 + 30 h
    fired, _state, next_check = fire(state, T0 + 35 * HOUR)
    assert [(f.checkpoint.kind, f.checkpoint.at, f.from_level, f.to_level) for f in fired] == [
        (BREACH_FIRST_RESPONSE, FIRST_RESPONSE_DUE, 0, 1),
        (WARN_RESOLUTION, T0 + 30 * HOUR, 1, 1),
    ]
    assert next_check == T0 + 40 * HOUR


def test_a_climb_and_a_breach_at_the_same_moment_go_up_one_rung():
    state = breached_at_level_one(resolution_warned_at=RESOLUTION_WARNING)
    assert FIRST_RESPONSE_DUE + 48 * HOUR == RESOLUTION_DUE  # the climb falls on the deadline
    fired, after, next_check = fire(state, RESOLUTION_DUE)
    assert fired == [Fired(Checkpoint(BREACH_RESOLUTION, RESOLUTION_DUE, RESOLUTION_DUE), 1, 2)]
    assert (after.level, next_check) == (2, None)


def test_a_paused_clock_fires_nothing():
    state = clock(paused=True)
    assert fire(state, T0 + timedelta(days=365)) == ([], state, None)


def test_after_a_first_response_only_the_resolution_deadline_fires():
    state = clock(first_responded_at=T0 + HOUR)
    now = T0 + 100 * HOUR
    fired, after, next_check = fire(state, now)
    assert fired == [Fired(Checkpoint(BREACH_RESOLUTION, RESOLUTION_DUE, RESOLUTION_DUE), 0, 1)]
    assert (after.first_response_warned_at, after.first_response_breached_at) == (None, None)
    assert next_check == RESOLUTION_DUE + 48 * HOUR  # the climb from level 1, counted from the deadline


def test_a_breach_at_the_top_of_the_ladder_is_recorded_without_a_move():
    since = FIRST_RESPONSE_DUE
    state = breached_at_level_one(level=2, since=since, resolution_warned_at=RESOLUTION_WARNING)
    fired, after, next_check = fire(state, RESOLUTION_DUE)
    assert fired == [Fired(Checkpoint(BREACH_RESOLUTION, RESOLUTION_DUE, RESOLUTION_DUE), 2, 2)]
    assert (after.level, after.level_since, after.resolution_breached_at) == (2, since, RESOLUTION_DUE)
    assert next_check is None


# --- due: properties ----------------------------------------------------------------------

OFFICE = Calendar(time_zone="Asia/Ho_Chi_Minh", hours=dict.fromkeys(range(5), ((time(8), time(17)),)))
starts = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 6, 30), timezones=st.just(UTC))
targets = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=20))
ladders = st.sampled_from(
    [
        LADDER,
        (Rung(0, 12 * HOUR), Rung(1, 48 * HOUR), Rung(2, 24 * HOUR)),
        (Rung(0, None), Rung(5, HOUR), Rung(9, None)),
    ]
)


@st.composite
def clocks(draw) -> Clock:
    start = draw(starts)
    return Clock(
        started_at=start,
        first_response_due_at=draw(st.none() | targets.map(lambda t: start + t)),
        resolution_due_at=draw(st.none() | targets.map(lambda t: start + t)),
        first_responded_at=draw(st.none() | st.just(start + HOUR)),
        paused=draw(st.booleans()),
    )


@settings(max_examples=300, deadline=None)
@given(
    state=clocks(),
    later=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=60)),
    ladder=ladders,
    calendar=st.sampled_from([None, OFFICE]),
)
def test_due_fires_in_time_order_leaves_nothing_due_and_fires_nothing_twice(state, later, ladder, calendar):
    state = state._replace(level=min(rung.rank for rung in ladder))
    now = state.started_at + later
    upcoming = checkpoints(state, ratio=RATIO, calendar=calendar, ladder=ladder)
    assert [(c.at, c.kind) for c in upcoming] == sorted((c.at, c.kind) for c in upcoming)

    fired, after, next_check = due(state, now, ratio=RATIO, calendar=calendar, ladder=ladder)
    assert all(f.checkpoint.at <= now for f in fired)
    assert [f.checkpoint.at for f in fired] == sorted(f.checkpoint.at for f in fired)
    for f in fired:
        if f.checkpoint.kind.startswith("warn_"):
            assert f.to_level == f.from_level
        else:
            assert f.to_level == next_level(f.from_level, ladder)
    assert next_check is None or next_check > now
    remaining = checkpoints(after, ratio=RATIO, calendar=calendar, ladder=ladder)
    assert next_check == (remaining[0].at if remaining else None)
    assert due(after, now, ratio=RATIO, calendar=calendar, ladder=ladder) == ([], after, next_check)
    if state.paused:
        assert (fired, after) == ([], state)
    if state.first_responded_at is not None:
        assert all("first_response" not in f.checkpoint.kind for f in fired)
