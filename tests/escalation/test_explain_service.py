"""Every service deadline (first response, resolution) explains itself from the timeline: the
SLA policy and its target, the calendar's hours and the days it did not count (holidays by
name), each pause, each reclassification, a dispute's restart; and its parts add up to the
date the sweep uses, whatever the history."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import Role
from common.times import reading_as, when
from complaints.models import Complaint, Complexity, Subcategory
from complaints.services import (
    dispute_resolution,
    reclassify_complaint,
    reply_as_complainant,
    reply_as_staff,
    request_information,
    resolve_complaint,
)
from escalation.explain import DASH, PAUSED, RECLASSIFIED, RESTARTED, service_deadlines
from escalation.models import BusinessCalendar, SlaPolicy
from escalation.policies import forget_policies
from tests.factories import found, make_complaint, make_user, sign_in

pytestmark = pytest.mark.django_db

HCMC = ZoneInfo("Asia/Ho_Chi_Minh")
APOSTROPHE = "\N{RIGHT SINGLE QUOTATION MARK}"
FILED = datetime(2027, 2, 1, 10, tzinfo=HCMC).astimezone(UTC)  # Monday; Tết is 4 to 10 February


def on_office_hours(category: str = "account", **targets: timedelta) -> BusinessCalendar:
    """The category's policies counted in the seeded Vietnamese office hours."""
    calendar = BusinessCalendar.objects.get(name_en="Vietnamese office hours")
    SlaPolicy.objects.filter(category__slug=category).update(calendar=calendar, **targets)
    forget_policies()
    return calendar


def fresh(complaint: Complaint) -> Complaint:
    return Complaint.objects.get(pk=complaint.pk)


@pytest.fixture
def agent():
    return make_user(username="agent", role=Role.AGENT)


def test_a_deadline_in_office_hours_names_the_tet_holidays_it_skipped():
    on_office_hours(first_response_target=timedelta(hours=24))
    complaint = fresh(make_complaint(now=FILED))
    with reading_as("vi"):
        account = service_deadlines(complaint)["first_response"].explanation
    # 24 working hours of 8 a day from Monday 10:00: Monday's 6, Tuesday's and Wednesday's 16,
    # then Tết (Thursday 4 to Wednesday 10, its weekend inside it): Thursday 11 at 10:00.
    assert account.due_at == complaint.first_response_due_at
    assert account.due_at == datetime(2027, 2, 11, 10, tzinfo=HCMC)
    assert account.calendar == "Giờ hành chính Việt Nam" and account.steps == []
    assert account.hours == [(f"Thứ Hai {DASH} Thứ Sáu", f"08:00{DASH}12:00, 13:30{DASH}17:30")]
    [tet] = account.days_off
    assert "Tết Nguyên Đán" in tet.names and (tet.first.day, tet.last.day) == (4, 10)


def test_the_case_pages_open_the_account_in_the_readers_language(client, agent):
    on_office_hours(first_response_target=timedelta(hours=24))
    owner = make_user(username="lan")
    complaint = make_complaint(now=FILED, by=owner)
    # Asked for more on Monday at 14:00, answered on Tuesday at 11:00: 3.5 + 3 working hours
    # not counted.
    complaint = request_information(
        complaint=complaint,
        body="Xin gửi ảnh chụp màn hình.",
        by=agent,
        now=FILED + timedelta(hours=4),
        version=1,
    )
    complaint = reply_as_complainant(
        complaint=complaint, body="Đây ạ.", by=owner, now=FILED + timedelta(hours=25)
    )
    complaint = fresh(complaint)
    sign_in(client, owner)
    url = reverse("complaints:detail", args=[complaint.reference])

    def explained(language: str, kind: str) -> str:
        body = client.get(url, HTTP_ACCEPT_LANGUAGE=language).content.decode()
        block = re.search(rf'data-testid="explained-{kind}">(.*?)</details>', body, re.S).group(1)
        return " ".join(re.sub(r"<[^>]+>", " ", block).split())

    english = explained("en", "resolution")
    due = in_language("en", complaint.resolution_due_at)
    assert "How this date was reached" in english
    assert f"3 days from the complaint{APOSTROPHE}s receipt" in english and "“Account / Simple”" in english
    assert "Only working hours count, on the calendar “Vietnamese office hours” (Asia/Ho_Chi_Minh)" in english
    assert f"Monday {DASH} Friday 08:00{DASH}12:00, 13:30{DASH}17:30" in english
    assert re.search(r"Lunar New Year[^:]*: not counted\.", english)
    assert "Waiting for the complainant from" in english
    assert f"6 hours 30 minutes not counted, so the date moves to {due}" in english
    assert f"So it is due {due}." in english
    # The request answered the first response: its account is not offered, as its date is not.
    assert 'data-testid="explained-first_response"' not in client.get(url).content.decode()
    vietnamese = explained("vi", "resolution")
    due = in_language("vi", complaint.resolution_due_at)
    assert "Ngày này được tính thế nào" in vietnamese
    assert "3 ngày kể từ khi nhận khiếu nại" in vietnamese and "“Tài khoản / Đơn giản”" in vietnamese
    assert "Chỉ tính giờ làm việc, theo lịch “Giờ hành chính Việt Nam”" in vietnamese
    assert re.search(r"Tết Nguyên Đán[^:]*: không tính\.", vietnamese)
    assert "Chờ người khiếu nại từ" in vietnamese and f"nên hạn chuyển sang {due}" in vietnamese
    assert f"Vậy hạn là {due}." in vietnamese
    staff = make_user(username="lead", role=Role.TEAM_LEAD)
    sign_in(client, staff)
    body = client.get(reverse("staff:case", args=[complaint.reference]), HTTP_ACCEPT_LANGUAGE="en")
    assert 'data-testid="explained-resolution"' in body.content.decode()
    assert f"So it is due {in_language('en', complaint.resolution_due_at)}." in body.content.decode()


def in_language(language: str, moment: datetime) -> str:
    with reading_as(language):
        return when(moment)


# --- Histories drawn at random: the account adds up to the date the clock stored ---------------

hours = st.integers(min_value=1, max_value=24 * 6)
steps = st.one_of(
    st.tuples(st.just("pause"), hours, hours),
    st.tuples(
        st.just("reclassify"),
        hours,
        st.sampled_from(["cannot-log-in", "locked-suspended", "app", "payments"]),
        st.sampled_from(Complexity.values),
    ),
    st.tuples(st.just("reply"), hours),
    st.tuples(st.just("dispute"), hours, hours),
)
histories = st.fixed_dictionaries(
    {
        "filed": st.datetimes(min_value=datetime(2026, 12, 1), max_value=datetime(2027, 3, 31)),
        "office_hours": st.booleans(),  # the account category's policies: else wall-clock hours
        "first_response": st.integers(min_value=1, max_value=48),
        "resolution": st.integers(min_value=2, max_value=24 * 12),
        "steps": st.lists(steps, max_size=6),
    }
)


def live(complaint: Complaint, step: tuple, *, by, now: datetime) -> Complaint:
    """One step of a history, through the real services (where the case's status allows it)."""
    complaint = fresh(complaint)
    if step[0] == "pause" and complaint.status in ("new", "open"):
        complaint = request_information(
            complaint=complaint, body="Xin bổ sung.", by=by, now=now, version=complaint.version
        )
        return reply_as_complainant(
            complaint=complaint, body="Đây ạ.", by=None, now=now + timedelta(hours=step[2])
        )
    if step[0] == "reclassify" and complaint.status != "closed":
        return reclassify_complaint(
            complaint=complaint,
            subcategory=Subcategory.objects.get(slug=step[2]),
            complexity=step[3],
            by=by,
            now=now,
            version=complaint.version,
        )
    if step[0] == "reply" and complaint.status in ("new", "open"):
        return reply_as_staff(
            complaint=complaint, body="Chúng tôi đang xử lý.", by=by, now=now, version=complaint.version
        )
    if step[0] == "dispute" and complaint.status in ("new", "open"):
        complaint = resolve_complaint(
            complaint=complaint,
            summary="Đã xử lý.",
            by=by,
            now=now,
            version=complaint.version,
            **found(complaint),
        )
        return dispute_resolution(
            complaint=complaint, by=None, now=now + timedelta(hours=step[2]), reason="Chưa được."
        )
    return complaint


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=histories)
def test_the_accounts_parts_add_up_to_the_deadline_the_sweep_uses(agent, history):
    SlaPolicy.objects.filter(category__slug="account").update(
        first_response_target=timedelta(hours=history["first_response"]),
        resolution_target=timedelta(hours=history["resolution"]),
        calendar=BusinessCalendar.objects.get(name_en="Vietnamese office hours")
        if history["office_hours"]
        else None,
    )
    forget_policies()
    now = history["filed"].replace(tzinfo=UTC)
    complaint = make_complaint(now=now)
    for step in history["steps"]:
        now += timedelta(hours=step[1])
        complaint = live(complaint, step, by=agent, now=now)
        now = max(now, fresh(complaint).status_changed_at)

    stored = fresh(complaint)
    complainants = service_deadlines(stored)  # replayed from the status changes
    staffs = service_deadlines(stored, timeline=list(stored.events.all()))  # from the whole timeline
    wall_clock = not history["office_hours"]  # then every policy counts wall-clock hours
    for kind in ("first_response", "resolution"):
        due = getattr(stored, f"{kind}_due_at")
        assert (kind in complainants) == (due is not None)
        if due is None:
            continue
        account = complainants[kind].explanation
        assert staffs[kind].explanation == account and not complainants[kind].recounted
        # The target counted from receipt, then each step from where the one before left it.
        reached = account.counted_due
        if wall_clock:
            assert reached == account.start_at + account.target
        for step in account.steps:
            assert step.due_before == reached
            if step.kind == PAUSED:
                assert timedelta(0) <= step.took <= step.until - step.at
                # A deadline met or missed before the wait ended stays; a running one moves.
                assert (step.due_after == step.due_before) == (step.kept or step.took == timedelta(0))
                answered = kind == "first_response" and stored.first_responded_at is not None
                met = answered and stored.first_responded_at <= step.until
                assert step.kept == (met or step.due_before <= step.at)  # missed: due before the wait
                assert not wall_clock or step.kept or step.due_after == step.due_before + step.took
            elif step.kind == RESTARTED:
                assert kind == "resolution" and step.since == step.at
                assert not wall_clock or step.due_after == step.at + step.target
            else:
                assert step.kind == RECLASSIFIED
                # Counted again from the clock's start, the waits since then still not counted.
                waited = step.took or timedelta(0)
                assert step.kept or not wall_clock or step.due_after == step.since + step.target + waited
                assert not step.kept or step.due_after == step.due_before
            reached = step.due_after
        assert account.due_at == reached == due
