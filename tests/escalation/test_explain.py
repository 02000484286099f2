"""Every regime deadline explains itself from the timeline: where it counts from, the days
and the calendar, the holidays not counted by name, the roll past a day off, each pause;
and its parts add up to the date the sweep uses, whatever the history."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import Role
from complaints.models import Category, Complaint, Complexity, Subcategory
from complaints.services import reply_as_complainant, transition_complaint
from complaints.services.staff import reclassify_complaint, request_information
from escalation import sla
from escalation.models import Regime, RegimeDeadline
from escalation.policies import forget_policies, regime_rules
from escalation.regulatory import regulatory_standing
from tests.factories import make_complaint, make_user, sign_in

pytestmark = pytest.mark.django_db

HCMC = ZoneInfo("Asia/Ho_Chi_Minh")
FILED = datetime(2027, 2, 1, 10, tzinfo=HCMC).astimezone(UTC)  # Monday; Tết is 4 to 10 February


def under(code: str) -> Regime:
    regime = Regime.objects.get(code=code)
    Category.objects.filter(slug="account").update(regime=regime)
    forget_policies()
    return regime


def explained(complaint: Complaint, kind: str):
    standing = regulatory_standing(Complaint.objects.get(pk=complaint.pk))
    return next(row for row in standing.deadlines if row.kind == kind).explanation


@pytest.fixture
def agent():
    return make_user(username="agent", role=Role.AGENT)


def test_a_working_day_deadline_names_the_tet_holidays_it_did_not_count():
    under("vn-consumer-2023")
    complaint = make_complaint(now=FILED)
    with translation.override("vi"):
        account = explained(complaint, "accept")
    assert (account.days, account.unit, account.counted_from) == (7, "working", "receipt")
    assert account.start_at == FILED and account.calendar == "Giờ hành chính Việt Nam"
    tet, weekend = account.days_off
    assert (tet.first, tet.last) == (date(2027, 2, 4), date(2027, 2, 10))
    assert "Tết Nguyên Đán" in tet.names and "Giao thừa Tết Nguyên Đán" in tet.names
    assert (weekend.first, weekend.last, weekend.names) == (date(2027, 2, 13), date(2027, 2, 14), ())
    assert account.rolled_from is None and account.pauses == []
    assert account.last_day == date(2027, 2, 17)
    assert account.due_at == Complaint.objects.get(pk=complaint.pk).accept_due_at


def test_a_calendar_day_deadline_says_it_rolled_past_tet(agent):
    under("vn-complaints-2011")
    filed = datetime(2027, 1, 6, 9, tzinfo=HCMC).astimezone(UTC)
    complaint = make_complaint(now=filed)
    complaint = transition_complaint(
        complaint=complaint, to_status="open", by=agent, now=filed + timedelta(days=1)
    )
    account = explained(complaint, "final_response")
    assert (account.counted_from, account.days, account.unit) == ("acceptance", 30, "calendar")
    assert account.counted_to == date(2027, 2, 6) == account.rolled_from
    assert account.last_day == date(2027, 2, 11)
    assert account.due_at == Complaint.objects.get(pk=complaint.pk).final_response_due_at


def test_the_case_pages_open_the_account_in_the_readers_language(client):
    under("vn-consumer-2023")
    owner = make_user(username="lan")
    complaint = make_complaint(now=FILED, by=owner)
    sign_in(client, owner)
    url = reverse("complaints:detail", args=[complaint.reference])
    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-testid="explained-accept"' in english
    assert "How this date was reached" in english
    assert "7 working days, as Vietnam: Consumer Protection Law 2023" in english
    assert "Lunar New Year" in english and ": not counted." in english
    vietnamese = client.get(url, HTTP_ACCEPT_LANGUAGE="vi").content.decode()
    assert "Ngày này được tính thế nào" in vietnamese
    assert "Tết Nguyên Đán" in vietnamese and "không tính" in vietnamese


# --- Histories drawn at random: the account adds up to the date the clock stored ---------------

hours = st.integers(min_value=1, max_value=24 * 12)
histories = st.fixed_dictionaries(
    {
        "filed": st.datetimes(min_value=datetime(2026, 12, 1), max_value=datetime(2027, 3, 31)),
        "unit": st.sampled_from(["working", "calendar"]),
        "days": st.integers(min_value=1, max_value=20),
        "pauses": st.lists(st.tuples(hours, hours), max_size=3),
        # Reclassified as complex before the n-th pause (after the last: n = their count).
        "complex_after": st.one_of(st.none(), st.integers(min_value=0, max_value=3)),
    }
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=histories)
def test_the_accounts_parts_add_up_to_the_deadline_the_sweep_uses(agent, history):
    regime = under("vn-consumer-2023")
    RegimeDeadline.objects.filter(regime=regime).update(
        kind="final_response",
        unit=history["unit"],
        days=history["days"],
        days_if_complex=history["days"] + 5,
        pausable=True,
    )
    forget_policies()
    now = history["filed"].replace(tzinfo=UTC)
    complaint = make_complaint(now=now)
    complaint = transition_complaint(
        complaint=complaint, to_status="open", by=agent, now=now + timedelta(hours=1)
    )
    now += timedelta(hours=1)
    for number, (wait, length) in enumerate(history["pauses"]):
        if history["complex_after"] == number:
            complaint = reclassify_complaint(
                complaint=complaint,
                subcategory=Subcategory.objects.get(category__slug="account", slug="cannot-log-in"),
                complexity=Complexity.COMPLEX,
                by=agent,
                now=now,
                version=complaint.version,
            )
        now += timedelta(hours=wait)
        complaint = request_information(
            complaint=complaint, body="Xin gửi thêm ảnh.", by=agent, now=now, version=complaint.version
        )
        now += timedelta(hours=length)
        complaint = reply_as_complainant(complaint=complaint, body="Đây ạ.", by=None, now=now)
    if history["complex_after"] is not None and history["complex_after"] >= len(history["pauses"]):
        complaint = reclassify_complaint(
            complaint=complaint,
            subcategory=Subcategory.objects.get(category__slug="account", slug="cannot-log-in"),
            complexity=Complexity.COMPLEX,
            by=agent,
            now=now,
            version=complaint.version,
        )

    stored = Complaint.objects.get(pk=complaint.pk)
    account = explained(stored, "final_response")
    calendar = regime_rules(regime.pk).calendar
    zone = calendar.zone

    def counted(after: date, through: date) -> int:
        days = [after + timedelta(days=n) for n in range(1, (through - after).days + 1)]
        return (
            len(days) if history["unit"] == "calendar" else sum(sla.is_working_day(calendar, d) for d in days)
        )

    # The period's own days, from the day after receipt to its (unrolled) last day.
    assert counted(account.start_at.astimezone(zone).date(), account.counted_to) == account.days
    assert account.days == history["days"] + (5 if account.complex_case else 0)
    if stored.final_response_breached_at is None:  # a missed one keeps the complexity it had then
        assert account.complex_case == (stored.complexity == Complexity.COMPLEX)
    # Each pause adds the days it took, after the last day before it.
    rolls = regime.rolls_to_working_day
    due = sla.add_days(
        account.start_at, account.days, account.unit, calendar, roll_to_working_day=rolls
    ).due_at
    for pause in account.pauses:
        assert pause.due_before == due
        before = (pause.due_before - timedelta(microseconds=1)).astimezone(zone).date()
        after = (pause.due_after - timedelta(microseconds=1)).astimezone(zone).date()
        assert counted(before, pause.rolled_from or after) == pause.days
        assert pause.rolled_from is None or (rolls and not sla.is_working_day(calendar, pause.rolled_from))
        due = pause.due_after
    assert account.due_at == due == stored.final_response_due_at
    assert account.last_day == (due - timedelta(microseconds=1)).astimezone(zone).date()
    assert datetime.combine(account.last_day + timedelta(days=1), time(0), tzinfo=zone) == due
