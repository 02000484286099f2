"""Incidents: declared by leads, cases linked one by one or a search at once, updates and the
resolution told to every linked complainant, in their language, set-wise."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from accounts.models import Role
from complaints import services
from complaints.models import (
    Category,
    Complaint,
    ComplaintEvent,
    EventKind,
    Notification,
    Status,
    Subcategory,
)
from complaints.notifications import render_notification
from complaints.refusals import ActionRefused, IncidentRefused
from complaints.selectors import matching_incidents
from tests.complaints.conftest import intake_post
from tests.factories import NOW, make_complaint, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def lead():
    return make_user(username="lead", role=Role.TEAM_LEAD, preferred_language="en")


@pytest.fixture
def agent():
    return make_user(username="agent", role=Role.AGENT)


def declare(by, *, provider_name="ShopNhanh", category_slug="account", **overrides):
    values = {
        "title_vi": "Không đăng nhập được ShopNhanh",
        "title_en": "ShopNhanh log-in is down",
        "note_vi": "Chúng tôi đang làm việc với ShopNhanh.",
        "note_en": "We are working with ShopNhanh.",
        "category": Category.objects.get(slug=category_slug),
        "provider_name": provider_name,
        "started_at": NOW - timedelta(hours=1),
        **overrides,
    }
    return services.declare_incident(**values, by=by, now=NOW)


def linked_events(kind):
    return ComplaintEvent.objects.filter(kind=kind)


def test_a_team_lead_declares_an_incident_and_an_agent_is_refused(lead, agent):
    incident = declare(lead)
    assert incident.is_open and incident.declared_by == lead
    assert incident.provider_key == "shopnhanh"
    with pytest.raises(IncidentRefused) as refused:
        declare(agent)
    with translation.override("en"):  # the refusal says why, in either language
        assert "Only a team lead or a manager" in " ".join(refused.value.messages)
    with translation.override("vi"):
        assert "Chỉ trưởng nhóm hoặc quản lý" in " ".join(refused.value.messages)


def test_a_manager_may_declare_too():
    assert declare(make_user(role=Role.MANAGER)).is_open


def test_linking_one_case_writes_a_public_timeline_entry(lead, agent):
    incident = declare(lead)
    complaint = make_complaint()
    version = complaint.version
    complaint = services.link_complaint(complaint=complaint, incident=incident, by=lead, now=NOW)
    assert Complaint.objects.get(pk=complaint.pk).incident == incident
    (event,) = linked_events(EventKind.INCIDENT_LINKED)
    assert event.complaint_id == complaint.pk and event.public and event.payload["incident"] == incident.slug
    assert Complaint.objects.get(pk=complaint.pk).version == version  # colleagues' forms stay valid
    with pytest.raises(IncidentRefused):
        services.link_complaint(complaint=complaint, incident=incident, by=lead, now=NOW)
    with pytest.raises(IncidentRefused):
        services.link_complaint(complaint=make_complaint(), incident=incident, by=agent, now=NOW)


def test_a_closed_case_is_refused_when_linked_alone(lead):
    incident = declare(lead)
    complaint = make_complaint()
    services.transition_complaint(complaint=complaint, to_status=Status.WITHDRAWN, by=None, now=NOW)
    with pytest.raises(ActionRefused):
        services.link_complaint(complaint=complaint, incident=incident, by=lead, now=NOW)


def _link_all(lead, incident):
    return services.link_complaints(
        complaints=Complaint.objects.filter(provider_name="ShopNhanh"), incident=incident, by=lead, now=NOW
    )


def test_linking_a_search_is_set_wise_and_lists_closed_cases_as_refused(lead):
    incident = declare(lead)
    few = [make_complaint() for _ in range(2)]
    with CaptureQueriesContext(connection) as small:
        result = _link_all(lead, incident)
    assert sorted(result.linked) == sorted(c.reference for c in few) and result.refused == []

    other = declare(lead, title_en="Another")
    many = [make_complaint() for _ in range(8)]
    withdrawn = make_complaint()
    services.transition_complaint(complaint=withdrawn, to_status=Status.WITHDRAWN, by=None, now=NOW)
    with CaptureQueriesContext(connection) as large:
        result = _link_all(lead, other)
    assert len(large.captured_queries) == len(small.captured_queries)
    assert len(result.linked) == len(few) + len(many)
    assert result.refused == [withdrawn.reference]
    assert Complaint.objects.filter(incident=other).count() == len(few) + len(many)
    assert not Complaint.objects.filter(pk=withdrawn.pk, incident__isnull=False).exists()
    assert linked_events(EventKind.INCIDENT_LINKED).filter(payload__incident=other.slug).count() == 10


def test_open_incidents_match_the_category_and_the_provider_however_spelled_until_resolved(lead):
    incident = declare(lead, provider_name="Shop Nhanh Việt")
    account = Category.objects.get(slug="account").pk
    assert matching_incidents(account, "shop  nhanh viet") == [incident]
    assert matching_incidents(account, "SHOP NHANH VIỆT") == [incident]
    # The same service however its name is spaced, hyphenated or written as its web address.
    for spelling in ("ShopNhanhViet", "shop-nhanh-viet", "shopnhanhviet.vn", "www.ShopNhanhViet.com.vn"):
        assert matching_incidents(account, spelling) == [incident], spelling
    assert matching_incidents(account, "Shop Nhanh") == []
    other = Category.objects.exclude(pk=account).exclude(slug="unclassified").first().pk
    assert matching_incidents(other, "Shop Nhanh Việt") == []
    services.resolve_incident(incident=incident, text_vi="Đã sửa.", text_en="Fixed.", by=lead, now=NOW)
    assert matching_incidents(account, "Shop Nhanh Việt") == []


def test_joining_at_filing_links_the_new_complaint(lead):
    incident = declare(lead)
    complaint = make_complaint(incident=incident)
    assert Complaint.objects.get(pk=complaint.pk).incident == incident
    (event,) = linked_events(EventKind.INCIDENT_LINKED)
    assert event.complaint_id == complaint.pk and event.actor_role == "complainant"


def test_joining_a_resolved_incident_files_without_the_link(lead):
    incident = declare(lead)
    services.resolve_incident(incident=incident, text_vi="Đã sửa.", text_en="Fixed.", by=lead, now=NOW)
    complaint = make_complaint(incident=incident)
    assert Complaint.objects.get(pk=complaint.pk).incident is None


@pytest.mark.parametrize("act", ["update", "resolve"])
def test_news_reaches_each_linked_complainant_once_in_their_language(lead, act):
    incident = declare(lead)
    vi = make_complaint(language="vi", contact_email="vi@example.org")
    en = make_complaint(language="en", contact_email="en@example.org")
    closed = make_complaint(contact_email="gone@example.org")
    unlinked = make_complaint(contact_email="other@example.org", provider_name="Other")
    _link_all(lead, incident)
    services.transition_complaint(complaint=closed, to_status=Status.WITHDRAWN, by=None, now=NOW)
    Notification.objects.all().delete()
    texts = {"text_vi": "Đang khôi phục.", "text_en": "Being restored."}
    kind = EventKind.INCIDENT_UPDATE if act == "update" else EventKind.INCIDENT_RESOLVED
    later = NOW + timedelta(hours=1)
    if act == "update":
        services.update_incident(incident=incident, **texts, by=lead, now=later)
    else:
        services.resolve_incident(incident=incident, **texts, by=lead, now=later)
    notices = {n.email: n for n in Notification.objects.all()}
    assert set(notices) == {"vi@example.org", "en@example.org"}
    assert (
        notices["vi@example.org"].language == "vi"
        and notices["vi@example.org"].context["note"] == "Đang khôi phục."
    )
    assert (
        notices["en@example.org"].language == "en"
        and notices["en@example.org"].context["note"] == "Being restored."
    )
    assert notices["en@example.org"].context["kind"] == kind
    events = linked_events(kind)
    assert sorted(e.complaint_id for e in events) == sorted([vi.pk, en.pk])
    assert {e.complaint_id: e.body for e in events}[en.pk] == "Being restored."
    assert not ComplaintEvent.objects.filter(complaint=unlinked, kind=kind).exists()


def test_a_resolved_incident_takes_no_more_news_or_cases(lead):
    incident = declare(lead)
    services.resolve_incident(incident=incident, text_vi="Xong.", text_en="Done.", by=lead, now=NOW)
    with pytest.raises(IncidentRefused):
        services.update_incident(incident=incident, text_vi="a", text_en="b", by=lead, now=NOW)
    with pytest.raises(IncidentRefused):
        services.link_complaint(complaint=make_complaint(), incident=incident, by=lead, now=NOW)


def test_an_agent_cannot_update_resolve_or_link_in_bulk(lead, agent):
    incident = declare(lead)
    with pytest.raises(IncidentRefused):
        services.update_incident(incident=incident, text_vi="a", text_en="b", by=agent, now=NOW)
    with pytest.raises(IncidentRefused):
        services.resolve_incident(incident=incident, text_vi="a", text_en="b", by=agent, now=NOW)
    with pytest.raises(IncidentRefused):
        _link_all(agent, incident)


# --- The complainant's pages ----------------------------------------------------------------------


def _form_with_error(client, **overrides):
    """The filing form sent with the subject missing: it comes back, with what was typed."""
    post = intake_post(subject="", **overrides)
    return client.post(reverse("complaints:create"), post, HTTP_ACCEPT_LANGUAGE="en").content.decode()


def test_the_form_shows_an_open_incident_only_for_its_category_and_provider(client, lead):
    incident = declare(lead, provider_name="Shop Nhanh")
    assert incident.title_en in _form_with_error(client, provider_name="shop nhanh")
    assert 'data-testid="known-incidents"' in _form_with_error(client, provider_name="SHOP NHANH")
    assert incident.title_en not in _form_with_error(client, provider_name="Other shop")
    other = Subcategory.objects.exclude(category__slug__in=["account", "unclassified"]).first()
    assert incident.title_en not in _form_with_error(
        client, provider_name="Shop Nhanh", subcategory=str(other.pk)
    )
    fragment = client.get(
        reverse("complaints:matching_incidents"),
        {"subcategory": intake_post()["subcategory"], "provider_name": "shop nhanh"},
        HTTP_ACCEPT_LANGUAGE="en",
    ).content.decode()
    assert incident.title_en in fragment and f'value="{incident.pk}"' in fragment
    services.resolve_incident(incident=incident, text_vi="Xong.", text_en="Done.", by=lead, now=NOW)
    assert incident.title_en not in _form_with_error(client, provider_name="Shop Nhanh")


def test_the_form_reads_open_incidents_from_the_process_copy_not_the_database(client, lead):
    for n in range(20):
        declare(lead, title_en=f"Incident {n}")
    _form_with_error(client)  # the copy is read once after the incidents changed
    with CaptureQueriesContext(connection) as queries:
        page = _form_with_error(client)
    assert page.count('name="incidents"') == 20
    assert not [q["sql"] for q in queries.captured_queries if "complaints_incident" in q["sql"]]


def test_the_empty_form_shows_no_incident(client, lead):
    declare(lead)
    page = client.get(reverse("complaints:create")).content.decode()
    assert 'data-testid="known-incidents"' not in page


def test_ticking_this_is_my_problem_too_links_the_complaint_at_filing(client, lead):
    incident = declare(lead)
    response = client.post(reverse("complaints:create"), intake_post(incidents=[str(incident.pk)]))
    assert response.status_code == 302
    complaint = Complaint.objects.get()
    assert complaint.incident == incident
    assert complaint.events.filter(kind=EventKind.INCIDENT_LINKED, actor_role="complainant").count() == 1


def test_a_box_for_an_incident_that_does_not_match_is_refused(client, lead):
    incident = declare(lead, provider_name="Another shop")
    response = client.post(reverse("complaints:create"), intake_post(incidents=[str(incident.pk)]))
    assert response.status_code == 200 and not Complaint.objects.exists()


def test_the_confirmation_offers_the_matching_incident_and_joining_it_links_the_case(client, lead):
    incident = declare(lead)
    client.post(reverse("complaints:create"), intake_post())
    complaint = Complaint.objects.get()
    assert complaint.incident is None
    page = client.get(reverse("complaints:submitted", args=[complaint.reference])).content.decode()
    assert 'data-testid="known-incident"' in page
    response = client.post(
        reverse("complaints:join_incident", args=[complaint.reference]), {"incident": incident.pk}
    )
    assert response.status_code == 302
    assert Complaint.objects.get(pk=complaint.pk).incident == incident
    stranger = Client()
    response = stranger.post(
        reverse("complaints:join_incident", args=[complaint.reference]), {"incident": incident.pk}
    )
    assert response.status_code == 404


@pytest.mark.parametrize("sent", [None, "", "abc", "²", "1.5", "99999999999999999999", "-1", "0"])
def test_joining_a_known_problem_that_is_none_says_so_and_links_nothing(client, lead, sent):
    """Found by tests/test_hostile_input.py: an id that was no number ("abc", "²") was a 500 and
    an unknown one a bare "Page not found"."""
    declare(lead)
    client.post(reverse("complaints:create"), intake_post())
    complaint = Complaint.objects.get()
    response = client.post(
        reverse("complaints:join_incident", args=[complaint.reference]),
        {} if sent is None else {"incident": sent},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="vi",
    )
    assert response.redirect_chain == [(reverse("complaints:submitted", args=[complaint.reference]), 302)]
    assert "Không tìm thấy sự cố đã biết đó" in response.content.decode()
    assert Complaint.objects.get(pk=complaint.pk).incident is None


@pytest.mark.parametrize(
    ("language", "title", "news"),
    [("vi", "Không đăng nhập được", "Đang khôi phục"), ("en", "log-in is down", "Being restored")],
)
def test_the_public_page_reads_in_the_readers_language(client, lead, language, title, news):
    incident = declare(lead)
    services.update_incident(
        incident=incident, text_vi="Đang khôi phục.", text_en="Being restored.", by=lead, now=NOW
    )
    response = client.get(reverse("incident", args=[incident.slug]), HTTP_ACCEPT_LANGUAGE=language)
    page = response.content.decode()
    assert response.status_code == 200 and title in page and news in page
    others = {"vi": ("log-in is down", "Being restored"), "en": ("Không đăng nhập được", "Đang khôi phục")}
    assert not any(text in page for text in others[language])  # nothing in the other language
    assert f'lang="{language}"' in page
    assert client.get(reverse("incident", args=["no-such-incident"])).status_code == 404


def test_the_news_e_mail_says_what_happened_in_the_complainants_language_and_links_the_page(lead):
    incident = declare(lead)
    complaint = make_complaint(language="en")
    services.link_complaint(complaint=complaint, incident=incident, by=lead, now=NOW)
    Notification.objects.all().delete()
    services.update_incident(
        incident=incident, text_vi="Đang khôi phục.", text_en="Being restored.", by=lead, now=NOW
    )
    message = render_notification(Notification.objects.select_related("complaint").get(), now=NOW)
    assert "one of many about the same known problem" in message.body
    assert "Being restored." in message.body
    assert f"/incidents/{incident.slug}/" in message.body


def test_news_is_written_set_wise_whatever_the_number_of_linked_cases(lead):
    def statements(cases):
        incident = declare(lead, title_en=f"{cases} cases")
        for _ in range(cases):
            services.link_complaint(complaint=make_complaint(), incident=incident, by=lead, now=NOW)
        with CaptureQueriesContext(connection) as queries:
            services.update_incident(incident=incident, text_vi="Tin.", text_en="News.", by=lead, now=NOW)
        assert (
            Notification.objects.filter(template="case_update", context__note__in=["Tin.", "News."]).count()
            >= cases
        )
        return len(queries.captured_queries)

    assert statements(2) == statements(7)
