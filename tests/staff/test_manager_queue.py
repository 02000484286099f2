"""The managers' queue: escalated open cases, why and when, the deadline that broke, oldest
breach first, keyset pages; taking ownership and reassigning from the row."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import Role
from common.paging import PAGE_SIZE
from common.times import duration, when
from complaints.models import Complaint, EventKind
from escalation import moves
from escalation import sweep as sweeping
from tests.factories import NOW, make_complaint, make_user, sign_in

pytestmark = pytest.mark.django_db

HOUR = timedelta(hours=1)


@pytest.fixture
def manager():
    return make_user(username="manager", role=Role.MANAGER)


def references(response) -> list[str]:
    return re.findall(r'<tr data-reference="([^"]+)"', response.content.decode())


def breached(count: int, start=NOW) -> list[Complaint]:
    """`count` complaints, each filed an hour after the last, all escalated to the managers."""
    complaints = [make_complaint(now=start + i * HOUR) for i in range(count)]
    sweeping.sweep(now=start + count * HOUR + 73 * HOUR)
    return complaints


def test_rows_say_why_when_and_how_far_past_the_deadline(client, manager):
    (complaint,) = breached(1)
    sign_in(client, manager)
    response = client.get(reverse("staff:manager_queue"), HTTP_ACCEPT_LANGUAGE="en")
    row = re.search(
        rf'<tr data-reference="{complaint.reference}">(.*?)</tr>', response.content.decode(), re.S
    )
    assert row is not None
    text = row.group(1)
    assert "deadline was missed" in text  # the reason of the latest move up
    assert "ago" in text  # how far past the deadline
    assert "Take ownership" in text and "Reassign" in text


def row_text(response, complaint) -> str:
    found = re.search(
        rf'<tr data-reference="{complaint.reference}">(.*?)</tr>', response.content.decode(), re.S
    )
    assert found is not None
    return " ".join(re.sub(r"<[^>]+>", " ", found.group(1)).split())


@pytest.fixture
def swept_a_month_late(manager):
    """Filed 30 days ago (resolution within 10 days) and swept only now: first response missed
    29 days ago took it to Team lead, whose 48 h ran out 27 days ago and took it to Manager."""
    from escalation.models import SlaPolicy
    from escalation.policies import forget_policies

    SlaPolicy.objects.update(resolution_target=timedelta(days=10))
    forget_policies()
    now = timezone.now().replace(second=0, microsecond=0)
    complaint = make_complaint(now=now - timedelta(days=30))
    sweeping.sweep(now=now)
    yield complaint
    forget_policies()


@pytest.mark.parametrize(
    ("language", "why", "deadline"),
    [
        ("en", "The time allowed at “Team lead” (2 days) ran out", "First response deadline"),
        ("vi", "Đã hết thời gian cho phép ở cấp “Trưởng nhóm” (2 ngày)", "Hạn phản hồi lần đầu"),
    ],
)
def test_a_row_names_the_deadline_that_broke_when_it_broke_and_how_long_ago(
    client, manager, swept_a_month_late, language, why, deadline
):
    complaint = swept_a_month_late
    sign_in(client, manager)
    response = client.get(reverse("staff:manager_queue"), HTTP_ACCEPT_LANGUAGE=language)
    text = row_text(response, complaint)
    with translation.override(language):
        first_response_missed = when(complaint.first_response_due_at)
        climbed = when(complaint.first_response_due_at + timedelta(days=2))
        ago_29, ago_27 = (" ".join(duration(timedelta(days=n)).split()) for n in (29, 27))
    # Why it is here: the Team lead's own time limit, when it ran out and how long ago.
    assert why in text and climbed in text and ago_27 in text
    # And the deadline that broke first, when (not when the sweep ran) and how long ago.
    assert deadline in text and first_response_missed in text and ago_29 in text
    assert "Still unresolved at this level" not in text
    # The case page says the same.
    page = client.get(reverse("staff:case", args=[complaint.reference]), HTTP_ACCEPT_LANGUAGE=language)
    page_text = " ".join(re.sub(r"<[^>]+>", " ", page.content.decode()).split())
    assert why in page_text and climbed in page_text and ago_27 in page_text


def test_a_case_moved_up_by_hand_without_a_breach_comes_after_the_breaches(client, manager):
    (late,) = breached(1)
    lead = make_user(role=Role.TEAM_LEAD)
    by_hand = make_complaint(now=NOW + 100 * HOUR)
    for _ in range(2):  # Frontline -> Team lead -> Manager
        by_hand.refresh_from_db()
        moves.escalate_manually(
            complaint=by_hand, by=lead, now=NOW + 101 * HOUR, reason="VIP", version=by_hand.version
        )
    sign_in(client, manager)
    assert references(client.get(reverse("staff:manager_queue"))) == [late.reference, by_hand.reference]


def test_keyset_pages_hold_every_case_once_oldest_breach_first(client, manager):
    complaints = breached(PAGE_SIZE + 4)
    sign_in(client, manager)
    url = reverse("staff:manager_queue")
    first = client.get(url)
    next_query = re.search(r'href="\?([^"]+)" rel="next"', first.content.decode()).group(1)
    second = client.get(url + "?" + next_query.replace("&amp;", "&"))
    assert references(first) + references(second) == [c.reference for c in complaints]
    assert client.get(url, {"after": "garbage"}).status_code == 200


def test_the_query_count_does_not_grow_with_the_rows(client, manager):
    breached(1)
    sign_in(client, manager)
    url = reverse("staff:manager_queue")
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    more = breached(PAGE_SIZE + 2, start=NOW + 500 * HOUR)
    owner = make_user(username="owner", role=Role.AGENT)  # no name: shown by e-mail address
    Complaint.objects.filter(pk__in=[c.pk for c in more[::2]]).update(assignee=owner)
    client.get(url)  # a new agent: this process reads its copies (staff among them) once
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    assert len(many.captured_queries) == len(few.captured_queries)
    assert not [q for q in many.captured_queries if "COUNT(" in q["sql"].upper()]


def test_take_ownership_and_reassign_from_the_row(client, manager):
    (complaint,) = breached(1)
    agent = make_user(role=Role.AGENT, first_name="Bình")
    sign_in(client, manager)
    url = reverse("staff:manager_queue")
    complaint.refresh_from_db()
    response = client.post(
        reverse("staff:assign", args=[complaint.reference]),
        {"assignee": "me", "version": complaint.version, "next": url},
    )
    assert response.status_code == 302 and response["Location"] == url
    complaint.refresh_from_db()
    assert complaint.assignee == manager
    response = client.post(
        reverse("staff:assign", args=[complaint.reference]),
        {"assignee": str(agent.pk), "version": complaint.version, "next": url},
    )
    assert response.status_code == 302
    complaint.refresh_from_db()
    assert complaint.assignee == agent
    assert complaint.events.filter(kind=EventKind.ASSIGNED).count() == 2
    assert complaint.reference in references(client.get(url))  # still escalated, now Bình's
