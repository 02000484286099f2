"""The incident pages of team leads and managers: declare, publish news, resolve, link a case from
its page and a queue search's results at once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import Role
from complaints import services
from complaints.models import (
    Category,
    Complaint,
    EventKind,
    Incident,
    Notification,
    Status,
    Subcategory,
    new_reference,
)
from complaints.services import incidents as incidents_service
from staff.views.incidents import REFERENCES_NAMED, search_query
from tests.factories import make_complaint, make_incident, make_user, sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    with translation.override("vi"):
        yield


@pytest.fixture
def lead(client):
    user = make_user(username="lead", role=Role.TEAM_LEAD, preferred_language="en")
    sign_in(client, user)
    return user


def declared(by, **overrides):
    return make_incident(by, now=timezone.now(), **overrides)


def declaration(**overrides):
    """What the declare form posts: ShopNhanh's log-in failure in the account category."""
    return {
        "title_vi": "Lỗi đăng nhập",
        "title_en": "Log-in failure",
        "note_vi": "Đang xử lý.",
        "note_en": "Working on it.",
        "category": Category.objects.get(slug="account").pk,
        "provider_name": "ShopNhanh",
        "started_at": "2026-03-02T09:00",
        **overrides,
    }


def test_a_lead_declares_an_incident_from_the_list(client, lead):
    response = client.get(reverse("staff:incidents"))
    assert response.status_code == 200 and 'id="declare-heading"' in response.content.decode()
    post = declaration()
    response = client.post(reverse("staff:incidents"), post)
    incident = Incident.objects.get()
    assert response.status_code == 302 and response.url == reverse("staff:incident", args=[incident.slug])
    assert incident.declared_by == lead and incident.provider_key == "shopnhanh"


def test_an_agent_gets_no_incident_pages(client):
    agent = make_user(role=Role.AGENT)
    sign_in(client, agent)
    assert client.get(reverse("staff:incidents")).status_code == 404
    incident = declared(make_user(role=Role.MANAGER))
    assert client.get(reverse("staff:incident", args=[incident.slug])).status_code == 404


def test_an_invalid_declaration_re_renders_with_errors(client, lead):
    response = client.post(reverse("staff:incidents"), {"title_vi": "x"})
    assert response.status_code == 400 and not Incident.objects.exists()


@pytest.mark.parametrize(
    ("started_at", "error"),
    [
        ("0001-01-01T00:00", "This date is too far in the past."),
        ("1969-12-31T23:59", "This date is too far in the past."),
        ("9999-12-31T23:59", "This date is in the future."),
    ],
)
def test_a_start_that_cannot_have_happened_is_refused_in_words(client, lead, started_at, error):
    """Found by tests/test_hostile_input.py: a start in year 1 was declared, a BC timestamp in
    UTC that PostgreSQL stores but cannot give back, and the list of incidents was a 500 from
    then on."""
    post = declaration(started_at=started_at)
    response = client.post(reverse("staff:incidents"), post, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400 and error in response.content.decode()
    assert not Incident.objects.exists()
    assert client.get(reverse("staff:incidents")).status_code == 200


def test_a_case_is_linked_from_its_page(client, lead):
    incident = declared(lead)
    complaint = make_complaint(now=timezone.now())
    page = client.get(reverse("staff:case", args=[complaint.reference])).content.decode()
    assert 'id="id_link_incident"' in page and incident.title_vi in page
    response = client.post(
        reverse("staff:link_incident", args=[complaint.reference]), {"incident": incident.pk}
    )
    assert response.status_code == 302
    assert Complaint.objects.get(pk=complaint.pk).incident == incident
    page = client.get(reverse("staff:case", args=[complaint.reference])).content.decode()
    assert 'data-testid="case-incident"' in page


def test_a_search_links_every_result_and_names_the_closed_ones(client, lead):
    incident = declared(lead)
    now = timezone.now()
    shown = [make_complaint(now=now, subject=f"Ví Zalò hỏng {n}") for n in range(3)]
    other = make_complaint(now=now, subject="Giao hàng chậm")
    withdrawn = make_complaint(now=now, subject="Ví Zalò hỏng cũ")
    services.transition_complaint(complaint=withdrawn, to_status=Status.WITHDRAWN, by=None, now=now)
    page = client.get(reverse("staff:queue_tab", args=["unassigned"]), {"q": "vi zalo"}).content.decode()
    assert 'data-testid="link-search"' in page
    response = client.post(
        reverse("staff:link_search"),
        {"tab": "unassigned", "q": "vi zalo", "incident": incident.pk},
        follow=True,
    )
    assert set(Complaint.objects.filter(incident=incident).values_list("pk", flat=True)) == {
        c.pk for c in shown
    }
    assert Complaint.objects.get(pk=other.pk).incident is None
    text = response.content.decode()
    assert f": {withdrawn.reference}" in text  # named as refused
    assert all(f">{case.reference}</a>" in text for case in shown)  # the incident's page lists them


def _search_results(now):
    """Cases a search for "vi zalo" finds: two about the app ZaloPay in "account" (one withdrawn),
    one filed earlier under another spelling and category, and one it does not find."""
    service = Subcategory.objects.get(slug="not-received")
    first = make_complaint(
        now=now - timedelta(hours=3),
        subject="Ví Zalò hỏng từ sáng",
        provider_name="zalopay",
        subcategory=service,
    )
    shown = [make_complaint(now=now, subject=f"Ví Zalò hỏng {n}", provider_name="ZaloPay") for n in range(2)]
    withdrawn = make_complaint(now=now, subject="Ví Zalò hỏng cũ", provider_name="ZaloPay")
    services.transition_complaint(complaint=withdrawn, to_status=Status.WITHDRAWN, by=None, now=now)
    other = make_complaint(now=now, subject="Giao hàng chậm")
    return first, shown, withdrawn, other


def test_an_incident_declared_from_a_search_starts_from_its_results_and_links_them_all(client, lead):
    now = timezone.now()
    first, shown, withdrawn, other = _search_results(now)
    page = client.get(reverse("staff:queue_tab", args=["unassigned"]), {"q": "vi zalo"}).content.decode()
    assert 'data-testid="link-search"' in page and 'id="id_search_incident"' not in page  # none open yet
    address = reverse("staff:incidents") + "?" + search_query("unassigned", [("q", "vi zalo")])
    assert f'href="{address}"'.replace("&", "&amp;") in page

    response = client.get(address)
    form = response.context["form"]
    assert form.initial["category"] == Category.objects.get(slug="account").pk  # three of four
    assert form.initial["provider_name"] == "ZaloPay"  # as most of them write it
    assert form.initial["started_at"] == timezone.localtime(first.submitted_at).replace(
        second=0, microsecond=0
    )
    assert response.context["search"]["count"] == 4  # the withdrawn one too: it will be named

    post = {
        "title_vi": "Ví ZaloPay không mở được",
        "title_en": "ZaloPay wallet will not open",
        "note_vi": "Đang xử lý.",
        "note_en": "Working on it.",
        "category": form.initial["category"],
        "provider_name": "ZaloPay",
        "started_at": "2026-03-02T09:00",
        **dict(response.context["search"]["fields"]),
    }
    response = client.post(address, post, follow=True)
    incident = Incident.objects.get()
    assert response.redirect_chain[-1][0] == reverse("staff:incident", args=[incident.slug])
    assert set(Complaint.objects.filter(incident=incident).values_list("pk", flat=True)) == {
        first.pk,
        *(case.pk for case in shown),
    }
    assert Complaint.objects.get(pk=other.pk).incident is None
    text = response.content.decode()
    assert f": {withdrawn.reference}" in text  # named as refused


def test_a_declaration_from_a_search_that_finds_nothing_declares_nothing(client, lead):
    post = {
        "title_vi": "x",
        "title_en": "x",
        "note_vi": "x",
        "note_en": "x",
        "category": Category.objects.get(slug="account").pk,
        "provider_name": "ZaloPay",
        "started_at": "2026-03-02T09:00",
        "search-tab": "unassigned",
        "search-q": "nothing like this",
    }
    response = client.post(reverse("staff:incidents"), post)
    assert response.status_code == 400 and not Incident.objects.exists()
    refusal = translation.gettext("That search finds no cases any more: the incident would link none.")
    assert refusal in response.content.decode() and refusal.startswith("Tìm kiếm")


def test_an_incident_declared_from_a_search_is_not_kept_without_its_cases(lead, monkeypatch):
    _search_results(timezone.now())

    def broken(**kwargs):
        raise RuntimeError("the link failed")

    monkeypatch.setattr(incidents_service, "link_complaints", broken)
    with pytest.raises(RuntimeError):
        services.declare_incident_for(
            complaints=Complaint.objects.all(),
            title_vi="x",
            title_en="x",
            note_vi="x",
            note_en="x",
            category=Category.objects.get(slug="account"),
            provider_name="ZaloPay",
            started_at=timezone.now(),
            by=lead,
            now=timezone.now(),
        )
    assert not Incident.objects.exists()


def test_news_and_resolution_from_the_incident_page_reach_the_linked_complainants(client, lead):
    incident = declared(lead)
    complaint = make_complaint(now=timezone.now(), language="en")
    services.link_complaint(complaint=complaint, incident=incident, by=lead, now=timezone.now())
    Notification.objects.all().delete()
    news = {"text_vi": "Đang khôi phục.", "text_en": "Restoring."}
    response = client.post(reverse("staff:incident_update", args=[incident.slug]), news)
    assert response.status_code == 302
    assert Notification.objects.get().context["note"] == "Restoring."
    response = client.post(reverse("staff:incident_resolve", args=[incident.slug]), news)
    assert Incident.objects.get(pk=incident.pk).status == "resolved"
    assert Notification.objects.count() == 2
    assert complaint.events.filter(kind=EventKind.INCIDENT_RESOLVED).count() == 1
    page = client.get(reverse("staff:incident", args=[incident.slug])).content.decode()
    assert complaint.reference in page and 'id="update-heading"' not in page


def _linked_cases(incident, lead, count=3):
    cases = [make_complaint(incident=incident) for _ in range(count)]
    return [
        services.transition_complaint(complaint=c, to_status=Status.OPEN, by=lead, now=timezone.now())
        for c in cases
    ]


def test_a_reply_to_every_linked_case_from_the_incident_page_lists_the_refused(client, lead):
    incident = declared(lead)
    cases = _linked_cases(incident, lead)
    services.transition_complaint(complaint=cases[0], to_status=Status.WITHDRAWN, by=None, now=timezone.now())
    url = reverse("staff:incident_reply_all", args=[incident.slug])
    response = client.post(url, {"body_vi": "Đã sửa.", "body_en": "Fixed."}, follow=True)
    shown = [str(m) for m in response.context["messages"]]
    assert len(shown) == 2 and shown[0].startswith("2 ")  # how many were answered
    assert shown[1].endswith(f": {cases[0].reference}")  # and the refused one, named
    assert Complaint.objects.filter(incident=incident, first_responded_at__isnull=False).count() == 2


def test_a_long_list_of_refused_cases_is_named_in_part_and_counted(client, lead):
    incident = declared(lead)
    model = make_complaint(now=timezone.now(), incident=incident)
    services.transition_complaint(complaint=model, to_status=Status.WITHDRAWN, by=None, now=timezone.now())
    copies = []
    for _ in range(REFERENCES_NAMED + 5):
        copy = Complaint.objects.get(pk=model.pk)
        copy.pk, copy.reference, copy.submission_key = None, new_reference(), None
        copies.append(copy)
    Complaint.objects.bulk_create(copies)
    refused = list(
        Complaint.objects.filter(incident=incident).order_by("id").values_list("reference", flat=True)
    )
    url = reverse("staff:incident_reply_all", args=[incident.slug])
    response = client.post(url, {"body_vi": "Đã sửa.", "body_en": "Fixed."}, follow=True)
    shown = [str(m) for m in response.context["messages"]]
    assert shown[0].startswith("0 ") and len(shown) == 2
    named, more = refused[:REFERENCES_NAMED], len(refused) - REFERENCES_NAMED
    assert ", ".join(named) in shown[1] and refused[REFERENCES_NAMED] not in shown[1]
    assert shown[1].endswith(f"{named[-1]} và {more} hồ sơ khác")


def test_resolve_all_from_the_incident_page_and_bad_input_saves_nothing(client, lead):
    incident = declared(lead)
    cases = _linked_cases(incident, lead, count=2)
    cause = Category.objects.get(slug="account").causes.first()
    url = reverse("staff:incident_resolve_all", args=[incident.slug])
    post = {"summary_vi": "Đã khôi phục.", "summary_en": "Restored.", "cause": cause.pk, "outcome": "upheld"}
    response = client.post(url, {**post, "remedy": "refund"})  # a refund without its amount
    assert response.status_code == 400 and "remedy_amount" in response.context["resolve_all_form"].errors
    response = client.post(url, {**post, "summary_en": "", "remedy": "apology"})
    assert response.status_code == 400 and "summary_en" in response.context["resolve_all_form"].errors
    assert not Complaint.objects.filter(incident=incident, status=Status.RESOLVED).exists()
    response = client.post(url, {**post, "remedy": "apology"}, follow=True)
    assert [str(m)[:2] for m in response.context["messages"]] == ["2 "]
    assert {c.status for c in Complaint.objects.filter(pk__in=[c.pk for c in cases])} == {Status.RESOLVED}


def test_an_agent_cannot_answer_the_linked_cases(client, lead):
    incident = declared(lead)
    agent = make_user(username="agent", role=Role.AGENT)
    sign_in(client, agent)
    response = client.post(
        reverse("staff:incident_reply_all", args=[incident.slug]), {"body_vi": "a", "body_en": "b"}
    )
    assert response.status_code == 404
    assert not Notification.objects.filter(template="case_update", context__kind="reply").exists()
