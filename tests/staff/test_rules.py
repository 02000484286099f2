"""Each rule in one place: where a page does not offer an action, posting it anyway is refused.

For every action the page asks the same rule its service applies (complaints.rules,
escalation.rules): the test checks the page leaves the action out, then posts it as a
hand-made request would, and finds the refusal in the visitor's language with nothing
changed.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from complaints.models import Complaint, ComplaintEvent, EventKind
from complaints.services import assign_complaint, send_reminder
from escalation.models import Escalation
from tests.factories import NOW, make_complaint, make_user, resolve, sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def people():
    return {
        "alice": make_user(username="alice"),
        "agent": make_user(username="agent", role=Role.AGENT),
        "agent2": make_user(username="agent2", role=Role.AGENT),
        "lead": make_user(username="lead", role=Role.TEAM_LEAD),
        "manager": make_user(username="manager", role=Role.MANAGER),
    }


def fresh(complaint: Complaint) -> Complaint:
    return Complaint.objects.get(pk=complaint.pk)


def staff_page(client, user, complaint: Complaint) -> str:
    sign_in(client, user)
    response = client.get(reverse("staff:case", args=[complaint.reference]), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    return response.content.decode()


def action_url(name: str, complaint: Complaint) -> str:
    return reverse(f"staff:{name}", args=[complaint.reference])


def post_and_read(client, url: str, data: dict) -> str:
    """Post as a hand-made request would; return the page the redirect leads to."""
    response = client.post(url, data, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 302
    return client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en").content.decode()


def test_escalating_a_resolved_case_is_not_offered_and_is_refused(client, people):
    complaint = resolve(make_complaint(), by=people["agent"], now=NOW + timedelta(hours=1))
    page = staff_page(client, people["agent"], complaint)
    assert action_url("escalate", complaint) not in page
    answer = post_and_read(
        client, action_url("escalate", complaint), {"reason": "push it", "version": complaint.version}
    )
    assert "A resolved or closed case cannot be escalated." in answer
    assert not Escalation.objects.exists()
    assert fresh(complaint).escalation_level == 0


def test_de_escalating_at_the_first_level_is_not_offered_and_is_refused(client, people):
    complaint = make_complaint(now=timezone.now())
    page = staff_page(client, people["manager"], complaint)
    assert action_url("de_escalate", complaint) not in page
    answer = post_and_read(
        client, action_url("de_escalate", complaint), {"reason": "too high", "version": complaint.version}
    )
    assert "This case is already at the first level." in answer
    assert not Escalation.objects.exists()


def test_claiming_a_case_someone_else_holds_is_not_offered_to_an_agent_and_is_refused(client, people):
    complaint = assign_complaint(
        complaint=make_complaint(), assignee=people["agent2"], by=people["lead"], now=NOW, version=1
    )
    page = staff_page(client, people["agent"], complaint)
    assert 'name="assignee" value="me"' not in page
    answer = post_and_read(
        client, action_url("assign", complaint), {"assignee": "me", "version": complaint.version}
    )
    assert "Someone else holds this case. Ask a team lead to reassign it." in answer
    assert fresh(complaint).assignee == people["agent2"]


def test_reassigning_is_not_offered_to_an_agent_and_is_refused(client, people):
    complaint = make_complaint()
    page = staff_page(client, people["agent"], complaint)
    assert f'<option value="{people["agent2"].pk}"' not in page
    answer = post_and_read(
        client,
        action_url("assign", complaint),
        {"assignee": people["agent2"].pk, "version": complaint.version},
    )
    assert "Only a team lead or a manager can give a case to someone else." in answer
    assert fresh(complaint).assignee is None


# The complainant's pages read the real clock, so these cases are filed at it.


def test_a_second_reminder_within_a_day_is_not_offered_and_is_refused(client, people):
    complaint = make_complaint(by=people["alice"], now=timezone.now())
    send_reminder(complaint=complaint, by=people["alice"], now=timezone.now())
    sign_in(client, people["alice"])
    detail = reverse("complaints:detail", args=[complaint.reference])
    page = client.get(detail, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    remind = reverse("complaints:remind", args=[complaint.reference])
    assert remind not in page
    answer = post_and_read(client, remind, {})
    assert "You already sent a reminder in the last 24 hours." in answer
    assert ComplaintEvent.objects.filter(complaint=complaint, kind=EventKind.REMINDER).count() == 1


def test_asking_for_escalation_before_any_deadline_is_not_offered_and_is_refused(client, people):
    complaint = make_complaint(by=people["alice"], now=timezone.now())
    sign_in(client, people["alice"])
    detail = reverse("complaints:detail", args=[complaint.reference])
    page = client.get(detail, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    request = reverse("complaints:request_escalation", args=[complaint.reference])
    assert request not in page
    answer = post_and_read(client, request, {"escalation-reason": "please"})
    assert "You can ask for escalation once a deadline has passed" in answer
    assert not Escalation.objects.exists()
