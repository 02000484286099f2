"""The case page runs a constant number of queries whatever the length of the timeline."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from complaints import services
from complaints.models import Complaint
from tests.factories import NOW, contact_data, make_complaint, make_user, sign_in

pytestmark = pytest.mark.django_db


def grow(complaint, n: int) -> None:
    for i in range(n):
        services.reply_as_complainant(complaint=complaint, body=f"tin nhắn {i}", by=None, now=NOW)
        services.add_contact(complaint=complaint, data=contact_data(), by=None, now=NOW)


def queries_for(client, complaint, page: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse(page, args=[complaint.reference]))
    assert response.status_code == 200
    return len(captured.captured_queries)


@pytest.mark.parametrize("staff", [False, True])
def test_the_case_page_query_count_does_not_grow_with_the_timeline(client, staff):
    from accounts.models import Role

    user = make_user(role=Role.AGENT if staff else None)
    short = make_complaint(by=None if staff else user)
    long = make_complaint(by=None if staff else user)
    grow(long, 40)
    # Assigned: neither page reads the assignee's account on its own (the complainant's page
    # never names them; staff's reads them with the case).
    Complaint.objects.filter(pk=long.pk).update(assignee=make_user(role=Role.AGENT))
    sign_in(client, user)
    page = "staff:case" if staff else "complaints:detail"
    queries_for(client, short, page)  # this process reads the forms' choices once, then keeps them
    assert queries_for(client, short, page) == queries_for(client, long, page)
    # One of them is the second factor's: the device the session passed it with (staff), or
    # that the complainant has none (accounts.middleware); staff's page writes one more: the
    # view's entry in the access log; the complainant's reads the case's status changes, which
    # the deadlines' accounts replay (staff's replay the timeline they show). Staff's reads its
    # related and linked cases too (the two cases are related): the candidates, then their rows.
    assert queries_for(client, long, page) <= (11 if staff else 10)


def test_only_the_complainant_gets_the_complainants_forms(client):
    """Staff's page builds none of them: they sit in sections shown to the complainant alone."""
    from accounts.models import Role
    from complaints.case_page import COMPLAINANT_FORMS

    complainant = make_user()
    complaint = make_complaint(by=complainant)
    sign_in(client, complainant)
    context = client.get(reverse("complaints:detail", args=[complaint.reference])).context
    assert all(context.get(name) is not None for name in COMPLAINANT_FORMS)
    sign_in(client, make_user(role=Role.AGENT))
    context = client.get(reverse("staff:case", args=[complaint.reference])).context
    assert not [name for name in COMPLAINANT_FORMS if context.get(name) is not None]


def test_a_case_assigned_but_never_on_the_ladder_does_not_read_the_ladder(client):
    """An assignment's event names a person ("to": their id), not a rung: the page names the
    assignee without reading the ladder; once the case moves up, it reads the rungs' names."""
    from accounts.models import Role
    from escalation import moves

    lead, agent = make_user(role=Role.TEAM_LEAD), make_user(role=Role.AGENT, first_name="Lan")
    complaint = services.assign_complaint(
        complaint=make_complaint(), assignee=agent, by=lead, now=NOW, version=1
    )
    sign_in(client, lead)
    url = reverse("staff:case", args=[complaint.reference])
    client.get(url)
    with CaptureQueriesContext(connection) as captured:
        page = client.get(url).content.decode()
    assert "Lan" in page
    assert not [q for q in captured.captured_queries if "escalation_escalationlevel" in q["sql"]]
    moves.escalate_manually(complaint=complaint, by=agent, now=NOW, reason="x", version=complaint.version)
    with CaptureQueriesContext(connection) as captured:
        client.get(url)
    assert [q for q in captured.captured_queries if "escalation_escalationlevel" in q["sql"]]


@pytest.mark.parametrize("staff", [False, True])
def test_the_case_pages_name_the_category_from_the_kept_copy_and_see_a_rename(client, staff):
    """Both pages name the case's category and subcategory from this process's copy (no join,
    no query once warm), retired ones included, and show a rename at the next view."""
    from accounts.models import Role

    user = make_user(role=Role.AGENT if staff else None)
    complaint = make_complaint(by=None if staff else user)
    sign_in(client, user)
    url = reverse("staff:case" if staff else "complaints:detail", args=[complaint.reference])
    client.get(url)
    subcategory = complaint.subcategory
    subcategory.is_active = False  # retired since: the case still names it
    subcategory.name_en = "Locked out after a password reset"
    subcategory.save()
    client.get(url)
    with CaptureQueriesContext(connection) as captured:
        page = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f"{complaint.category.name_en} \u203a Locked out after a password reset" in page  # the separator
    assert not [q for q in captured.captured_queries if "complaints_category" in q["sql"]]
    assert not [q for q in captured.captured_queries if "complaints_subcategory" in q["sql"]]


def test_the_case_pages_rows_know_their_case_without_a_query(rf):
    from accounts.models import Role
    from complaints.case_page import case_context
    from evidence.services import attach_evidence
    from tests.evidence.conftest import png, sealed

    agent = make_user(role=Role.AGENT)
    complaint = make_complaint(contacts=[contact_data()])
    attach_evidence(complaint=complaint, uploads=[(sealed("a.png", png(8, 8)), "")], by=None, now=NOW)
    request = rf.get("/")
    request.user, request.COOKIES = agent, {}
    context = case_context(request, complaint, staff=True, now=NOW, bound={})
    rows = [*context["events"], *context["evidence"], *context["contacts"]]
    assert {type(row).__name__ for row in rows} == {"ComplaintEvent", "Evidence", "ContactAttempt"}
    with CaptureQueriesContext(connection) as captured:
        assert all(row.complaint is complaint for row in rows)
    assert not captured.captured_queries
