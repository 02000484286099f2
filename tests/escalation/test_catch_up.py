"""Catch-up is exact: after any gap between sweeps, one sweep leaves a complaint where a sweep
every minute would have left it (DESIGN.md, the sweep; issue 12).

Every fired warning, breach and climb is stamped with the moment it became due, not the
moment a sweep got to it, so later climbs count from when the case should have reached
its rung; a workflow that changes the clock (a reply, a pause, a resume, a
reclassification, a move by a person) first settles what fell due before it.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import Role
from complaints import services
from complaints.models import Complaint, ComplaintEvent, EventKind, Notification
from escalation import sweep as sweeping
from escalation.clock import CLOCK_FIELDS
from escalation.models import Escalation, EscalationLevel, Reason, SlaPolicy
from escalation.policies import forget_policies
from tests.factories import NOW, make_complaint, make_user, sign_in

pytestmark = pytest.mark.django_db

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


@pytest.fixture
def ten_day_resolution():
    """Resolution within 10 days, so the Team lead's 48 h run out well before it."""
    SlaPolicy.objects.update(resolution_target=10 * DAY)
    forget_policies()
    yield
    forget_policies()


@pytest.fixture
def staff(ten_day_resolution):
    return {
        "agent": make_user(username="agent", role=Role.AGENT),
        "lead": make_user(username="lead", role=Role.TEAM_LEAD),
        "manager": make_user(username="manager", role=Role.MANAGER),
    }


def fresh(complaint: Complaint) -> Complaint:
    return Complaint.objects.get(pk=complaint.pk)


# --- One late sweep ------------------------------------------------------------------------------


def test_a_sweep_thirty_days_late_leaves_the_case_with_the_manager_it_should_be_with(staff):
    # Seeded ladder: Frontline climbs after 24 h, Team lead after 48 h, Manager on top.
    complaint = make_complaint()
    late = NOW + 30 * DAY
    result = sweeping.sweep(now=late)
    complaint = fresh(complaint)
    assert complaint.escalation_level == 2
    # Stamped when each fell due, not when the late sweep ran.
    assert complaint.first_response_breached_at == NOW + DAY
    assert complaint.first_response_warned_at == NOW + 18 * HOUR
    assert complaint.resolution_warned_at == NOW + 7 * DAY + 12 * HOUR
    assert complaint.resolution_breached_at == NOW + 10 * DAY  # at the top: recorded, nothing moves
    moves = list(Escalation.objects.values_list("from_level", "to_level", "reason", "due_at", "created_at"))
    assert moves == [
        (0, 1, Reason.FIRST_RESPONSE_BREACHED, NOW + DAY, late),
        # At Team lead from the first-response breach on: 48 h later it climbs.
        (1, 2, Reason.CLIMB, NOW + 3 * DAY, late),
    ]
    assert complaint.level_since == NOW + 3 * DAY
    assert (result.escalated, result.breached) == (2, 2)


def test_the_climb_counts_from_when_the_case_should_have_reached_its_rung(staff):
    complaint = make_complaint()
    sweeping.sweep(now=NOW + DAY + 10 * HOUR)  # ten hours late for the first-response breach
    assert fresh(complaint).level_since == NOW + DAY
    assert fresh(complaint).next_check_at == NOW + 3 * DAY  # 48 h at Team lead from NOW + 1 day
    assert sweeping.sweep(now=NOW + 3 * DAY - MINUTE).escalated == 0
    assert sweeping.sweep(now=NOW + 3 * DAY).escalated == 1
    assert fresh(complaint).escalation_level == 2


def test_a_late_sweep_sends_one_notice_per_case_that_sums_up_the_moves(staff):
    complaint = make_complaint()
    sweeping.sweep(now=NOW + 30 * DAY)
    to_complainant = Notification.objects.filter(complaint=complaint, template="case_update")
    assert to_complainant.count() == 1
    moves = to_complainant.get().context["moves"]
    assert [(m["from"], m["to"], m["reason"], m["due_at"]) for m in moves] == [
        (0, 1, Reason.FIRST_RESPONSE_BREACHED, (NOW + DAY).isoformat()),
        (1, 2, Reason.CLIMB, (NOW + 3 * DAY).isoformat()),
    ]
    # Staff: one alert, to the level the case ended at; nobody is told of a rung it already left.
    alerts = Notification.objects.filter(complaint=complaint, template="staff_alert")
    assert [n.recipient_id for n in alerts] == [staff["manager"].pk]
    # The timeline keeps one entry per move.
    assert ComplaintEvent.objects.filter(complaint=complaint, kind=EventKind.ESCALATED).count() == 2


def test_a_reply_after_an_unswept_deadline_still_counts_the_breach(staff):
    complaint = make_complaint()
    services.reply_as_staff(
        complaint=complaint, body="Chúng tôi đang xem.", by=staff["agent"], now=NOW + DAY + HOUR, version=1
    )
    complaint = fresh(complaint)
    assert complaint.first_response_breached_at == NOW + DAY
    assert complaint.escalation_level == 1
    assert complaint.first_responded_at == NOW + DAY + HOUR


def test_the_command_catches_up_with_at(staff):
    complaint = make_complaint()
    call_command("sla_sweep", "--at", (NOW + 30 * DAY).isoformat())
    assert fresh(complaint).escalation_level == 2


# --- Any gap, any pause: the same end as a sweep every minute --------------------------------------

HORIZON = 14 * 60  # minutes simulated


@st.composite
def scenarios(draw):
    first_response = draw(st.integers(5, 240))
    resolution = draw(st.integers(first_response, 600))
    ratio = draw(st.sampled_from(["0.50", "0.75", "1.00"]))
    climbs = [draw(st.one_of(st.none(), st.integers(5, 240))) for _rank in range(2)]
    # Actions on whole minutes: pauses (a request for information, then the answer), a reply.
    actions = []
    minute = 0
    for _ in range(draw(st.integers(0, 3))):
        start = minute + draw(st.integers(1, 300))
        end = start + draw(st.integers(1, 300))
        actions += [(start, "pause"), (end, "resume")]
        minute = end
    reply = draw(st.one_of(st.none(), st.integers(1, HORIZON)))
    if reply is not None:
        actions.append((reply, "reply"))
    # The gapped schedule: a sweep after each drawn gap (beat or workers down in between).
    gaps = draw(st.lists(st.integers(1, 600), max_size=8))
    sweeps, at = set(), 0
    for gap in gaps:
        at += gap
        if at < HORIZON:
            sweeps.add(at)
    sweeps.add(HORIZON)
    return {
        "targets": (first_response, resolution, ratio),
        "climbs": climbs,
        "actions": sorted(action for action in actions if action[0] < HORIZON),
        "sweeps": sweeps,
    }


def _run(scenario, staff, *, every_minute: bool):
    """File a complaint at NOW, play the actions, sweep on the schedule; return its end state."""
    complaint = make_complaint()
    services.transition_complaint(complaint=complaint, to_status="open", by=staff["agent"], now=NOW)
    actions: dict[int, list[str]] = {}
    for minute, what in scenario["actions"]:
        actions.setdefault(minute, []).append(what)
    minutes = range(1, HORIZON + 1) if every_minute else sorted(scenario["sweeps"] | set(actions))
    due = fresh(complaint).next_check_at
    for minute in minutes:
        now = NOW + minute * MINUTE
        # Every minute, the reference sweep runs when the complaint is due: a sweep finds only
        # rows whose next_check_at has come, so in the minutes between it would find nothing.
        if (every_minute and due is not None and due <= now) or minute in scenario["sweeps"]:
            sweeping.sweep(now=now)
            due = fresh(complaint).next_check_at
        for what in actions.get(minute, []):
            complaint = fresh(complaint)
            if complaint.status == "awaiting_complainant" and what == "pause":
                continue
            if what == "pause" and complaint.status == "open":
                services.request_information(
                    complaint=complaint,
                    body="Cần mã đơn hàng.",
                    by=staff["agent"],
                    now=now,
                    version=complaint.version,
                )
            elif what == "resume" and complaint.status == "awaiting_complainant":
                services.reply_as_complainant(complaint=complaint, body="Mã đơn: 123.", by=None, now=now)
            elif what == "reply" and complaint.status in ("new", "open"):
                services.reply_as_staff(
                    complaint=complaint,
                    body="Đang xử lý.",
                    by=staff["agent"],
                    now=now,
                    version=complaint.version,
                )
            due = fresh(complaint).next_check_at
    complaint = fresh(complaint)
    state = {name: getattr(complaint, name) for name in CLOCK_FIELDS}
    state["status"] = complaint.status
    state["moves"] = list(
        Escalation.objects.filter(complaint=complaint)
        .order_by("due_at", "pk")
        .values_list("from_level", "to_level", "reason", "due_at", "deadline_at")
    )
    return state


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(scenario=scenarios())
def test_one_sweep_after_any_gap_ends_where_a_sweep_every_minute_ends(scenario, staff):
    first_response, resolution, ratio = scenario["targets"]
    with transaction.atomic():
        SlaPolicy.objects.update(
            first_response_target=first_response * MINUTE,
            resolution_target=resolution * MINUTE,
            warning_ratio=ratio,
        )
        for rank, climb in enumerate(scenario["climbs"]):
            EscalationLevel.objects.filter(rank=rank).update(
                climb_after=None if climb is None else climb * MINUTE
            )
        forget_policies()
        ends = []
        for every_minute in (True, False):
            with transaction.atomic():
                ends.append(_run(scenario, staff, every_minute=every_minute))
                transaction.set_rollback(True)
        transaction.set_rollback(True)
    forget_policies()
    assert ends[1] == ends[0]


@pytest.mark.parametrize(
    ("language", "first", "climb"),
    [
        (
            "en",
            "the deadline for a first answer passed, so the case went from “Frontline” to “Team lead”.",
            "the time allowed at “Team lead” ran out, so the case went up to “Manager”.",
        ),
        (
            "vi",
            "đã quá hạn phản hồi lần đầu, nên hồ sơ được chuyển từ “Tuyến đầu” lên “Trưởng nhóm”.",
            "đã hết thời gian cho phép ở cấp “Trưởng nhóm”, nên hồ sơ được chuyển lên “Quản lý”.",
        ),
    ],
)
def test_the_summary_e_mail_lists_each_move_in_the_readers_language(staff, language, first, climb):
    from complaints.notifications import render_notification

    complaint = make_complaint(language=language)
    sweeping.sweep(now=NOW + 30 * DAY)
    notice = Notification.objects.get(complaint=complaint, template="case_update")
    message = render_notification(notice, now=NOW + 30 * DAY)
    text, html = message.body, message.alternatives[0][0]
    assert first in text and climb in text
    assert first in html and climb in html
    assert text.index(first) < text.index(climb)


def test_the_timeline_says_when_each_move_of_a_late_sweep_fell_due(client, staff):
    import re

    from django.urls import reverse
    from django.utils import translation

    from common.times import when

    owner = make_user(username="owner", preferred_language="en")
    complaint = make_complaint(by=owner)
    sweeping.sweep(now=NOW + 30 * DAY)
    sign_in(client, owner)
    page = client.get(reverse("complaints:detail", args=[complaint.reference]), HTTP_ACCEPT_LANGUAGE="en")
    text = " ".join(re.sub(r"<[^>]+>", " ", page.content.decode()).split())
    with translation.override("en"):
        first, climb = when(NOW + DAY), when(NOW + 3 * DAY)
    assert f"The first-response deadline ({first}) passed; the case moved up to “Team lead”." in text
    assert f"The time allowed at “Team lead” ran out ({climb}); the case moved up to “Manager”." in text
