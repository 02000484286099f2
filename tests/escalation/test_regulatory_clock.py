"""A complaint under a regime carries the regime's deadlines beside the service ones: set at
filing, at acceptance (for those counted from it), on reclassification, moved by a pause only
where the regime allows it; and both case pages show them."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Role
from complaints.models import Category, Complexity, Subcategory
from complaints.services import reply_as_complainant, transition_complaint
from complaints.services.staff import reclassify_complaint, request_information
from escalation.models import Regime, RegimeDeadline
from escalation.policies import forget_policies
from tests.factories import make_complaint, make_user, resolve, sign_in

pytestmark = pytest.mark.django_db

HCMC = ZoneInfo("Asia/Ho_Chi_Minh")
# Monday 1 February 2027, 10:00 in Hồ Chí Minh City: Tết 2027 runs from Thursday 4 to Wednesday 10.
FILED = datetime(2027, 2, 1, 10, tzinfo=HCMC).astimezone(UTC)


def end_of(year: int, month: int, day: int) -> datetime:
    return datetime.combine(datetime(year, month, day) + timedelta(days=1), time(0), tzinfo=HCMC).astimezone(
        UTC
    )


def under(code: str, slug: str = "account") -> Regime:
    regime = Regime.objects.get(code=code)
    Category.objects.filter(slug=slug).update(regime=regime)
    forget_policies()
    return regime


def reclassify(complaint, subcategory, complexity, *, by, now):
    """Staff reclassify the case as it stands (its current version)."""
    return reclassify_complaint(
        complaint=complaint,
        subcategory=subcategory,
        complexity=complexity,
        by=by,
        now=now,
        version=complaint.version,
    )


@pytest.fixture
def agent():
    return make_user(username="agent", role=Role.AGENT)


def test_a_complaint_filed_under_a_regime_carries_its_deadline_and_one_outside_none():
    plain = make_complaint(now=FILED)
    assert (plain.regime_id, plain.accept_due_at, plain.final_response_due_at) == (None, None, None)

    regime = under("vn-consumer-2023")
    complaint = make_complaint(now=FILED)
    complaint.refresh_from_db()
    assert complaint.regime_id == regime.pk
    # Seven working days: 2, 3, 11, 12, 15, 16, 17 February.
    assert complaint.accept_due_at == end_of(2027, 2, 17)
    assert complaint.acknowledge_due_at is None and complaint.final_response_due_at is None
    # The service clock is as it was.
    assert complaint.first_response_due_at is not None and complaint.resolution_due_at is not None


def test_a_deadline_counted_from_acceptance_starts_when_staff_take_the_case_up(agent):
    under("vn-complaints-2011")
    complaint = make_complaint(now=FILED)
    assert complaint.accept_due_at == end_of(2027, 2, 22)  # ten working days: 2, 3, 11, 12, 15-19, 22
    assert complaint.final_response_due_at is None and complaint.accepted_at is None

    accepted = datetime(2027, 2, 4, 9, tzinfo=HCMC).astimezone(UTC)  # Thursday, in Tết
    complaint = transition_complaint(complaint=complaint, to_status="open", by=agent, now=accepted)
    complaint.refresh_from_db()
    assert complaint.accepted_at == accepted
    # Thirty days from 5 February end on Saturday 6 March: rolled to Monday 8 March.
    assert complaint.final_response_due_at == end_of(2027, 3, 8)
    assert complaint.accept_due_at == end_of(2027, 2, 22)  # unchanged, and met


def test_a_complex_case_gets_the_regimes_longer_period_and_reclassification_recounts(agent):
    under("vn-complaints-2011")
    complaint = make_complaint(now=FILED)
    complaint = transition_complaint(complaint=complaint, to_status="open", by=agent, now=FILED)
    assert complaint.final_response_due_at == end_of(2027, 3, 3)  # 30 days from 2 February

    cannot_log_in = Subcategory.objects.get(category__slug="account", slug="cannot-log-in")
    complaint = reclassify(
        complaint, cannot_log_in, Complexity.COMPLEX, by=agent, now=FILED + timedelta(days=1)
    )
    complaint.refresh_from_db()
    assert complaint.final_response_due_at == end_of(2027, 3, 18)  # 45 days from 2 February
    assert complaint.accepted_at == FILED  # accepted once

    elsewhere = Subcategory.objects.exclude(category__slug__in=["account", "unclassified"]).first()
    complaint = reclassify(complaint, elsewhere, Complexity.SIMPLE, by=agent, now=FILED + timedelta(days=2))
    complaint.refresh_from_db()
    assert complaint.regime_id is None
    assert (complaint.accept_due_at, complaint.final_response_due_at) == (None, None)


@pytest.mark.parametrize("pausable", [True, False])
def test_a_pause_moves_a_deadline_only_where_the_regime_allows_it(agent, pausable):
    regime = under("vn-consumer-2023")
    # A final response in seven working days: asking for information (which accepts the case)
    # does not meet it, so the pause can move it.
    RegimeDeadline.objects.filter(regime=regime).update(kind="final_response", pausable=pausable)
    forget_policies()
    complaint = make_complaint(now=FILED)
    assert complaint.final_response_due_at == end_of(2027, 2, 17)

    paused = datetime(2027, 2, 2, 15, tzinfo=HCMC).astimezone(UTC)  # Tuesday
    complaint = request_information(
        complaint=complaint,
        body="Xin gửi ảnh chụp màn hình.",
        by=agent,
        now=paused,
        version=complaint.version,
    )
    resumed = datetime(2027, 2, 12, 9, tzinfo=HCMC).astimezone(UTC)  # Friday, after Tết
    reply_as_complainant(complaint=complaint, body="Đây là ảnh.", by=None, now=resumed)
    complaint.refresh_from_db()
    if pausable:
        # The pause took Wednesday 3, Thursday 11 and Friday 12: three working days more.
        assert complaint.final_response_due_at == end_of(2027, 2, 22)
    else:
        assert complaint.final_response_due_at == end_of(2027, 2, 17)


def test_a_pause_after_a_deadline_was_met_moves_it_no_more(agent):
    regime = under("vn-consumer-2023")
    RegimeDeadline.objects.filter(regime=regime).update(pausable=True)  # to accept: met by the pause
    forget_policies()
    complaint = make_complaint(now=FILED)
    paused = datetime(2027, 2, 2, 15, tzinfo=HCMC).astimezone(UTC)
    complaint = request_information(
        complaint=complaint, body="Xin gửi ảnh.", by=agent, now=paused, version=complaint.version
    )
    reply_as_complainant(complaint=complaint, body="Đây.", by=None, now=paused + timedelta(days=10))
    complaint.refresh_from_db()
    assert complaint.accepted_at == paused and complaint.accept_due_at == end_of(2027, 2, 17)


def test_both_case_pages_show_the_regimes_deadlines_and_when_they_were_met(client, agent):
    under("vn-complaints-2011")
    owner = make_user(username="lan")
    complaint = make_complaint(now=FILED, by=owner)
    sign_in(client, owner)
    page = client.get(reverse("complaints:detail", args=[complaint.reference]), HTTP_ACCEPT_LANGUAGE="en")
    text = page.content.decode()
    assert page.status_code == 200
    assert "Required by Vietnam: Law on Complaints 2011 (No. 02/2011/QH13)" in text
    assert 'data-testid="regulatory-accept"' in text
    assert "counted from the day the case is accepted" in text  # the final response

    transition_complaint(complaint=complaint, to_status="open", by=agent, now=FILED + timedelta(hours=2))
    page = client.get(reverse("complaints:detail", args=[complaint.reference]), HTTP_ACCEPT_LANGUAGE="vi")
    text = page.content.decode()
    assert "Thời hạn theo Luật Khiếu nại 2011 (02/2011/QH13)" in text
    assert "đã xong" in text  # accepted, in time
    assert "counted from the day" not in text and "tính từ ngày vụ việc được thụ lý" not in text

    client.logout()
    staff = make_user(username="lead", role=Role.TEAM_LEAD)
    sign_in(client, staff)
    page = client.get(reverse("staff:case", args=[complaint.reference]), HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    assert 'data-testid="regulatory-final_response"' in page.content.decode()


def test_the_regimes_deadlines_cost_no_query_beside_the_service_ones(client, agent):
    owner = make_user(username="lan")
    plain = make_complaint(now=FILED, by=owner)
    under("vn-complaints-2011")
    regulated = make_complaint(now=FILED, by=owner)

    def queries(complaint, route) -> int:
        url = reverse(route, args=[complaint.reference])
        client.get(url)  # warm: the regimes are read once a minute per process
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    sign_in(client, owner)
    # The complainant's timeline is its public part: the accounts read the status changes, once
    # for the service's deadlines and the regime's.
    assert queries(regulated, "complaints:detail") == queries(plain, "complaints:detail")
    client.logout()
    sign_in(client, make_user(username="lead", role=Role.TEAM_LEAD))
    assert queries(regulated, "staff:case") == queries(plain, "staff:case")


def test_a_reclassification_leaves_a_deadline_already_met_as_it_was(agent):
    under("vn-complaints-2011")
    complaint = make_complaint(now=FILED)
    complaint = transition_complaint(complaint=complaint, to_status="open", by=agent, now=FILED)
    cannot_log_in = Subcategory.objects.get(category__slug="account", slug="cannot-log-in")
    complaint = reclassify(
        complaint, cannot_log_in, Complexity.COMPLEX, by=agent, now=FILED + timedelta(hours=1)
    )
    assert complaint.final_response_due_at == end_of(2027, 3, 18)  # 45 days
    met = FILED + timedelta(days=35)
    complaint = resolve(complaint, by=agent, now=met, summary="Xong.")
    complaint = transition_complaint(
        complaint=complaint, to_status="open", by=agent, now=met + timedelta(hours=1), note="Mở lại."
    )
    complaint = reclassify(
        complaint, cannot_log_in, Complexity.SIMPLE, by=agent, now=met + timedelta(hours=2)
    )
    complaint.refresh_from_db()
    assert complaint.final_response_at == met
    assert complaint.final_response_due_at == end_of(2027, 3, 18)  # met: not counted again as 30 days
