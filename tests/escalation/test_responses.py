"""A first response set-wise (escalation.responses): the UPDATE answers exactly the complaints
whose clock is plain, and leaves each of them where `clock.note_staff_response` leaves it; every
other complaint is left untouched, for the clock in Python."""

from __future__ import annotations

import math
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from complaints.models import QUEUE_STATUSES, Complaint, Complexity, Status, new_reference
from escalation import clock, responses
from escalation.models import BusinessCalendar, Regime, SlaPolicy
from escalation.policies import forget_policies, policy_for, warning_ratio
from tests.factories import NOW, make_complaint

pytestmark = pytest.mark.django_db

US = timedelta(microseconds=1)
DAY = timedelta(days=1)
# What the UPDATE writes, and what it must leave alone.
WRITTEN = ("first_responded_at", "next_check_at", "version")
CLOCK = (
    "status",
    "regime_id",
    "complexity",
    "clock_started_at",
    "clock_paused_at",
    "first_response_due_at",
    "first_responded_at",
    "first_response_warned_at",
    "first_response_breached_at",
    "resolution_due_at",
    "resolution_warned_at",
    "resolution_breached_at",
    "escalation_level",
    "level_since",
    "next_check_at",
    "version",
)


def moment(low: timedelta, high: timedelta):
    """A moment between NOW + low and NOW + high, to the microsecond."""
    return st.integers(low // US, high // US).map(lambda us: NOW + us * US)


def maybe(strategy, share_none: float = 0.5):
    return st.one_of(st.none(), strategy) if share_none else strategy


@st.composite
def clocks(draw) -> dict:
    """A complaint's clock: mostly plain ones (the common case), each way of not being plain mixed
    in now and then, on its own."""
    started = draw(moment(-30 * DAY, timedelta(0)))

    def now_and_then(strategy, otherwise):
        return draw(
            st.one_of(strategy, st.just(otherwise)) if draw(st.integers(0, 6)) == 0 else st.just(otherwise)
        )

    return {
        "status": now_and_then(st.sampled_from(Status.values), Status.OPEN),
        "regime": now_and_then(st.just(True), False),
        "complexity": draw(st.sampled_from(Complexity.values)),
        "clock_started_at": started,
        "clock_paused_at": now_and_then(moment(-DAY, timedelta(0)), None),
        "first_response_due_at": draw(maybe(moment(-2 * DAY, 2 * DAY), 0.2)),
        "first_responded_at": draw(maybe(moment(-DAY, timedelta(0)), 0.8)),
        "first_response_warned_at": draw(maybe(moment(-DAY, timedelta(0)), 0.8)),
        "first_response_breached_at": now_and_then(moment(-DAY, timedelta(0)), None),
        # Its resolution due from before the start (no clock time to it) to a month after it.
        "resolution_due_at": draw(
            maybe(st.integers(-DAY // US, 31 * DAY // US).map(lambda us: started + us * US), 0.1)
        ),
        "resolution_warned_at": draw(maybe(moment(-DAY, timedelta(0)), 0.8)),
        "resolution_breached_at": now_and_then(moment(-DAY, timedelta(0)), None),
        "escalation_level": draw(st.integers(0, 2)),
        "level_since": draw(maybe(moment(-5 * DAY, timedelta(0)))),
        # Something due before the answer, now and then (the sweep behind).
        "next_check_at": draw(maybe(moment(-DAY, 10 * DAY), 0.1)),
    }


def copies(model: Complaint, states: list[dict]) -> list[Complaint]:
    regime = Regime.objects.get(code="fca-disp")
    made = []
    for state in states:
        copy = Complaint.objects.get(pk=model.pk)
        copy.pk, copy.reference, copy.submission_key = None, new_reference(), None
        for name, value in state.items():
            if name == "regime":
                copy.regime = regime if value else None
            else:
                setattr(copy, name, value)
        made.append(copy)
    return Complaint.objects.bulk_create(made)


def is_plain(complaint: Complaint, now) -> bool:
    """The module's plain clock, said again in Python: its SQL must answer exactly these."""
    if complaint.status not in QUEUE_STATUSES or complaint.regime_id is not None:
        return False
    if complaint.clock_paused_at is not None:
        return False
    if complaint.next_check_at is not None and complaint.next_check_at <= now:
        return False  # something to settle first
    if complaint.first_responded_at is not None:
        return True
    policy, calendar = policy_for(complaint)
    if policy is None or calendar is not None:
        return False
    if complaint.first_response_breached_at or complaint.resolution_breached_at:
        return False
    start, due = complaint.clock_started_at or complaint.submitted_at, complaint.resolution_due_at
    if complaint.resolution_warned_at is None and due is not None and due > start:
        share = float((due - start) // US) * warning_ratio(policy)  # float8 in SQL, the same IEEE product
        if share - math.floor(share) == 0.5:
            return False  # a half: the SQL cannot tell whether it was a tie
    return True


def expected(complaint: Complaint, now) -> tuple:
    """What `note_staff_response` leaves on the complaint, and its version one up."""
    clock.note_staff_response(complaint=complaint, now=now)
    return complaint.first_responded_at, complaint.next_check_at, complaint.version + 1


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    states=st.lists(clocks(), min_size=1, max_size=25),
    ratio=st.integers(1, 100).map(lambda n: Decimal(n) / 100),
    complex_on_a_calendar=st.booleans(),
)
def test_the_update_answers_the_plain_clocks_as_the_clock_does_and_leaves_the_others(
    states, ratio, complex_on_a_calendar
):
    now = NOW
    with transaction.atomic():
        SlaPolicy.objects.update(warning_ratio=ratio)
        if complex_on_a_calendar:  # business hours: the warning point is the clock's to count
            SlaPolicy.objects.filter(complexity=Complexity.COMPLEX).update(
                calendar=BusinessCalendar.objects.first()
            )
        forget_policies()
        model = make_complaint(now=NOW - 31 * DAY)
        made = copies(model, states)
        before = {c.pk: c for c in Complaint.objects.filter(pk__in=[c.pk for c in made])}

        answered = responses.note_staff_responses(list(before), now=now, bump="version")

        after = {c.pk: c for c in Complaint.objects.filter(pk__in=list(before))}
        assert answered == {pk for pk, complaint in before.items() if is_plain(complaint, now)}
        for pk, complaint in before.items():
            written = tuple(getattr(after[pk], name) for name in WRITTEN)
            if pk in answered:
                assert written == expected(complaint, now), {name: getattr(complaint, name) for name in CLOCK}
            else:
                assert tuple(getattr(after[pk], name) for name in CLOCK) == tuple(
                    getattr(complaint, name) for name in CLOCK
                )
        transaction.set_rollback(True)
    forget_policies()


@pytest.mark.parametrize(
    ("span", "ratio", "warning"),
    [
        (4 * US, "0.75", 3 * US),  # whole
        (6 * US, "0.75", None),  # 4.5 µs: a half, left to the clock in Python
        (DAY, "0.75", 18 * 3600 * 10**6 * US),
        (3 * DAY + 7 * US, "0.80", None),  # answered: checked below against the clock
    ],
)
def test_the_warning_point_is_the_clocks_to_the_microsecond(span, ratio, warning):
    SlaPolicy.objects.update(warning_ratio=Decimal(ratio))
    forget_policies()
    complaint = make_complaint(now=NOW - DAY)
    Complaint.objects.filter(pk=complaint.pk).update(
        status=Status.OPEN,
        resolution_due_at=complaint.clock_started_at + span,
        first_response_due_at=NOW + DAY,
        next_check_at=NOW + DAY,
    )
    complaint.refresh_from_db()
    answered = responses.note_staff_responses([complaint.pk], now=NOW)
    after = Complaint.objects.get(pk=complaint.pk)
    if warning is None and ratio == "0.75":
        assert answered == set() and after.next_check_at == NOW + DAY
    else:
        assert answered == {complaint.pk}
        assert after.next_check_at == expected(complaint, NOW)[1]
        if warning is not None:
            assert after.next_check_at == complaint.clock_started_at + warning
    forget_policies()


@pytest.mark.parametrize(("next_check", "plain"), [(-US, False), (timedelta(0), False), (US, True)])
def test_a_check_due_by_the_answer_is_left_to_settle_first(next_check, plain):
    complaint = make_complaint(now=NOW - DAY)
    Complaint.objects.filter(pk=complaint.pk).update(status=Status.OPEN, next_check_at=NOW + next_check)
    answered = responses.note_staff_responses([complaint.pk], now=NOW, bump="version")
    after = Complaint.objects.get(pk=complaint.pk)
    assert answered == ({complaint.pk} if plain else set())
    assert (after.first_responded_at, after.version) == ((NOW, 2) if plain else (None, 1))
