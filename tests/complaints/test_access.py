"""Who may see what: two complainants, a guest, staff and a stranger, on every complaint URL."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Role
from complaints.access import grant_guest_access
from tests.factories import make_complaint, make_user, sign_in

pytestmark = pytest.mark.django_db

PAGES = ["detail", "submitted"]
ACTIONS = {
    "reply": {"body": "xin chào"},
    "add_contact": {
        "contact-channel": "chat",
        "contact-contacted_at": "2026-01-01T10:00",
        "contact-summary": "x",
    },
    "remind": {},
    "withdraw": {"withdraw-reason": ""},
    "accept": {},
    "dispute": {"dispute-reason": "x"},
    "rate": {"rating-rating": "5"},
    "request_escalation": {"escalation-reason": "quá hạn"},
}
# Who sees each page: the owner always; staff see the case page (read-only), never the
# complainant's own confirmation or actions.
PAGE_ACCESS = {
    "detail": {"owner", "agent", "manager"},
    "submitted": {"owner"},
}


@pytest.fixture
def world():
    alice, bob = make_user(username="alice"), make_user(username="bob")
    agent, manager = (
        make_user(username="agent", role=Role.AGENT),
        make_user(username="boss", role=Role.MANAGER),
    )
    alices = make_complaint(by=alice)
    guests = make_complaint()
    return {
        "alice": alice,
        "bob": bob,
        "agent": agent,
        "manager": manager,
        "alices": alices,
        "guests": guests,
    }


def client_for(who: str, world) -> Client:
    client = Client()
    if who in ("alice", "bob", "agent", "manager"):
        sign_in(client, world[who])
    if who == "guest":
        from django.http import HttpRequest, HttpResponse

        response = grant_guest_access(HttpRequest(), HttpResponse(), world["guests"])
        client.cookies.update(response.cookies)
    return client


VISITORS = ["alice", "bob", "guest", "agent", "manager", "stranger"]
STAFF = ("agent", "manager")


def page_url(page: str, visitor: str, reference: str) -> str:
    """Staff read a case on their own page, and are sent there from the complainant's."""
    if page == "detail" and visitor in STAFF:
        return reverse("staff:case", args=[reference])
    return reverse(f"complaints:{page}", args=[reference])


CASES = [("alices", "alice"), ("guests", "guest")]


@pytest.mark.parametrize("visitor", VISITORS)
@pytest.mark.parametrize(("case", "owner"), CASES)
@pytest.mark.parametrize("page", PAGES)
def test_pages_are_visible_only_to_those_entitled(world, visitor, case, owner, page):
    complaint = world[case]
    response = client_for(visitor, world).get(page_url(page, visitor, complaint.reference))
    role = "owner" if visitor == owner else visitor
    expected = 200 if role in PAGE_ACCESS[page] else 404
    assert response.status_code == expected


@pytest.mark.parametrize("visitor", VISITORS)
@pytest.mark.parametrize(("case", "owner"), CASES)
@pytest.mark.parametrize("action", ACTIONS)
def test_actions_are_open_only_to_the_complainant(world, visitor, case, owner, action):
    complaint = world[case]
    response = client_for(visitor, world).post(
        reverse(f"complaints:{action}", args=[complaint.reference]), ACTIONS[action]
    )
    if visitor == owner:
        assert response.status_code == 302
    else:
        assert response.status_code == 404
        complaint.refresh_from_db()
        assert complaint.version == 1


def test_an_unknown_reference_is_404_for_everyone(world):
    for visitor in VISITORS:
        assert client_for(visitor, world).get(page_url("detail", visitor, "KN-0000-0000")).status_code == 404


def test_staff_see_internal_events_and_complainants_do_not(world):
    from django.utils import timezone

    from complaints.records import record_event

    record_event(
        complaint=world["alices"],
        kind="internal_note",
        by=world["agent"],
        now=timezone.now(),
        public=False,
        body="Nội bộ: khách hàng VIP",
    )
    reference = world["alices"].reference
    staff_page = client_for("agent", world).get(page_url("detail", "agent", reference))
    assert "Nội bộ: khách hàng VIP" in staff_page.content.decode()
    own_page = client_for("alice", world).get(page_url("detail", "alice", reference))
    assert "Nội bộ: khách hàng VIP" not in own_page.content.decode()


@pytest.mark.parametrize("visitor", STAFF)
def test_staff_opening_the_complainants_case_page_are_sent_to_their_own(world, visitor):
    reference = world["guests"].reference
    response = client_for(visitor, world).get(reverse("complaints:detail", args=[reference]))
    assert response.status_code == 302
    assert response["Location"] == reverse("staff:case", args=[reference])
