"""Causes on the record: a case is resolved with its cause (from its category's taxonomy, or
one for every category), whether it is upheld, and the remedy (a refund with its amount);
without any of them nothing is saved, and the message says what is missing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from accounts.models import Role
from complaints import services
from complaints.models import Cause, Complaint, EventKind, Status
from complaints.refusals import ActionRefused, TransitionNotAllowed
from tests.factories import NOW, found, found_form, make_complaint, make_user, resolve, sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent():
    return make_user(username="agent", role=Role.AGENT)


def fresh(complaint: Complaint) -> Complaint:
    return Complaint.objects.get(pk=complaint.pk)


def post_resolve(client, agent, complaint, *, language="en", **data):
    sign_in(client, agent)
    values = {"summary": "Tài khoản đã được mở khoá.", "version": complaint.version, **found_form(complaint)}
    values.update(data)
    return client.post(
        reverse("staff:resolve", args=[complaint.reference]),
        {key: value for key, value in values.items() if value is not None},
        HTTP_ACCEPT_LANGUAGE=language,
    )


def test_the_seeded_causes_follow_the_categories():
    names = {
        (cause.category.slug if cause.category else None, cause.name_en) for cause in Cause.objects.all()
    }
    assert {
        ("account", "Credentials (password, code)"),
        ("account", "Account recovery flow"),
        ("account", "Locked by the provider"),
        ("account", "Fraud or account takeover"),
        ("technical", "Technical fault"),
        ("customer-service", "Service conduct"),
        ("customer-service", "Slowness"),
        ("quality", "Product or service quality"),
        ("quality", "Not received"),
        (None, "Other cause"),
    } == names


def test_resolving_records_what_was_found_on_the_case_and_its_timeline(client, agent):
    complaint = make_complaint()
    fraud = Cause.objects.get(slug="fraud")
    response = post_resolve(
        client,
        agent,
        complaint,
        cause=fraud.pk,
        outcome="partly_upheld",
        remedy="refund",
        remedy_amount="150000",
        remedy_currency="VND",
    )
    assert response.status_code == 302
    complaint = fresh(complaint)
    assert complaint.status == Status.RESOLVED
    assert (complaint.cause, complaint.outcome, complaint.remedy) == (fraud, "partly_upheld", "refund")
    assert (complaint.remedy_amount, complaint.remedy_currency) == (Decimal("150000"), "VND")
    event = complaint.events.get(kind=EventKind.RESOLVED)
    assert event.payload | {"cause": "fraud", "outcome": "partly_upheld", "remedy": "refund"} == event.payload


@pytest.mark.parametrize(
    "field,message",
    [
        ("cause", "Choose the cause."),
        ("outcome", "Say whether the complaint is upheld."),
        ("remedy", "Choose the remedy."),
    ],
)
def test_each_part_is_required_and_nothing_is_saved_without_it(client, agent, field, message):
    complaint = make_complaint()
    response = post_resolve(client, agent, complaint, **{field: ""})
    assert response.status_code == 400
    page = response.content.decode()
    assert message in page
    assert "Tài khoản đã được mở khoá.</textarea>" in page  # what was typed is kept
    after = fresh(complaint)
    assert (after.status, after.version, after.cause_id) == (Status.NEW, complaint.version, None)


def test_the_messages_are_in_vietnamese_for_a_vietnamese_reader(client, agent):
    complaint = make_complaint()
    page = post_resolve(client, agent, complaint, language="vi", remedy="refund").content.decode()
    assert "Hãy nhập số tiền đã hoàn." in page


def test_a_refund_needs_its_amount_and_only_a_refund_has_one(client, agent):
    complaint = make_complaint()
    response = post_resolve(client, agent, complaint, remedy="refund")
    assert response.status_code == 400 and "Give the amount refunded." in response.content.decode()
    response = post_resolve(client, agent, complaint, remedy="refund", remedy_amount="-5")
    assert response.status_code == 400
    assert fresh(complaint).status == Status.NEW

    response = post_resolve(
        client, agent, complaint, remedy="apology", remedy_amount="99", remedy_currency="USD"
    )
    assert response.status_code == 302
    complaint = fresh(complaint)
    assert (complaint.remedy, complaint.remedy_amount, complaint.remedy_currency) == ("apology", None, "")


def test_a_cause_of_another_category_or_a_retired_one_is_refused(client, agent):
    complaint = make_complaint()  # an account complaint
    slowness = Cause.objects.get(slug="slowness")  # customer service's
    response = post_resolve(client, agent, complaint, cause=slowness.pk)
    assert response.status_code == 400 and "Choose one of the causes listed." in response.content.decode()
    with pytest.raises(ActionRefused):
        services.resolve_complaint(
            complaint=complaint,
            summary="Xong.",
            by=agent,
            now=NOW,
            version=complaint.version,
            **found(complaint, cause=slowness),
        )
    retired = Cause.objects.get(slug="credentials")
    Cause.objects.filter(pk=retired.pk).update(is_active=False)
    retired.refresh_from_db()
    with pytest.raises(ActionRefused):
        services.resolve_complaint(
            complaint=complaint,
            summary="Xong.",
            by=agent,
            now=NOW,
            version=complaint.version,
            **found(complaint, cause=retired),
        )
    assert fresh(complaint).status == Status.NEW


def test_the_form_offers_the_categorys_causes_then_those_for_every_category(client, agent):
    complaint = make_complaint()
    sign_in(client, agent)
    with translation.override("en"):
        page = client.get(reverse("staff:case", args=[complaint.reference]), HTTP_ACCEPT_LANGUAGE="en")
    html = page.content.decode()
    offered = [
        name
        for name in ("Credentials (password, code)", "Fraud or account takeover", "Other cause", "Slowness")
        if f">{name}</option>" in html
    ]
    assert offered == ["Credentials (password, code)", "Fraud or account takeover", "Other cause"]
    assert html.index(">Fraud or account takeover<") < html.index(">Other cause<")


def test_a_case_is_resolved_only_with_what_was_found(agent):
    complaint = services.transition_complaint(
        complaint=make_complaint(), to_status=Status.OPEN, by=agent, now=NOW
    )
    with pytest.raises(TransitionNotAllowed) as refused:
        services.transition_complaint(complaint=complaint, to_status=Status.RESOLVED, by=agent, now=NOW)
    assert refused.value.code == "resolve_with_findings"
    assert fresh(complaint).status == Status.OPEN


def test_a_second_resolution_after_a_dispute_replaces_what_was_found_and_the_timeline_keeps_both(agent):
    owner = make_user(username="lan")
    complaint = make_complaint(by=owner)
    complaint = resolve(complaint, by=agent, summary="Đã gửi lại mã.", remedy="apology")
    services.dispute_resolution(complaint=complaint, by=owner, now=NOW, reason="Vẫn không vào được.")
    resolve(fresh(complaint), by=agent, summary="Đã mở khoá.", remedy="access_restored", outcome="upheld")
    complaint = fresh(complaint)
    assert complaint.remedy == "access_restored"
    remedies = [
        event.payload["remedy"] for event in complaint.events.filter(kind=EventKind.RESOLVED).order_by("pk")
    ]
    assert remedies == ["apology", "access_restored"]
