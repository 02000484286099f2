"""The case page's related and linked cases: the panel for each role, the one click that links a
related case to an incident (leads and managers), cases linked to each other (any member of staff)
on both timelines, and every refusal as a message."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from complaints import services
from complaints.models import Complaint, ComplaintEvent, ComplaintRelation, EventKind
from tests.factories import make_complaint, make_incident, make_user, sign_in

pytestmark = pytest.mark.django_db

LOGIN = (
    "Không đăng nhập được ShopNhanh",
    "Từ sáng nay tôi không vào được tài khoản, ứng dụng báo sai mật khẩu.",
)
LOGIN_AGAIN = ("Khong dang nhap duoc vao ShopNhanh", "tu sang nay khong vao duoc tai khoan, bao sai mat khau")
DELIVERY = ("Giao hàng trễ ba tuần", "Đơn hàng giày thể thao vẫn chưa tới, shop hẹn mãi.")


def filed(text=LOGIN, *, hours=0, provider="ShopNhanh", **fields):
    """A complaint filed `hours` from now through intake, giving no account unless told."""
    subject, description = text
    values = {"provider_username": "", "provider_email": "", "provider_account_id": "", **fields}
    return make_complaint(
        now=timezone.now() + timedelta(hours=hours),
        subject=subject,
        description=description,
        provider_name=provider,
        **values,
    )


def signed_in(client, role, language="en"):
    user = make_user(role=role, preferred_language=language)
    sign_in(client, user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = language  # the pages in the reader's language
    return user


def declared(by, provider="ShopNhanh"):
    return make_incident(by, now=timezone.now(), provider_name=provider)


def page(client, complaint) -> str:
    response = client.get(reverse("staff:case", args=[complaint.reference]))
    assert response.status_code == 200
    return response.content.decode()


def section(html: str, testid: str) -> str:
    start = html.index(f'data-testid="{testid}"')
    return html[start : html.index("</section>", start)]


def post(client, name, complaint, data):
    return client.post(reverse(f"staff:{name}", args=[complaint.reference]), data, follow=True)


def one_click(client, case, related, incident):
    """A related case's button that links one of the two to an incident."""
    return post(client, "link_related_incident", case, {"other": related.reference, "incident": incident.pk})


def said(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def linked_events(complaint, kind=EventKind.CASE_LINKED):
    return list(ComplaintEvent.objects.filter(complaint=complaint, kind=kind))


# --- The panel ------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.AGENT, Role.TEAM_LEAD, Role.MANAGER])
def test_the_panel_lists_related_cases_with_why_for_each_role(client, role):
    lead = make_user(role=Role.TEAM_LEAD)
    incident = declared(lead)
    case = filed(LOGIN)
    services.link_complaint(complaint=case, incident=incident, by=lead, now=timezone.now())
    similar = filed(LOGIN_AGAIN, hours=-2, provider="Shop Nhanh VN")
    account = filed(DELIVERY, hours=-24 * 90, provider_username="lan", provider="shopnhanh")
    Complaint.objects.filter(pk=case.pk).update(provider_username="LAN")
    unrelated = filed(DELIVERY, hours=-1, provider="Tiki")
    signed_in(client, role)
    panel = section(page(client, case), "related-cases")
    assert f'data-reference="{similar.reference}"' in panel
    assert f'data-reference="{account.reference}"' in panel
    assert unrelated.reference not in panel
    assert panel.index(account.reference) < panel.index(similar.reference)  # the same account first
    assert 'data-why="text"' in panel and "Similar text: " in panel and "before this one" in panel
    assert 'data-why="account"' in panel
    # Anyone may link them to each other; only leads and managers to the incident.
    assert panel.count(reverse("staff:relate", args=[case.reference])) == 2
    incident_buttons = panel.count('data-testid="related-incident-link"')
    assert incident_buttons == (0 if role == Role.AGENT else 2)


def test_the_panel_says_when_nothing_is_related(client):
    case = filed(LOGIN)
    filed(DELIVERY, hours=-1, provider="Tiki")
    signed_in(client, Role.AGENT)
    html = page(client, case)
    assert 'data-testid="no-related"' in section(html, "related-cases")
    assert "No case is linked to this one." in section(html, "linked-cases")


def test_a_related_cases_incident_is_shown_and_a_closed_one_gets_no_incident_button(client):
    lead = signed_in(client, Role.TEAM_LEAD)
    incident = declared(lead)
    case = filed(LOGIN)
    theirs = filed(LOGIN_AGAIN, hours=-1)
    services.link_complaint(complaint=theirs, incident=incident, by=lead, now=timezone.now())
    closed = filed(LOGIN_AGAIN, hours=-2)
    services.transition_complaint(complaint=closed, to_status="withdrawn", by=None, now=timezone.now())
    panel = section(page(client, case), "related-cases")
    assert 'data-testid="related-incident"' in panel and "ShopNhanh log-in down" in panel
    # A case no longer handled shows its status, not an SLA state (its clock stopped).
    ended = panel[panel.index(f'data-reference="{closed.reference}"') :]
    ended = ended[: ended.index("</li>")]
    assert "status-withdrawn" in ended and "text-bg-danger" not in ended and "text-bg-success" not in ended
    running = panel[panel.index(f'data-reference="{theirs.reference}"') :]
    assert "text-bg-success" in running[: running.index("</li>")]  # on track
    # This case has no incident: one click links it to theirs; the withdrawn case has none to offer.
    assert panel.count('data-testid="related-incident-link"') == 1
    assert "Link this case to the incident “ShopNhanh log-in down”" in panel


def test_the_case_page_reads_the_same_number_of_queries_however_many_related_and_linked(client):
    agent = signed_in(client, Role.AGENT)
    few = filed(LOGIN)
    filed(LOGIN_AGAIN, hours=-1)

    def count(complaint):
        with CaptureQueriesContext(connection) as captured:
            page(client, complaint)
        return len(captured.captured_queries)

    count(few)  # the forms' choices, read once a process
    before = count(few)
    many = filed(LOGIN, hours=-3)
    others = [filed(LOGIN_AGAIN, hours=-3 - n / 10, provider=f"Shop {n}") for n in range(12)]
    lead = make_user(role=Role.TEAM_LEAD)
    incident = declared(lead)
    for other in others[:4]:  # rows naming their incident
        services.link_complaint(complaint=other, incident=incident, by=lead, now=timezone.now())
    for _n in range(3):
        services.relate_complaints(
            complaint=many, other=filed(DELIVERY, provider="Tiki"), by=agent, now=timezone.now()
        )
    count(many)  # the copies a new member of staff and an incident dropped, read again
    assert count(many) == before


# --- One click: a related case to an incident -------------------------------------------------------


def test_a_lead_links_a_related_case_to_this_cases_incident_in_one_click(client):
    lead = signed_in(client, Role.TEAM_LEAD)
    incident = declared(lead)
    case = filed(LOGIN)
    services.link_complaint(complaint=case, incident=incident, by=lead, now=timezone.now())
    related = filed(LOGIN_AGAIN, hours=-1)
    response = post(
        client, "link_related_incident", case, {"other": related.reference, "incident": incident.pk}
    )
    assert response.redirect_chain[-1][0] == reverse("staff:case", args=[case.reference])
    assert said(response) == [f"{related.reference} was linked to the incident “ShopNhanh log-in down”."]
    assert Complaint.objects.get(pk=related.pk).incident == incident
    event = ComplaintEvent.objects.get(complaint=related, kind=EventKind.INCIDENT_LINKED)
    assert event.public and event.payload == {"incident": incident.slug}
    # Now of its incident, it is listed no more.
    assert related.reference not in section(response.content.decode(), "related-cases")


def test_a_manager_links_this_case_to_the_related_cases_incident_in_one_click(client):
    manager = signed_in(client, Role.MANAGER)
    incident = declared(manager)
    case = filed(LOGIN)
    related = filed(LOGIN_AGAIN, hours=-1)
    services.link_complaint(complaint=related, incident=incident, by=manager, now=timezone.now())
    response = post(
        client, "link_related_incident", case, {"other": related.reference, "incident": incident.pk}
    )
    assert said(response) == [f"{case.reference} was linked to the incident “ShopNhanh log-in down”."]
    assert Complaint.objects.get(pk=case.pk).incident == incident
    assert 'data-testid="case-incident"' in response.content.decode()


def test_one_click_refuses_a_page_read_before_a_change_and_a_case_of_another_incident(client):
    lead = signed_in(client, Role.TEAM_LEAD)
    incident, other = declared(lead), declared(lead, provider="Tiki")
    case, related = filed(LOGIN), filed(LOGIN_AGAIN, hours=-1)
    # Neither is linked to the incident the page named (it was moved meanwhile): nothing changes.
    response = post(
        client, "link_related_incident", case, {"other": related.reference, "incident": incident.pk}
    )
    assert said(response) == ["Neither case is linked to this incident any more. Look at the case again."]
    assert not Complaint.objects.filter(incident__isnull=False).exists()
    # The one to link is in another incident: it is not moved by this click.
    services.link_complaint(complaint=case, incident=incident, by=lead, now=timezone.now())
    services.link_complaint(complaint=related, incident=other, by=lead, now=timezone.now())
    response = post(
        client, "link_related_incident", case, {"other": related.reference, "incident": incident.pk}
    )
    assert said(response) == [
        "This case is linked to another incident. To move it, open it and choose the incident there."
    ]
    assert Complaint.objects.get(pk=related.pk).incident == other
    # Both in it already.
    services.link_complaint(complaint=related, incident=incident, by=lead, now=timezone.now())
    response = post(
        client, "link_related_incident", case, {"other": related.reference, "incident": incident.pk}
    )
    assert said(response) == ["This case is already linked to this incident."]


def test_one_click_refuses_bad_input_with_a_message_never_a_500(client):
    lead = signed_in(client, Role.TEAM_LEAD)
    incident = declared(lead)
    case = filed(LOGIN)
    services.link_complaint(complaint=case, incident=incident, by=lead, now=timezone.now())
    for data, message in [
        ({"other": "KN-0000-0000", "incident": incident.pk}, "No case has the reference KN-0000-0000."),
        ({"other": case.reference, "incident": 10**9}, "That incident does not exist."),
        ({"other": case.reference, "incident": "x"}, "Choose a related case and an incident."),
        ({"incident": incident.pk}, "Choose a related case and an incident."),
        ({"other": "a\x00b", "incident": incident.pk}, "Choose a related case and an incident."),
        ({"other": case.reference, "incident": incident.pk}, "This case is already linked to this incident."),
    ]:
        response = post(client, "link_related_incident", case, data)
        assert response.status_code == 200 and said(response) == [message]


def test_an_agent_cannot_link_a_related_case_to_an_incident(client):
    lead = make_user(role=Role.TEAM_LEAD)
    incident = declared(lead)
    case, related = filed(LOGIN), filed(LOGIN_AGAIN, hours=-1)
    services.link_complaint(complaint=case, incident=incident, by=lead, now=timezone.now())
    signed_in(client, Role.AGENT)
    url = reverse("staff:link_related_incident", args=[case.reference])
    assert client.post(url, {"other": related.reference, "incident": incident.pk}).status_code == 404
    assert Complaint.objects.get(pk=related.pk).incident is None


# --- Cases linked to each other ----------------------------------------------------------------------


def test_an_agent_links_two_cases_to_each_other_on_both_timelines(client):
    agent = signed_in(client, Role.AGENT)
    case, other = filed(LOGIN), filed(DELIVERY, hours=-30 * 24, provider="Tiki")
    typed = " " + other.reference.lower().replace("-", "- ", 1) + " "  # as someone may type it
    response = post(client, "relate", case, {"other": typed})
    assert said(response) == [f"{other.reference} is now linked to this case."]
    relation = ComplaintRelation.objects.get()
    assert (relation.low_id, relation.high_id) == tuple(sorted((case.pk, other.pk)))
    assert relation.created_by == agent
    # Symmetric: each case lists the other, and each timeline says so, for staff only.
    assert f'data-reference="{other.reference}"' in section(response.content.decode(), "linked-cases")
    assert f'data-reference="{case.reference}"' in section(page(client, other), "linked-cases")
    for one, two in ((case, other), (other, case)):
        [event] = linked_events(one)
        assert not event.public and event.payload == {"case": two.reference} and event.actor == agent
    assert f"Linked to case {other.reference}." in page(client, case)


def test_linking_again_from_either_side_changes_nothing_and_says_so(client):
    signed_in(client, Role.AGENT)
    case, other = filed(LOGIN), filed(DELIVERY, provider="Tiki")
    post(client, "relate", case, {"other": other.reference})
    response = post(client, "relate", other, {"other": case.reference})
    assert said(response) == [f"{case.reference} is already linked to this case."]
    assert ComplaintRelation.objects.count() == 1
    assert len(linked_events(case)) == len(linked_events(other)) == 1


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("KN-0000-0000", "No case has the reference KN-0000-0000."),
        ("", "Give the other case's reference."),
        ("x" * 65, "Ensure this value has at most 64 characters (it has 65)."),
        ("a\x00b", "Null characters are not allowed."),
    ],
)
def test_linking_an_unknown_or_malformed_reference_is_a_message(client, typed, message):
    signed_in(client, Role.AGENT)
    case = filed(LOGIN)
    response = post(client, "relate", case, {"other": typed})
    assert response.status_code == 200 and said(response) == [message]
    assert not ComplaintRelation.objects.exists()


def test_a_case_is_not_linked_to_itself(client):
    signed_in(client, Role.AGENT)
    case = filed(LOGIN)
    response = post(client, "relate", case, {"other": case.reference})
    assert said(response) == ["A case cannot be linked to itself."]
    assert not ComplaintRelation.objects.exists() and not linked_events(case)


def test_a_refusal_is_in_the_readers_language(client):
    signed_in(client, Role.AGENT, language="vi")
    case = filed(LOGIN)
    response = post(client, "relate", case, {"other": case.reference})
    assert said(response) == ["Không thể gắn một hồ sơ với chính nó."]


def test_removing_a_link_from_either_side_records_it_on_both_timelines(client):
    agent = signed_in(client, Role.AGENT)
    case, other = filed(LOGIN), filed(LOGIN_AGAIN, hours=-1)
    services.relate_complaints(complaint=case, other=other, by=agent, now=timezone.now())
    assert other.reference not in section(page(client, case), "related-cases")  # linked, not related
    response = post(client, "unrelate", other, {"other": case.reference})
    assert said(response) == [f"{case.reference} is no longer linked to this case."]
    assert not ComplaintRelation.objects.exists()
    for one, two in ((case, other), (other, case)):
        [event] = linked_events(one, EventKind.CASE_UNLINKED)
        assert not event.public and event.payload == {"case": two.reference}
    html = page(client, case)
    assert other.reference not in section(html, "linked-cases")
    assert f'data-reference="{other.reference}"' in section(html, "related-cases")  # related again
    # Removing it again: nothing to remove.
    response = post(client, "unrelate", case, {"other": other.reference})
    assert said(response) == [f"{other.reference} is not linked to this case."]
    assert len(linked_events(case, EventKind.CASE_UNLINKED)) == 1


def test_the_complainant_never_sees_the_link(client):
    agent = make_user(role=Role.AGENT)
    complainant = make_user()
    case = make_complaint(by=complainant)
    other = filed(DELIVERY, provider="Tiki")
    services.relate_complaints(complaint=case, other=other, by=agent, now=timezone.now())
    sign_in(client, complainant)
    html = client.get(reverse("complaints:detail", args=[case.reference])).content.decode()
    assert other.reference not in html and 'data-testid="linked-cases"' not in html


def test_only_staff_link_cases_and_only_by_post_with_a_token(client):
    case, other = filed(LOGIN), filed(DELIVERY, provider="Tiki")
    data = {"other": other.reference}
    for name in ("relate", "unrelate"):
        url = reverse(f"staff:{name}", args=[case.reference])
        assert client.post(url, data).status_code == 302  # to sign in
        complainant = make_user()
        sign_in(client, complainant)
        assert client.post(url, data).status_code == 404
        client.logout()
    agent = make_user(role=Role.AGENT)
    sign_in(client, agent)
    assert client.get(reverse("staff:relate", args=[case.reference])).status_code == 405
    assert client.post(reverse("staff:relate", args=["KN-0000-0000"]), data).status_code == 404
    guarded = Client(enforce_csrf_checks=True)
    sign_in(guarded, agent)  # signed in, but posting without the page's token
    assert guarded.post(reverse("staff:relate", args=[case.reference]), data).status_code == 403
    assert not ComplaintRelation.objects.exists()
