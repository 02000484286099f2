"""Mail to the intake address that matches no case opens a new complaint, marked incomplete,
its clock running from receipt, and is answered with a link to complete the dossier.

Real PostgreSQL; messages are built as bytes the way mail clients write them.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import pytest
from django.core import mail as outbox
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from complaints.consent import current_version
from complaints.models import (
    UNCLASSIFIED,
    Complaint,
    ComplaintEvent,
    DossierPart,
    EventKind,
    InboundStatus,
    Notification,
    ReviewReason,
    Subcategory,
)
from complaints.notifications import deliver_outbox
from complaints.replies import issue_reply_tokens, reply_address
from complaints.services import reclassify_complaint
from complaints.services.inbound import receive_raw
from complaints.services.intake import guess_language
from evidence.models import Evidence, Kind
from tests.factories import NOW, make_complaint, make_user, sign_in

pytestmark = pytest.mark.django_db

INTAKE = "hotro@portal.example"
# Receipt, a little after the mail was written (its Date header).
WRITTEN = NOW - timedelta(minutes=5)
RECEIVED = NOW


@pytest.fixture(autouse=True)
def intake_address(settings):
    settings.INBOUND_EMAIL_ADDRESS = INTAKE


def new_mail(
    *,
    to: str = INTAKE,
    sender: str = "lan@example.org",
    name: str = "Nguyễn Thị Lan",
    subject: str = "Ví điện tử khoá tài khoản của tôi",
    text: str = "Tôi không đăng nhập được vào ví từ hôm qua, tiền vẫn còn trong đó.\n",
    headers: dict[str, str] | None = None,
) -> bytes:
    message = EmailMessage()
    message["From"] = f"{name} <{sender}>" if name else sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="mail.example.org")
    message["Date"] = format_datetime(WRITTEN)
    for key, value in (headers or {}).items():
        message[key] = value
    message.set_content(text)
    return message.as_bytes()


def test_a_message_to_the_intake_address_opens_an_incomplete_complaint_with_its_clock_started_at_receipt():
    inbound = receive_raw(new_mail(), now=RECEIVED)
    assert (inbound.status, inbound.reason) == (InboundStatus.LANDED, "")
    complaint = Complaint.objects.get(pk=inbound.complaint_id)
    assert complaint.incomplete_since == RECEIVED
    assert set(complaint.missing_parts) == {
        DossierPart.CATEGORY,
        DossierPart.PROVIDER,
        DossierPart.DESIRED_OUTCOME,
    }
    assert (complaint.category.slug, complaint.subcategory.slug) == (UNCLASSIFIED, UNCLASSIFIED)
    assert (complaint.contact_email, complaint.contact_name) == ("lan@example.org", "Nguyễn Thị Lan")
    assert complaint.language == "vi"
    assert complaint.subject == "Ví điện tử khoá tài khoản của tôi"
    assert complaint.description.startswith("Tôi không đăng nhập được vào ví")
    assert complaint.occurred_at == WRITTEN
    # The first-response clock runs from receipt, like any case's.
    assert complaint.clock_started_at == complaint.submitted_at == RECEIVED
    assert complaint.first_response_due_at == RECEIVED + timedelta(hours=24)
    assert complaint.next_check_at is not None
    # On the timeline: it came by e-mail, the message sealed and linked.
    event = ComplaintEvent.objects.get(pk=inbound.event_id)
    assert (event.complaint_id, event.kind, event.payload["via"]) == (
        complaint.pk,
        EventKind.SUBMITTED,
        "email",
    )
    sealed = Evidence.objects.get(public_id=event.payload["email"])
    assert sealed.kind == Kind.EMAIL and sealed.sha256 == inbound.sha256


def tracking_path(message) -> str:
    """The path of the tracking link in a sent acknowledgement."""
    return re.search(r"https?://[^/\s]+(/\S*/track/[\w-]+/)", message.body).group(1)


def test_the_acknowledgement_is_queued_once_in_the_guessed_language_with_a_link_to_complete_it(client):
    inbound = receive_raw(new_mail(), now=RECEIVED)
    (notice,) = Notification.objects.filter(complaint_id=inbound.complaint_id)
    assert (notice.template, notice.email, notice.language) == (
        "complaint_received_by_email",
        "lan@example.org",
        "vi",
    )
    assert notice.context.get("with_tracking_link") is True
    deliver_outbox(now=timezone.now())  # the link is minted to work from now
    (sent,) = outbox.outbox
    reference = Complaint.objects.get(pk=inbound.complaint_id).reference
    assert sent.subject == f"[{reference}] Chúng tôi đã nhận e-mail của bạn: vui lòng bổ sung khiếu nại"
    assert "Bổ sung khiếu nại của bạn bằng liên kết riêng này" in sent.body
    # The link opens the complaint's page, with the form to complete it.
    page = client.get(tracking_path(sent), follow=True, HTTP_ACCEPT_LANGUAGE="vi")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="complete-form"' in html and "Bổ sung khiếu nại của bạn" in html


# Twice: the second run comes after the first one's flush, with the seeds put back.
@pytest.mark.parametrize("run", [1, 2])
@pytest.mark.django_db(transaction=True)
def test_mail_opens_a_complaint_in_a_transactional_test_too(run):
    complaint = Complaint.objects.get(pk=receive_raw(new_mail(), now=RECEIVED).complaint_id)
    assert complaint.is_incomplete and complaint.first_response_due_at is not None


def test_a_message_without_vietnamese_letters_is_answered_in_english():
    raw = new_mail(
        name="", sender="john.smith@example.com", subject="Refund never arrived", text="I paid twice.\n"
    )
    inbound = receive_raw(raw, now=RECEIVED)
    complaint = Complaint.objects.get(pk=inbound.complaint_id)
    assert (complaint.language, complaint.contact_name) == ("en", "john.smith")
    deliver_outbox(now=timezone.now())  # the link is minted to work from now
    (sent,) = outbox.outbox
    assert sent.subject.endswith("We received your e-mail: please complete your complaint")


@pytest.mark.parametrize(
    ("texts", "language"),
    [
        (("Tài khoản bị khoá",), "vi"),
        (("Subject", "Tôi"), "vi"),
        (("Đ",), "vi"),
        (("Khong dang nhap duoc",), "en"),  # without diacritics nothing says Vietnamese
        (("Café crème, naïve résumé",), "en"),  # French accents are not Vietnamese letters
        (("",), "en"),
    ],
)
def test_the_language_is_guessed_from_letters_only_vietnamese_writes(texts, language):
    assert guess_language(*texts) == language


def test_a_subject_less_message_takes_its_first_line_and_a_date_in_the_future_is_receipt():
    raw = new_mail(subject="", text="\n  Đơn hàng chưa giao.\nĐã 10 ngày rồi.\n", headers={})
    raw = raw.replace(
        format_datetime(WRITTEN).encode(), format_datetime(RECEIVED + timedelta(days=2)).encode()
    )
    complaint = Complaint.objects.get(pk=receive_raw(raw, now=RECEIVED).complaint_id)
    assert complaint.subject == "Đơn hàng chưa giao."
    assert complaint.occurred_at == RECEIVED


def test_the_same_message_twice_opens_one_complaint():
    raw = new_mail()
    first = receive_raw(raw, now=RECEIVED)
    again = receive_raw(raw, now=RECEIVED + timedelta(minutes=1))
    relayed = receive_raw(
        b"Received: from mx2.example.org; Mon, 2 Mar 2026 10:00:01 +0700\r\n" + raw, now=RECEIVED
    )
    assert first.pk == again.pk == relayed.pk
    assert Complaint.objects.count() == 1
    assert Notification.objects.filter(template="complaint_received_by_email").count() == 1


def test_an_automatic_reply_to_the_intake_address_opens_nothing_and_is_never_answered():
    raw = new_mail(
        subject="Trả lời tự động: Tôi đang nghỉ phép",
        text="Tôi đang nghỉ phép đến thứ Hai.\n",
        headers={"Auto-Submitted": "auto-replied"},
    )
    inbound = receive_raw(raw, now=RECEIVED)
    assert (inbound.status, inbound.complaint_id) == (InboundStatus.AUTO_REPLY, None)
    assert not Complaint.objects.exists() and not Notification.objects.exists()


def test_mail_to_the_intake_address_from_a_sender_failing_dmarc_waits_for_review_unanswered():
    raw = new_mail(
        headers={
            "Authentication-Results": "mx.portal.example; spf=pass smtp.mailfrom=example.org;"
            " dmarc=fail header.from=example.org"
        }
    )
    inbound = receive_raw(raw, now=RECEIVED)
    assert (inbound.status, inbound.reason) == (InboundStatus.REVIEW, ReviewReason.AUTH_FAILED)
    assert not Complaint.objects.exists() and not Notification.objects.exists()


def test_a_sender_over_the_hourly_limit_opens_no_more_complaints(settings):
    settings.INBOUND_LIMIT_PER_SENDER = 2
    outcomes = [
        receive_raw(new_mail(text=f"Khiếu nại số {n}.\n"), now=RECEIVED + timedelta(minutes=n))
        for n in range(3)
    ]
    assert [inbound.status for inbound in outcomes] == [InboundStatus.LANDED] * 2 + [InboundStatus.REVIEW]
    assert outcomes[2].reason == ReviewReason.RATE_LIMITED
    assert Complaint.objects.count() == 2
    assert Notification.objects.filter(template="complaint_received_by_email").count() == 2


def test_mail_without_text_waits_for_review():
    inbound = receive_raw(new_mail(text="\n"), now=RECEIVED)
    assert (inbound.status, inbound.reason) == (InboundStatus.REVIEW, ReviewReason.EMPTY)
    assert not Complaint.objects.exists()


def test_mail_from_the_portals_own_addresses_is_never_answered(settings):
    settings.DEFAULT_FROM_EMAIL = "Cổng khiếu nại <no-reply@portal.example>"
    for sender in ("no-reply@portal.example", INTAKE.upper()):
        inbound = receive_raw(new_mail(sender=sender, text=f"Từ {sender}.\n"), now=RECEIVED)
        assert (inbound.status, inbound.reason) == (InboundStatus.REVIEW, ReviewReason.NO_MATCH)
    assert not Complaint.objects.exists() and not Notification.objects.exists()


def test_mail_that_did_not_come_to_the_intake_address_still_waits_for_review():
    inbound = receive_raw(new_mail(to="someone-else@portal.example"), now=RECEIVED)
    assert (inbound.status, inbound.reason) == (InboundStatus.REVIEW, ReviewReason.NO_MATCH)
    assert not Complaint.objects.exists()


def test_a_reply_to_a_case_is_not_mistaken_for_a_new_complaint():
    complaint = make_complaint(language="vi")
    notice = Notification.objects.get(complaint=complaint)
    (token,) = issue_reply_tokens(pairs=[(complaint.pk, None, complaint.contact_email)], now=NOW)
    # By its reply address, with the intake address in copy.
    by_token = receive_raw(
        new_mail(to=f"{reply_address(token)}, {INTAKE}", subject="Re: Đã nhận khiếu nại"), now=RECEIVED
    )
    assert (by_token.status, by_token.complaint_id) == (InboundStatus.LANDED, complaint.pk)
    assert ComplaintEvent.objects.get(pk=by_token.event_id).kind == EventKind.REPLY
    # To the intake address, answering a notice (In-Reply-To) or naming the case in its subject.
    answering = receive_raw(
        new_mail(text="Tôi bổ sung.\n", headers={"In-Reply-To": notice.message_id}), now=RECEIVED
    )
    naming = receive_raw(new_mail(subject=f"Về [{complaint.reference}]", text="Còn nữa.\n"), now=RECEIVED)
    for inbound in (answering, naming):
        assert (inbound.status, inbound.reason, inbound.complaint_id) == (
            InboundStatus.REVIEW,
            ReviewReason.NO_TOKEN,
            complaint.pk,
        )
    assert Complaint.objects.count() == 1


def test_the_files_of_an_intake_mail_become_evidence_through_the_vault():
    message = EmailMessage()
    message["From"] = "Lan <lan@example.org>"
    message["To"] = INTAKE
    message["Subject"] = "Ảnh chụp lỗi thanh toán"
    message["Message-ID"] = make_msgid(domain="mail.example.org")
    message.set_content("Ứng dụng báo lỗi khi thanh toán.\n")
    message.add_attachment(
        b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n",
        maintype="application",
        subtype="pdf",
        filename="bien-lai.pdf",
    )
    message.add_attachment(
        b"MZ\x90\x00" + b"\x00" * 200, maintype="application", subtype="octet-stream", filename="virus.exe"
    )
    inbound = receive_raw(message.as_bytes(), now=RECEIVED)
    event = ComplaintEvent.objects.get(pk=inbound.event_id)
    (kept,) = Evidence.objects.filter(public_id__in=event.payload["evidence"])
    assert kept.original_name == "bien-lai.pdf" and kept.complaint_id == inbound.complaint_id
    (refused,) = event.payload["refused"]
    assert refused["name"] == "virus.exe"


def test_only_a_complaint_marked_incomplete_may_lack_its_provider():
    complaint = make_complaint()
    with pytest.raises(IntegrityError), transaction.atomic():
        Complaint.objects.filter(pk=complaint.pk).update(provider_name="")
    Complaint.objects.filter(pk=complaint.pk).update(provider_name="", incomplete_since=NOW)


# --- Completing the dossier on the complaint's page ----------------------------------------


@pytest.fixture
def opened(client):
    """A complaint opened by e-mail, and a browser holding its tracking link."""
    inbound = receive_raw(new_mail(), now=RECEIVED)
    deliver_outbox(now=timezone.now())  # the link is minted to work from now
    client.get(tracking_path(outbox.outbox[-1]))
    return Complaint.objects.get(pk=inbound.complaint_id)


def completion(**overrides) -> dict[str, str]:
    sub = Subcategory.objects.get(category__slug="account", slug="locked-suspended")
    data = {
        "complete-subcategory": str(sub.pk),
        "complete-provider_name": "Ví MoMoney",
        "complete-occurred_at": "2026-03-01T09:30",
        "complete-first_reported_at": "",
        "complete-desired_outcome": "Mở khoá ví và cho tôi rút tiền.",
        "complete-consent": "on",
    }
    data.update(overrides)
    return data


def test_completing_through_the_page_clears_the_mark_and_keeps_everything(client, opened):
    evidence_before = list(opened.evidence.values_list("public_id", flat=True))
    response = client.post(reverse("complaints:complete", args=[opened.reference]), completion())
    assert response.status_code == 302
    done = Complaint.objects.get(pk=opened.pk)
    assert (done.incomplete_since, done.missing_parts) == (None, [])
    assert (done.category.slug, done.subcategory.slug, done.complexity) == (
        "account",
        "locked-suspended",
        "complex",
    )
    assert (done.provider_name, done.desired_outcome) == ("Ví MoMoney", "Mở khoá ví và cho tôi rút tiền.")
    assert done.occurred_at == datetime(2026, 3, 1, 2, 30, tzinfo=UTC)  # 09:30 in Ho Chi Minh City
    # Everything it had is kept: what the mail said, its clock's start, its sealed message.
    assert (done.subject, done.description, done.contact_email) == (
        opened.subject,
        opened.description,
        opened.contact_email,
    )
    assert done.clock_started_at == RECEIVED and done.first_response_due_at == opened.first_response_due_at
    assert list(done.evidence.values_list("public_id", flat=True)) == evidence_before
    event = done.events.get(kind=EventKind.COMPLETED)
    assert event.public and event.actor_role == "complainant"
    assert set(event.payload["missing"]) == set(opened.missing_parts)
    # The page no longer offers the form, and a second completion is refused in words.
    page = client.get(reverse("complaints:detail", args=[opened.reference]), HTTP_ACCEPT_LANGUAGE="vi")
    assert 'data-testid="complete-form"' not in page.content.decode()
    again = client.post(reverse("complaints:complete", args=[opened.reference]), completion(), follow=True)
    assert "Khiếu nại này đã đầy đủ thông tin." in again.content.decode()


def test_a_refused_completion_re_renders_with_what_was_typed_and_changes_nothing(client, opened):
    response = client.post(
        reverse("complaints:complete", args=[opened.reference]),
        completion(**{"complete-subcategory": "", "complete-provider_name": "Ví MoMoney giữ tiền"}),
        HTTP_ACCEPT_LANGUAGE="vi",
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert 'value="Ví MoMoney giữ tiền"' in html
    assert "Mở khoá ví và cho tôi rút tiền." in html
    assert 'data-testid="complete-form"' in html
    unchanged = Complaint.objects.get(pk=opened.pk)
    assert unchanged.incomplete_since == RECEIVED and unchanged.provider_name == ""
    assert not unchanged.events.filter(kind=EventKind.COMPLETED).exists()


def test_the_form_starts_from_what_is_known_when_it_happened_and_a_class_staff_gave_it(client, opened):
    page = client.get(reverse("complaints:detail", args=[opened.reference])).content.decode()
    assert 'name="complete-occurred_at" value="2026-03-02T09:55"' in page  # the mail's date, local time
    assert re.search(r'<option value="\d+" selected>', page) is None
    agent = make_user(username="agent", role=Role.AGENT)
    sub = Subcategory.objects.get(category__slug="technical", slug="payments")
    reclassify_complaint(
        complaint=opened,
        subcategory=sub,
        complexity="complex",
        by=agent,
        now=RECEIVED,
        version=opened.version,
    )
    page = client.get(reverse("complaints:detail", args=[opened.reference])).content.decode()
    assert f'<option value="{sub.pk}" selected>' in page


def test_completing_keeps_the_complexity_staff_gave_the_same_subcategory(client, opened):
    app = Subcategory.objects.get(category__slug="technical", slug="app")  # simple by default
    agent = make_user(username="agent", role=Role.AGENT)
    reclassify_complaint(
        complaint=opened, subcategory=app, complexity="complex", by=agent, now=RECEIVED, version=1
    )
    client.post(
        reverse("complaints:complete", args=[opened.reference]),
        completion(**{"complete-subcategory": app.pk}),
    )
    done = Complaint.objects.get(pk=opened.pk)
    assert (done.subcategory_id, done.complexity, done.incomplete_since) == (app.pk, "complex", None)


def test_staff_saying_what_an_incomplete_case_is_about_takes_that_part_off_the_missing_list(opened):
    assert "category" in opened.missing_parts
    app = Subcategory.objects.get(category__slug="technical", slug="app")
    agent = make_user(username="agent", role=Role.AGENT)
    done = reclassify_complaint(
        complaint=opened, subcategory=app, complexity="simple", by=agent, now=RECEIVED, version=opened.version
    )
    done.refresh_from_db()
    assert "category" not in done.missing_parts and done.missing_parts  # the rest is still missing
    assert done.is_incomplete


def test_someone_without_the_tracking_link_cannot_complete_it(opened):
    response = Client().post(reverse("complaints:complete", args=[opened.reference]), completion())
    assert response.status_code == 404
    assert Complaint.objects.get(pk=opened.pk).incomplete_since is not None


# --- What staff see ------------------------------------------------------------------------


@pytest.mark.parametrize(("language", "badge"), [("vi", "Chưa đầy đủ"), ("en", "Incomplete")])
def test_staff_see_the_incompleteness_on_the_queue_row_and_the_case_page(client, language, badge):
    incomplete = Complaint.objects.get(pk=receive_raw(new_mail(), now=RECEIVED).complaint_id)
    complete = make_complaint()
    agent = make_user(username="agent", role=Role.AGENT, preferred_language=language)
    sign_in(client, agent)
    queue = client.get(reverse("staff:queue_tab", args=["unassigned"]), HTTP_ACCEPT_LANGUAGE=language)
    rows = dict(re.findall(r'<tr data-reference="([^"]+)">(.*?)</tr>', queue.content.decode(), re.S))
    assert 'data-testid="incomplete"' in rows[incomplete.reference] and badge in rows[incomplete.reference]
    assert 'data-testid="incomplete"' not in rows[complete.reference]
    case = client.get(reverse("staff:case", args=[incomplete.reference]), HTTP_ACCEPT_LANGUAGE=language)
    html = case.content.decode()
    assert f">{badge}</span>" in html and 'data-testid="missing-parts"' in html


def test_a_complaint_opened_by_email_has_no_consent_until_its_complainant_gives_it(client, opened):
    assert (opened.consent_version, opened.consent_given_at) == ("", None)
    page = html.unescape(client.get(reverse("complaints:detail", args=[opened.reference])).content.decode())
    assert "Ai được xem" in page and 'name="complete-consent"' in page

    refused = client.post(
        reverse("complaints:complete", args=[opened.reference]),
        completion(**{"complete-consent": ""}),
        HTTP_ACCEPT_LANGUAGE="vi",
    )
    assert refused.status_code == 400  # the case page's answer to a form with errors
    assert "vui lòng đánh dấu vào ô này" in html.unescape(refused.content.decode())
    assert Complaint.objects.get(pk=opened.pk).is_incomplete

    assert (
        client.post(reverse("complaints:complete", args=[opened.reference]), completion()).status_code == 302
    )
    done = Complaint.objects.get(pk=opened.pk)
    assert done.consent_version == current_version()[0] and done.consent_given_at is not None
