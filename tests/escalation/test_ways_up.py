"""The ways up besides the sweep: the complainant's request, manual escalation, de-escalation;
and the manager queue page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from complaints import refusals
from complaints import services as complaint_services
from complaints.models import Complaint, EventKind
from escalation import moves, rules
from escalation import sweep as sweeping
from escalation.models import Escalation, Reason
from tests.factories import NOW, make_complaint, make_user, sign_in

pytestmark = pytest.mark.django_db

HOUR = timedelta(hours=1)


@pytest.fixture
def staff():
    return {
        "agent": make_user(username="agent", role=Role.AGENT),
        "lead": make_user(username="lead", role=Role.TEAM_LEAD),
        "manager": make_user(username="manager", role=Role.MANAGER),
    }


def test_a_complainant_may_ask_only_once_a_deadline_has_passed(staff):
    complaint = make_complaint()
    assert not rules.can_request_escalation(complaint, NOW + 24 * HOUR - timedelta(seconds=1))
    with pytest.raises(refusals.EscalationRefused):
        moves.request_escalation(complaint=complaint, by=None, now=NOW + HOUR, reason="chậm")
    assert rules.can_request_escalation(complaint, NOW + 24 * HOUR)
    escalation = moves.request_escalation(complaint=complaint, by=None, now=NOW + 24 * HOUR, reason="Quá hạn")
    # The missed deadline moved the case up first, as the sweep would have; the request
    # takes it one rung further.
    assert (escalation.reason, escalation.from_level, escalation.to_level) == (
        Reason.COMPLAINANT_REQUEST,
        1,
        2,
    )
    event = Complaint.objects.get(pk=complaint.pk).events.last()
    assert (event.kind, event.body, event.public) == (EventKind.ESCALATION_REQUESTED, "Quá hạn", True)
    with pytest.raises(refusals.EscalationRefused):
        moves.request_escalation(complaint=complaint, by=None, now=NOW + 25 * HOUR, reason="again")


def test_an_unanswered_reminder_allows_a_request_after_24_hours(staff):
    complaint = make_complaint()
    complaint_services.send_reminder(complaint=complaint, by=None, now=NOW + HOUR)
    complaint.refresh_from_db()
    complaint.first_response_due_at = complaint.resolution_due_at = (
        NOW + 100 * HOUR
    )  # deadlines out of the way
    assert not rules.can_request_escalation(complaint, NOW + 25 * HOUR - timedelta(seconds=1))
    assert rules.can_request_escalation(complaint, NOW + 25 * HOUR)


def test_a_reminder_answered_by_staff_does_not(staff):
    complaint = make_complaint()
    complaint_services.send_reminder(complaint=complaint, by=None, now=NOW + HOUR)
    complaint_services.transition_complaint(
        complaint=complaint,
        to_status="open",
        by=staff["agent"],
        now=NOW + 2 * HOUR,
        note="Chúng tôi đang xử lý.",
    )
    complaint.refresh_from_db()
    complaint.first_response_due_at = NOW + 100 * HOUR  # keep the deadline out of the way
    assert not rules.can_request_escalation(complaint, NOW + 26 * HOUR)


def test_staff_escalate_manually_and_a_stale_form_is_refused(staff):
    complaint = make_complaint()
    moves.escalate_manually(
        complaint=complaint, by=staff["agent"], now=NOW, reason="VIP", version=complaint.version
    )
    assert Complaint.objects.get(pk=complaint.pk).escalation_level == 1
    from django.utils import translation

    with (
        translation.override("en"),
        pytest.raises(refusals.StaleForm, match="changed while you were editing"),
    ):
        moves.escalate_manually(
            complaint=complaint, by=staff["agent"], now=NOW, reason="x", version=complaint.version
        )


def test_a_manager_de_escalates_with_a_reason(staff):
    complaint = make_complaint()
    sweeping.sweep(now=NOW + 24 * HOUR)
    complaint.refresh_from_db()
    moves.de_escalate(
        complaint=complaint,
        by=staff["manager"],
        now=NOW + 25 * HOUR,
        reason="Đã liên hệ khách",
        version=complaint.version,
    )
    complaint.refresh_from_db()
    assert complaint.escalation_level == 0
    assert Escalation.objects.last().reason == Reason.DE_ESCALATION
    assert complaint.events.last().kind == EventKind.DE_ESCALATED


def test_the_complainant_asks_from_the_case_page(client, staff):
    user = make_user(preferred_language="en")
    # Past its first-response deadline only: the breach takes it to level 1, the request to 2.
    complaint = make_complaint(by=user, now=timezone.now() - timedelta(hours=25))
    sign_in(client, user)
    page = client.get(reverse("complaints:detail", args=[complaint.reference]), HTTP_ACCEPT_LANGUAGE="en")
    assert "Ask for escalation" in page.content.decode()
    response = client.post(
        reverse("complaints:request_escalation", args=[complaint.reference]),
        {"escalation-reason": "Nobody answered"},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert "Your request was sent" in response.content.decode()
    assert Complaint.objects.get(pk=complaint.pk).escalation_level == 2


def test_the_manager_queue_lists_escalated_cases_oldest_breach_first(client, staff):
    older = make_complaint(subject="older breach")
    newer = make_complaint(subject="newer breach", now=NOW + HOUR)
    sweeping.sweep(now=NOW + 73 * HOUR)  # both breached, both climbed to Manager
    assert set(Complaint.objects.values_list("escalation_level", flat=True)) == {2}
    sign_in(client, staff["manager"])
    url = reverse("staff:manager_queue")
    client.get(url)  # this process reads the ladder once, then keeps it
    with CaptureQueriesContext(connection) as few:
        body = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert body.index(older.reference) < body.index(newer.reference)
    assert "deadline was missed" in body
    for _ in range(5):
        make_complaint()
    sweeping.sweep(now=NOW + 200 * HOUR)
    with CaptureQueriesContext(connection) as more:
        client.get(url)
    assert len(few.captured_queries) == len(more.captured_queries)


@pytest.mark.parametrize(
    ("role", "status"), [(None, 404), (Role.AGENT, 404), (Role.TEAM_LEAD, 404), (Role.MANAGER, 200)]
)
def test_only_managers_open_the_manager_queue(client, role, status):
    sign_in(client, make_user(role=role))
    assert client.get(reverse("staff:manager_queue")).status_code == status
