"""The letters a regime requires: the acknowledgement goes with the notice of receipt, a
holding letter when the final response nears with the case open, and a final response that
cannot go without its parts; each through the outbox and on the timeline, in the
complainant's language, once."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from accounts.models import Role
from complaints import services
from complaints.models import Category, Complaint, ComplaintEvent, EventKind, Notification, Status
from complaints.notifications import render_notification
from complaints.refusals import ActionRefused
from escalation import sweep as sweeping
from escalation.admin import LetterTemplateForm
from escalation.letters import REQUIRED, template_errors
from escalation.models import LetterKind, LetterTemplate, Regime, RegimeDeadline, SlaPolicy
from escalation.policies import forget_policies
from tests.factories import NOW, found, make_complaint, make_user, resolve, sign_in

pytestmark = pytest.mark.django_db

SECOND = timedelta(seconds=1)


@pytest.fixture
def en():
    with translation.override("en"):
        yield


@pytest.fixture
def agent():
    return make_user(username="agent", role=Role.AGENT)


@pytest.fixture
def manager():
    return make_user(username="manager", role=Role.MANAGER)


def under(code: str) -> Regime:
    """The account category under the regime `code`, without service targets: only the
    regime's clock runs."""
    regime = Regime.objects.get(code=code)
    Category.objects.filter(slug="account").update(regime=regime)
    SlaPolicy.objects.filter(category__slug="account").delete()
    forget_policies()
    return regime


def fresh(complaint: Complaint) -> Complaint:
    return Complaint.objects.get(pk=complaint.pk)


def letters_sent(complaint: Complaint, kind: str) -> list[ComplaintEvent]:
    return [
        event
        for event in complaint.events.filter(kind=EventKind.LETTER_SENT).order_by("pk")
        if event.payload["letter"] == kind
    ]


# --- Acknowledgement ------------------------------------------------------------------------------


def test_filing_under_a_regime_sends_its_acknowledgement_with_the_notice_of_receipt():
    under("vn-consumer-2023")
    complaint = make_complaint(language="vi")
    assert complaint.acknowledged_at == complaint.submitted_at
    notice = Notification.objects.get(complaint=complaint, template="complaint_received")
    assert notice.context["letter"] == LetterKind.ACKNOWLEDGEMENT
    body = notice.context["letter_body"]
    assert body.startswith("Kính gửi Nguyễn Thị Lan,")
    assert complaint.reference in body and "Luật Bảo vệ quyền lợi người tiêu dùng 2023" in body
    (event,) = letters_sent(complaint, LetterKind.ACKNOWLEDGEMENT)
    assert event.public and event.body == body
    assert event.payload["message_id"] == notice.message_id
    # The e-mail is the letter, with the reference and the tracking link after it.
    message = render_notification(notice, now=NOW)
    assert message.body.startswith("Kính gửi Nguyễn Thị Lan,")
    assert "Xin chào" not in message.body and "/track/" in message.body


def test_outside_a_regime_the_notice_of_receipt_carries_no_letter():
    complaint = make_complaint()
    assert complaint.regime_id is None and complaint.acknowledged_at is None
    notice = Notification.objects.get(complaint=complaint, template="complaint_received")
    assert "letter" not in notice.context
    assert not complaint.events.filter(kind=EventKind.LETTER_SENT).exists()
    assert render_notification(notice, now=NOW).body.startswith("Xin chào Nguyễn Thị Lan,")


def test_an_acknowledgement_deadline_with_no_letter_in_the_language_is_missed_and_escalated(manager):
    regime = under("vn-consumer-2023")
    RegimeDeadline.objects.create(regime=regime, kind="acknowledge", days=1, unit="working")
    LetterTemplate.objects.filter(regime=regime, kind=LetterKind.ACKNOWLEDGEMENT, language="vi").delete()
    forget_policies()
    unacknowledged = make_complaint(language="vi")
    acknowledged = make_complaint(language="en", contact_email="an@example.org")
    assert unacknowledged.acknowledged_at is None and not unacknowledged.events.filter(
        kind=EventKind.LETTER_SENT
    )
    assert acknowledged.acknowledged_at == acknowledged.submitted_at
    due = unacknowledged.acknowledge_due_at
    assert due == acknowledged.acknowledge_due_at

    result = sweeping.sweep(now=due)
    assert (result.breached, result.escalated) == (1, 1)
    assert fresh(unacknowledged).acknowledge_breached_at == due
    assert fresh(unacknowledged).escalation_level == 2
    assert fresh(acknowledged).acknowledge_breached_at is None
    assert fresh(acknowledged).escalation_level == 0


# --- Holding letter ------------------------------------------------------------------------------


def test_a_holding_letter_goes_once_when_the_final_response_nears_with_the_case_open():
    under("fca-disp")
    complaint = make_complaint(language="en", contact_name="Ann Smith")
    warn_at = fresh(complaint).final_response_warning_at
    assert complaint.submitted_at < warn_at < complaint.final_response_due_at

    sweeping.sweep(now=warn_at - SECOND)
    assert not letters_sent(complaint, LetterKind.HOLDING)
    assert sweeping.sweep(now=warn_at).warned == 1
    (event,) = letters_sent(complaint, LetterKind.HOLDING)
    notice = Notification.objects.get(complaint=complaint, template="regime_letter")
    assert notice.language == "en" and notice.context["letter"] == LetterKind.HOLDING
    assert event.payload["message_id"] == notice.message_id and event.body == notice.context["body"]
    assert event.body.startswith("Dear Ann Smith,")
    assert "we will send you our final response by" in event.body
    message = render_notification(notice, now=warn_at)
    assert (
        message.subject
        == f"[{complaint.reference}] Your complaint {complaint.reference}: we are still working on it"
    )
    assert event.body in message.body

    sweeping.sweep(now=warn_at + timedelta(days=1))  # swept again, and again
    sweeping.sweep(now=warn_at + timedelta(days=2))
    assert len(letters_sent(complaint, LetterKind.HOLDING)) == 1
    assert Notification.objects.filter(complaint=complaint, template="regime_letter").count() == 1


def test_no_holding_letter_once_the_final_response_is_sent(agent):
    under("fca-disp")
    complaint = make_complaint(language="en")
    warn_at = fresh(complaint).final_response_warning_at
    resolve(complaint, by=agent, now=warn_at - timedelta(days=1), summary="Access restored.")
    sweeping.sweep(now=warn_at)
    assert not letters_sent(complaint, LetterKind.HOLDING)


def test_holding_letters_for_many_cases_cost_the_same_statements_as_for_few():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    under("fca-disp")

    def statements(count: int, at: timedelta) -> int:
        filed = [make_complaint(language="en", now=NOW + at) for _ in range(count)]
        warn_at = fresh(filed[0]).final_response_warning_at
        with CaptureQueriesContext(connection) as queries:
            sweeping.sweep(now=warn_at)
        assert all(len(letters_sent(complaint, LetterKind.HOLDING)) == 1 for complaint in filed)
        Complaint.objects.update(next_check_at=None)  # out of the next measurement's way
        return len(queries)

    assert statements(2, timedelta(0)) == statements(6, timedelta(days=100))


# --- Final response ------------------------------------------------------------------------------


def test_the_final_response_carries_its_parts_instead_of_the_usual_notice(agent):
    under("fca-disp")
    complaint = make_complaint(language="en", contact_name="Ann Smith")
    complaint = services.resolve_complaint(
        complaint=complaint,
        summary="A fault in the provider's login service locked your account.",
        by=agent,
        now=NOW + timedelta(days=3),
        version=complaint.version,
        **found(complaint, outcome="partly_upheld", remedy="refund"),
        remedy_amount=Decimal("12.50"),
        remedy_currency="GBP",
    )
    assert complaint.status == Status.RESOLVED and complaint.final_response_at == NOW + timedelta(days=3)
    (event,) = letters_sent(complaint, LetterKind.FINAL_RESPONSE)
    body = event.body
    assert "What we found:\nA fault in the provider's login service locked your account." in body
    assert "Our decision: Partly upheld." in body
    assert "What we will do: Refund 12.50 GBP." in body
    assert "Financial Ombudsman Service" in body and "within six months" in body
    notice = Notification.objects.get(complaint=complaint, template="regime_letter")
    assert notice.context["letter"] == LetterKind.FINAL_RESPONSE and notice.context["body"] == body
    assert not Notification.objects.filter(complaint=complaint, template="case_update").exists()
    message = render_notification(notice, now=NOW + timedelta(days=3))
    assert body in message.body and "dispute the resolution" in message.body


def test_the_final_response_under_the_consumer_law_names_the_authority_in_vietnamese(agent):
    under("vn-consumer-2023")
    complaint = make_complaint(language="vi")
    resolve(complaint, by=agent, summary="Nhà cung cấp đã mở khoá tài khoản.", remedy="access_restored")
    (event,) = letters_sent(complaint, LetterKind.FINAL_RESPONSE)
    assert "Kết luận: Chấp nhận." in event.body
    assert "Biện pháp khắc phục: Khôi phục quyền truy cập." in event.body
    assert "cơ quan bảo vệ quyền lợi người tiêu dùng cấp tỉnh" in event.body
    assert "tổ chức xã hội tham gia bảo vệ quyền lợi người tiêu dùng" in event.body


def test_a_dispute_and_a_second_resolution_send_the_usual_notice_not_a_second_final_response(agent):
    under("fca-disp")
    owner = make_user(username="ann")
    complaint = make_complaint(language="en", by=owner)
    complaint = resolve(complaint, by=agent, summary="Fixed.")
    services.dispute_resolution(
        complaint=complaint, by=owner, now=NOW + timedelta(hours=1), reason="Not fixed."
    )
    resolve(fresh(complaint), by=agent, now=NOW + timedelta(hours=2), summary="Fixed now.")
    assert len(letters_sent(complaint, LetterKind.FINAL_RESPONSE)) == 1
    assert (
        Notification.objects.filter(
            complaint=complaint, template="case_update", context__kind="resolved"
        ).count()
        == 1
    )


@pytest.mark.parametrize("missing", ["next_route", "template"])
def test_a_final_response_without_its_next_route_or_its_letter_is_refused_and_nothing_changes(agent, missing):
    regime = under("fca-disp")
    if missing == "next_route":
        Regime.objects.filter(pk=regime.pk).update(next_route_en="  ")
    else:
        LetterTemplate.objects.filter(regime=regime, kind=LetterKind.FINAL_RESPONSE, language="en").delete()
    complaint = make_complaint(language="en")
    before = fresh(complaint)
    with pytest.raises(ActionRefused):
        services.resolve_complaint(
            complaint=complaint,
            summary="Fixed.",
            by=agent,
            now=NOW,
            version=complaint.version,
            **found(complaint),
        )
    after = fresh(complaint)
    assert (after.status, after.version, after.final_response_at, after.cause_id) == (
        before.status,
        before.version,
        None,
        None,
    )
    assert not complaint.events.exclude(kind__in=[EventKind.SUBMITTED, EventKind.LETTER_SENT]).exists()
    assert not Notification.objects.filter(complaint=complaint, template__in=["regime_letter", "case_update"])


def test_the_case_page_shows_the_refusal_on_the_form_and_keeps_what_was_typed(client, agent):
    regime = under("fca-disp")
    Regime.objects.filter(pk=regime.pk).update(next_route_en="")
    complaint = make_complaint(language="en")
    sign_in(client, agent)
    data = {"summary": "Our findings, typed at length.", "version": complaint.version}
    data.update({key: getattr(value, "pk", value) for key, value in found(complaint).items()})
    response = client.post(
        reverse("staff:resolve", args=[complaint.reference]), data, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "does not say where the complainant can go next in this language" in page
    assert "Our findings, typed at length.</textarea>" in page
    assert fresh(complaint).status == Status.NEW


# --- Templates -----------------------------------------------------------------------------------


def test_every_seeded_letter_names_only_known_placeholders_and_its_required_parts():
    templates = list(LetterTemplate.objects.all())
    assert {template.kind for template in templates} == set(LetterKind.values)
    for template in templates:
        assert template_errors(template.kind, template.subject, template.body) == [], template


@pytest.mark.parametrize(
    "body,error",
    [
        ("{findings} {outcome} {next_route}", "{remedy}"),
        ("{findings} {outcome} {remedy} {next_route} {password}", "{password}"),
    ],
)
def test_the_admin_refuses_a_final_response_without_a_part_or_with_an_unknown_placeholder(en, body, error):
    form = LetterTemplateForm(
        data={"kind": LetterKind.FINAL_RESPONSE, "language": "en", "subject": "Final response", "body": body}
    )
    assert not form.is_valid()
    assert error in " ".join(form.errors["body"])
    assert set(REQUIRED[LetterKind.FINAL_RESPONSE]) == {"findings", "outcome", "remedy", "next_route"}


def test_the_regime_admin_page_lists_its_letters(client):
    sign_in(client, make_user(username="root", is_staff=True, is_superuser=True))
    regime = Regime.objects.get(code="fca-disp")
    page = client.get(reverse("admin:escalation_regime_change", args=[regime.pk])).content.decode()
    assert "Financial Ombudsman Service" in page and "{next_route}" in page


def test_a_complaint_reclassified_under_a_regime_is_acknowledged_then_once(agent):
    from complaints.models import Subcategory

    regime = Regime.objects.get(code="vn-consumer-2023")
    Category.objects.filter(slug="quality").update(regime=regime)
    forget_policies()
    complaint = make_complaint(language="vi")  # an account complaint: no regime
    assert complaint.acknowledged_at is None
    later = NOW + timedelta(hours=3)
    not_received = Subcategory.objects.get(slug="not-received")
    complaint = services.reclassify_complaint(
        complaint=complaint,
        subcategory=not_received,
        complexity="complex",
        by=agent,
        now=later,
        version=complaint.version,
    )
    complaint = fresh(complaint)
    assert complaint.regime_id == regime.pk and complaint.acknowledged_at == later
    (event,) = letters_sent(complaint, LetterKind.ACKNOWLEDGEMENT)
    assert event.actor_role == "system" and complaint.reference in event.body
    assert (
        Notification.objects.filter(
            complaint=complaint, template="regime_letter", context__letter="acknowledgement"
        ).count()
        == 1
    )
    services.reclassify_complaint(
        complaint=complaint,
        subcategory=not_received,
        complexity="simple",
        by=agent,
        now=later + SECOND,
        version=complaint.version,
    )
    assert len(letters_sent(complaint, LetterKind.ACKNOWLEDGEMENT)) == 1


@pytest.mark.parametrize(
    "language,amount,written",
    [
        ("en", "12.50", "Refund 12.50 GBP"),
        ("en", "1500000", "Refund 1,500,000 GBP"),
        ("vi", "1500000", "Hoàn tiền 1.500.000 GBP"),
    ],
)
def test_a_refund_is_written_as_the_complainants_language_writes_amounts(agent, language, amount, written):
    under("fca-disp")
    complaint = make_complaint(language=language)
    resolve(
        complaint,
        by=agent,
        summary="Xong.",
        remedy="refund",
        remedy_amount=Decimal(amount),
        remedy_currency="GBP",
    )
    (event,) = letters_sent(complaint, LetterKind.FINAL_RESPONSE)
    assert written in event.body
