"""The same sweep for a regime's deadlines: warned of before, flagged at the deadline, once,
straight to the top rung; caught up after a gap; stopped by what meets them; running through
a pause unless the regime allows it; in the same statements as the service clock."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Role
from complaints import services as complaint_services
from complaints.models import Category, Complaint, ComplaintEvent, EventKind, Notification, Subcategory
from escalation import sla
from escalation import sweep as sweeping
from escalation.models import Escalation, Reason, Regime, RegimeDeadline, SlaPolicy
from escalation.policies import forget_policies, regime_rules
from tests.factories import make_complaint, make_user, resolve, sign_in

pytestmark = pytest.mark.django_db

HCMC = ZoneInfo("Asia/Ho_Chi_Minh")
SECOND = timedelta(seconds=1)
# Monday 1 February 2027, 10:00 in Hồ Chí Minh City. The consumer law's 7 working days to
# accept end with Wednesday 17 February (Tết 2027 is 4 to 10 February).
FILED = datetime(2027, 2, 1, 10, tzinfo=HCMC).astimezone(UTC)
ACCEPT_DUE = datetime.combine(datetime(2027, 2, 18), time(0), tzinfo=HCMC).astimezone(UTC)


@pytest.fixture
def staff():
    return {
        "agent": make_user(username="agent", role=Role.AGENT),
        "lead": make_user(username="lead", role=Role.TEAM_LEAD),
        "manager": make_user(username="manager", role=Role.MANAGER),
    }


@pytest.fixture
def consumer_law():
    """The account category under the consumer law of 2023, without service targets: only
    the regime's clock runs."""
    regime = Regime.objects.get(code="vn-consumer-2023")
    Category.objects.filter(slug="account").update(regime=regime)
    SlaPolicy.objects.filter(category__slug="account").delete()
    forget_policies()
    return regime


def fresh(complaint: Complaint) -> Complaint:
    return Complaint.objects.get(pk=complaint.pk)


def warning_point() -> datetime:
    calendar = regime_rules(Regime.objects.get(code="vn-consumer-2023").pk).calendar
    return sla.warning_point(FILED, ACCEPT_DUE, 0.75, calendar)


def test_the_regime_deadline_is_warned_of_then_flagged_once_straight_to_the_top(staff, consumer_law):
    complaint = make_complaint(now=FILED)
    warn_at = warning_point()
    assert FILED < warn_at < ACCEPT_DUE
    assert fresh(complaint).next_check_at == warn_at

    assert sweeping.sweep(now=warn_at - SECOND).warned == 0
    assert sweeping.sweep(now=warn_at).warned == 1
    warning = ComplaintEvent.objects.get(kind=EventKind.SLA_WARNING)
    assert not warning.public and warning.payload["deadline"] == "regulatory_accept"
    assert fresh(complaint).accept_warned_at == warn_at
    assert fresh(complaint).next_check_at == ACCEPT_DUE

    assert sweeping.sweep(now=ACCEPT_DUE - SECOND).breached == 0
    result = sweeping.sweep(now=ACCEPT_DUE)
    assert (result.breached, result.escalated) == (1, 1)
    complaint = fresh(complaint)
    assert complaint.accept_breached_at == ACCEPT_DUE
    assert complaint.escalation_level == 2  # the top rung, not the next one
    escalation = Escalation.objects.get()
    assert (escalation.from_level, escalation.to_level, escalation.reason) == (
        0,
        2,
        Reason.REGULATORY_BREACHED,
    )
    assert escalation.deadline_at == escalation.due_at == ACCEPT_DUE
    moved = complaint.events.get(kind=EventKind.ESCALATED)
    assert moved.public and moved.payload["deadline"] == "regulatory_accept"
    assert Notification.objects.filter(template="staff_alert", email=staff["manager"].email).exists()
    assert Notification.objects.filter(template="case_update", email=complaint.contact_email).exists()

    assert sweeping.sweep(now=ACCEPT_DUE).escalated == 0
    assert sweeping.sweep(now=ACCEPT_DUE + timedelta(days=60)).escalated == 0
    assert Escalation.objects.count() == 1
    assert fresh(complaint).next_check_at is None


def test_a_sweep_after_a_gap_flags_the_breach_as_of_its_deadline(staff, consumer_law):
    complaint = make_complaint(now=FILED)
    result = sweeping.sweep(now=ACCEPT_DUE + timedelta(days=9))
    # The warning is not sent when its deadline is due too: the breach says more.
    assert (result.warned, result.breached, result.escalated) == (0, 1, 1)
    assert fresh(complaint).accept_breached_at == ACCEPT_DUE
    assert Escalation.objects.get().due_at == ACCEPT_DUE


def test_acceptance_meets_the_deadline_and_nothing_is_checked_after(staff, consumer_law):
    complaint = make_complaint(now=FILED)
    complaint = complaint_services.transition_complaint(
        complaint=complaint, to_status="open", by=staff["agent"], now=ACCEPT_DUE - SECOND
    )
    assert fresh(complaint).next_check_at is None
    assert sweeping.sweep(now=ACCEPT_DUE + timedelta(days=30)).breached == 0
    assert not Escalation.objects.exists()


def test_a_workflow_after_the_deadline_flags_the_breach_first(staff, consumer_law):
    complaint = make_complaint(now=FILED)
    late = ACCEPT_DUE + timedelta(hours=5)
    complaint = complaint_services.transition_complaint(
        complaint=complaint, to_status="open", by=staff["agent"], now=late
    )
    complaint = fresh(complaint)
    assert complaint.accept_breached_at == ACCEPT_DUE and complaint.accepted_at == late
    assert Escalation.objects.get().reason == Reason.REGULATORY_BREACHED
    assert sweeping.sweep(now=late + timedelta(days=1)).escalated == 0


@pytest.mark.parametrize("pausable", [False, True])
def test_the_deadline_runs_through_a_pause_unless_the_regime_allows_it(staff, consumer_law, pausable):
    # The regime's deadline is a final response here: acceptance does not meet it.
    RegimeDeadline.objects.filter(regime=consumer_law).update(kind="final_response", pausable=pausable)
    forget_policies()
    complaint = make_complaint(now=FILED)
    assert complaint.final_response_due_at == ACCEPT_DUE
    complaint = complaint_services.transition_complaint(
        complaint=complaint, to_status="open", by=staff["agent"], now=FILED + timedelta(hours=1)
    )
    complaint = complaint_services.transition_complaint(
        complaint=complaint,
        to_status="awaiting_complainant",
        by=staff["agent"],
        now=FILED + timedelta(hours=2),
        note="Xin gửi ảnh chụp màn hình.",
    )
    result = sweeping.sweep(now=ACCEPT_DUE)
    complaint = fresh(complaint)
    if pausable:
        assert (result.warned, result.breached, complaint.next_check_at) == (0, 0, None)
    else:
        assert result.breached == 1
        assert complaint.final_response_breached_at == ACCEPT_DUE and complaint.escalation_level == 2


def test_a_withdrawn_case_is_owed_nothing(staff, consumer_law):
    owner = make_user(username="lan")
    complaint = make_complaint(now=FILED, by=owner)
    complaint_services.withdraw_complaint(complaint=complaint, by=owner, now=FILED + timedelta(hours=2))
    assert fresh(complaint).next_check_at is None
    assert sweeping.sweep(now=ACCEPT_DUE + timedelta(days=1)).breached == 0


def test_regimes_cost_the_sweep_no_statement_per_complaint(staff, consumer_law):
    for _ in range(6):
        make_complaint(now=FILED)
    with CaptureQueriesContext(connection) as six:
        assert sweeping.sweep(now=ACCEPT_DUE, batch_size=500).escalated == 6
    Complaint.objects.all().delete()
    Escalation.objects.all().delete()
    for _ in range(2):
        make_complaint(now=FILED)
    with CaptureQueriesContext(connection) as two:
        assert sweeping.sweep(now=ACCEPT_DUE, batch_size=500).escalated == 2
    assert len(six) == len(two)


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "The deadline required by law “Accept the complaint”"),
        ("vi", "Thời hạn theo quy định “Thụ lý khiếu nại”"),
    ],
)
def test_the_timeline_and_the_managers_queue_name_the_deadline_the_law_set(
    client, staff, consumer_law, language, expected
):
    complaint = make_complaint(now=FILED)
    sweeping.sweep(now=ACCEPT_DUE)
    sign_in(client, staff["manager"])
    page = client.get(reverse("staff:case", args=[complaint.reference]), HTTP_ACCEPT_LANGUAGE=language)
    assert expected in page.content.decode()
    queue = client.get(reverse("staff:manager_queue"), HTTP_ACCEPT_LANGUAGE=language)
    text = queue.content.decode()
    assert complaint.reference in text
    law = {"en": "Required by law: Accept the complaint", "vi": "Theo quy định: Thụ lý khiếu nại"}[language]
    assert law in text


def test_a_dispute_after_the_legal_date_does_not_undo_the_final_response(staff, consumer_law):
    RegimeDeadline.objects.filter(regime=consumer_law).update(kind="final_response")
    forget_policies()
    owner = make_user(username="lan")
    complaint = make_complaint(now=FILED, by=owner)
    complaint = complaint_services.transition_complaint(
        complaint=complaint, to_status="open", by=staff["agent"], now=FILED + timedelta(hours=1)
    )
    complaint = resolve(complaint, by=staff["agent"], now=ACCEPT_DUE - SECOND, summary="Đã hoàn tiền.")
    complaint_services.dispute_resolution(
        complaint=complaint, by=owner, now=ACCEPT_DUE + timedelta(hours=1), reason="Chưa nhận được tiền."
    )
    complaint = fresh(complaint)
    assert complaint.status == "open" and complaint.resolved_at is None
    assert complaint.final_response_at == ACCEPT_DUE - SECOND  # the final response was sent in time
    assert sweeping.sweep(now=ACCEPT_DUE + timedelta(days=3)).breached == 0
    assert fresh(complaint).final_response_breached_at is None
    assert not Escalation.objects.filter(reason=Reason.REGULATORY_BREACHED).exists()


def test_the_managers_queue_and_the_breached_filter_count_a_regulatory_breach_as_any_other(
    staff, consumer_law
):
    regulated = make_complaint(now=FILED)  # the consumer law's deadline breaks first
    sweeping.sweep(now=ACCEPT_DUE)
    other = make_complaint(now=ACCEPT_DUE, subcategory=Subcategory.objects.get(slug="not-received"))
    Complaint.objects.filter(pk=other.pk).update(
        escalation_level=2, first_response_breached_at=ACCEPT_DUE + timedelta(hours=1)
    )
    plain = make_complaint(now=ACCEPT_DUE, subcategory=Subcategory.objects.get(slug="no-response"))
    Complaint.objects.filter(pk=plain.pk).update(escalation_level=2)  # moved up by staff: no breach
    order = list(Complaint.objects.escalated_to(2).values_list("pk", flat=True))
    assert order == [regulated.pk, other.pk, plain.pk]  # oldest breach first
    breached = set(Complaint.objects.matching({"breached": True}).values_list("pk", flat=True))
    assert breached == {regulated.pk, other.pk}
