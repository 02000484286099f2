"""The inbound pipeline: one received e-mail, recorded once, threaded, checked and applied.

Real PostgreSQL and the storage of the test settings; messages are built as bytes the way
mail clients write them.
"""

from __future__ import annotations

import hashlib
import io
import re
from datetime import timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import translation
from PIL import Image

from accounts.models import Role
from complaints.models import (
    ComplaintEvent,
    EventKind,
    InboundMessage,
    InboundStatus,
    Notification,
    NotificationStatus,
    ReviewReason,
    Status,
)
from complaints.replies import issue_reply_tokens, reply_address, revoke_reply_tokens
from complaints.services import request_information
from complaints.services.inbound import attach_to_case, discard, receive_raw
from evidence.models import Evidence, Kind
from tests.factories import NOW, make_complaint, make_user, sign_in

QUOTED = (
    "\nVào Th 2, 2 thg 3, 2026 lúc 10:00 Cổng khiếu nại <replies@portal.example> đã viết:\n"
    "> Chúng tôi cần thêm thông tin.\n"
)
VIETNAMESE_LETTER = re.compile("[đơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữự]")
CORPUS = Path(__file__).resolve().parent.parent / "mail_corpus"

pytestmark = pytest.mark.django_db

LATER = NOW + timedelta(hours=2)


@pytest.fixture(autouse=True)
def inbound_address(settings):
    settings.INBOUND_EMAIL_ADDRESS = "replies@portal.example"


@pytest.fixture
def agent():
    return make_user(username="agent", role=Role.AGENT, preferred_language="en")


@pytest.fixture
def waiting(agent):
    """A case whose agent asked the complainant for information: its clock is paused."""
    complaint = make_complaint(language="vi")
    return request_information(
        complaint=complaint, body="Cho chúng tôi mã đơn hàng.", by=agent, now=NOW, version=complaint.version
    )


def token_for(complaint, email=None, user=None):
    (token,) = issue_reply_tokens(
        pairs=[(complaint.pk, user.pk if user else None, email or complaint.contact_email)], now=NOW
    )
    return token


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), "red").save(out, "PNG")
    return out.getvalue()


def reply(
    *,
    to: str,
    sender: str = "lan@example.org",
    text: str = "Mã đơn hàng của tôi là DH-12345.\n",
    subject: str = "Re: Cập nhật về khiếu nại của bạn",
    headers: dict[str, str] | None = None,
    files: list[tuple[str, str, bytes]] | None = None,
    quoted: bool = True,
) -> bytes:
    message = EmailMessage()
    message["From"] = f"Lan <{sender}>"
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="mail.example.org")
    message["Date"] = "Mon, 02 Mar 2026 12:00:00 +0700"
    for name, value in (headers or {}).items():
        message[name] = value
    body = text
    if quoted:
        body += QUOTED
    message.set_content(body)
    for name, mime, data in files or []:
        maintype, subtype = mime.split("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return message.as_bytes()


def test_a_complainants_reply_lands_on_the_case_and_resumes_the_paused_clock(waiting):
    assert waiting.status == Status.AWAITING_COMPLAINANT and waiting.clock_paused_at is not None
    inbound = receive_raw(reply(to=reply_address(token_for(waiting))), now=LATER)
    assert (inbound.status, inbound.reason) == (InboundStatus.LANDED, "")
    waiting.refresh_from_db()
    assert waiting.status == Status.OPEN and waiting.clock_paused_at is None
    event = ComplaintEvent.objects.get(pk=inbound.event_id)
    assert event.kind == EventKind.REPLY and event.actor_role == "complainant"
    assert event.body.strip() == "Mã đơn hàng của tôi là DH-12345."
    assert "Chúng tôi cần thêm thông tin" not in event.body  # the quoted history stays out
    assert event.payload["via"] == "email"


def test_the_original_message_is_sealed_as_evidence_and_linked_from_the_entry(waiting):
    raw = reply(to=reply_address(token_for(waiting)))
    inbound = receive_raw(raw, now=LATER)
    event = ComplaintEvent.objects.get(pk=inbound.event_id)
    sealed = Evidence.objects.get(public_id=event.payload["email"])
    assert sealed.kind == Kind.EMAIL and sealed.complaint_id == waiting.pk
    assert sealed.sha256 == hashlib.sha256(raw).hexdigest() == inbound.sha256
    with default_storage.open(sealed.original_key, "rb") as handle:
        assert handle.read() == raw


def test_the_same_message_twice_is_recorded_once(waiting):
    raw = reply(to=reply_address(token_for(waiting)))
    first = receive_raw(raw, now=LATER)
    again = receive_raw(raw, now=LATER)
    # The same Message-ID through another door, with a hop's header more: still once.
    relayed = receive_raw(
        b"Received: from mx2.example.org; Mon, 2 Mar 2026 12:00:01 +0700\r\n" + raw, now=LATER
    )
    assert first.pk == again.pk == relayed.pk
    assert InboundMessage.objects.count() == 1
    assert ComplaintEvent.objects.filter(complaint=waiting, kind=EventKind.REPLY).count() == 1


def test_the_sender_must_be_the_address_the_token_was_issued_to_case_and_unicode_form_aside(waiting):
    token = token_for(waiting)
    stranger = receive_raw(reply(to=reply_address(token), sender="mallory@example.net"), now=LATER)
    assert (stranger.status, stranger.reason) == (InboundStatus.REVIEW, ReviewReason.WRONG_SENDER)
    assert stranger.complaint_id == waiting.pk  # the reviewer sees which case it is about
    shouted = receive_raw(
        reply(to=reply_address(token), sender="LAN@Example.ORG", text="Tôi gửi lại.\n"), now=LATER
    )
    assert shouted.status == InboundStatus.LANDED


def test_a_revoked_or_unknown_token_sends_the_message_to_review(waiting):
    token = token_for(waiting)
    revoke_reply_tokens(complaint_id=waiting.pk, now=NOW)
    revoked = receive_raw(reply(to=reply_address(token)), now=LATER)
    assert (revoked.status, revoked.reason) == (InboundStatus.REVIEW, ReviewReason.UNKNOWN_TOKEN)
    made_up = receive_raw(
        reply(to="replies+aaaabbbbccccddddeeeeffffgggg@portal.example", text="x\n"), now=LATER
    )
    assert made_up.reason == ReviewReason.UNKNOWN_TOKEN
    assert not ComplaintEvent.objects.filter(complaint=waiting, kind=EventKind.REPLY).exists()


def test_a_failed_dmarc_at_the_receiving_server_sends_the_message_to_review(waiting):
    raw = reply(
        to=reply_address(token_for(waiting)),
        headers={
            "Authentication-Results": "mx.portal.example; spf=pass smtp.mailfrom=example.org;"
            " dmarc=fail header.from=example.org"
        },
    )
    inbound = receive_raw(raw, now=LATER)
    assert (inbound.status, inbound.reason) == (InboundStatus.REVIEW, ReviewReason.AUTH_FAILED)


def test_threading_without_a_token_only_suggests_the_case(waiting):
    by_subject = receive_raw(
        reply(to="replies@portal.example", subject=f"Về [{waiting.reference}]"), now=LATER
    )
    assert (by_subject.reason, by_subject.complaint_id) == (ReviewReason.NO_TOKEN, waiting.pk)
    # Matching no case, mail to the intake address is a new complaint (test_mail_intake.py);
    # sent anywhere else, it waits for review.
    nothing = receive_raw(reply(to="someone@portal.example", subject="Xin chào", text="Ai đó?\n"), now=LATER)
    assert (nothing.status, nothing.reason, nothing.complaint_id) == (
        InboundStatus.REVIEW,
        ReviewReason.NO_MATCH,
        None,
    )
    new = receive_raw(
        reply(to="replies@portal.example", subject="Xin chào", text="Tôi cần giúp.\n"), now=LATER
    )
    assert (new.status, new.reason) == (InboundStatus.LANDED, "")
    assert new.complaint_id not in (None, waiting.pk)


def test_an_automatic_reply_is_recorded_never_posted_and_never_answered(waiting):
    pending = Notification.objects.filter(status=NotificationStatus.PENDING).count()
    raw = reply(
        to=reply_address(token_for(waiting)),
        subject="Trả lời tự động: Cập nhật về khiếu nại của bạn",
        headers={"Auto-Submitted": "auto-replied"},
        text="Tôi đang nghỉ phép đến thứ Hai.\n",
        quoted=False,
    )
    inbound = receive_raw(raw, now=LATER)
    assert inbound.status == InboundStatus.AUTO_REPLY and inbound.complaint_id == waiting.pk
    waiting.refresh_from_db()
    assert waiting.status == Status.AWAITING_COMPLAINANT  # the clock stays paused
    assert not ComplaintEvent.objects.filter(complaint=waiting, kind=EventKind.REPLY).exists()
    assert Notification.objects.filter(status=NotificationStatus.PENDING).count() == pending


def test_attachments_go_through_the_vaults_checks_and_a_refused_one_is_named_on_the_entry(waiting):
    raw = reply(
        to=reply_address(token_for(waiting)),
        files=[
            ("anh-chup.png", "image/png", png()),
            ("hoa-don.png", "application/octet-stream", b"MZ\x90\x00" + b"\x00" * 200),
        ],
    )
    with translation.override("en"):  # whatever the worker's language...
        inbound = receive_raw(raw, now=LATER)
    event = ComplaintEvent.objects.get(pk=inbound.event_id)
    (kept,) = Evidence.objects.filter(public_id__in=event.payload["evidence"])
    assert kept.original_name == "anh-chup.png" and kept.kind == Kind.IMAGE
    (refused,) = event.payload["refused"]
    assert refused["name"] == "hoa-don.png" and "hoa-don.png" in refused["why"]
    # ...why is written in the complainant's language (this complaint's is Vietnamese).
    assert VIETNAMESE_LETTER.search(refused["why"]), refused["why"]


def test_a_staff_members_emailed_reply_is_a_public_reply_and_counts_as_the_first_response(agent):
    complaint = make_complaint(language="vi")
    assert complaint.first_responded_at is None
    token = token_for(complaint, email=agent.email, user=agent)
    raw = reply(to=reply_address(token), sender=agent.email, text="Chúng tôi đã mở khóa tài khoản của bạn.\n")
    inbound = receive_raw(raw, now=LATER)
    assert inbound.status == InboundStatus.LANDED
    complaint.refresh_from_db()
    assert complaint.first_responded_at == LATER
    event = ComplaintEvent.objects.get(pk=inbound.event_id)
    assert (event.actor_id, event.actor_role, event.public) == (agent.pk, "staff", True)
    # ...and the complainant is told, like a reply written on the case page.
    assert Notification.objects.filter(complaint=complaint, recipient=None, context__kind="reply").exists()


def test_a_sender_over_the_hourly_limit_waits_for_review(waiting, settings):
    settings.INBOUND_LIMIT_PER_SENDER = 2
    token = token_for(waiting)
    outcomes = [
        receive_raw(
            reply(to=reply_address(token), text=f"Tin nhắn {n}.\n"), now=LATER + timedelta(minutes=n)
        ).status
        for n in range(3)
    ]
    assert outcomes == [InboundStatus.LANDED, InboundStatus.LANDED, InboundStatus.REVIEW]
    assert InboundMessage.objects.filter(reason=ReviewReason.RATE_LIMITED).count() == 1


def test_a_bounce_marks_the_notice_and_tells_staff_on_the_case(waiting, agent, client):
    notice = Notification.objects.filter(complaint=waiting, recipient=None).latest("pk")
    Notification.objects.filter(pk=notice.pk).update(
        status=NotificationStatus.SENT, message_id="<notice.1907.8c21de@portal.example>"
    )
    report = (CORPUS / "bounce.eml").read_bytes()  # returns the notice with that Message-ID
    inbound = receive_raw(report, now=LATER)
    assert inbound.status == InboundStatus.BOUNCE and inbound.complaint_id == waiting.pk
    notice.refresh_from_db()
    assert notice.status == NotificationStatus.BOUNCED
    told = ComplaintEvent.objects.get(complaint=waiting, kind=EventKind.MAIL_BOUNCED)
    assert told.public is False and told.payload["email"] == notice.email
    sign_in(client, agent)
    page = client.get(reverse("staff:case", args=[waiting.reference])).content.decode()
    assert f"E-mail gửi tới {notice.email} bị trả lại, không gửi được (5.1.1)" in page


def test_an_unreadable_message_is_kept_for_review(waiting):
    raw = b"\x00\x01 this is not an e-mail \xff\xfe" * 10
    inbound = receive_raw(raw, now=LATER)
    assert (inbound.status, inbound.reason) == (InboundStatus.REVIEW, ReviewReason.MALFORMED)
    with default_storage.open(inbound.raw_key, "rb") as handle:
        assert handle.read() == raw
    # Why, kept as the parser's code: each reviewer reads it in their own language.
    with translation.override("en"):
        english = inbound.problem_text
    with translation.override("vi"):
        vietnamese = inbound.problem_text
    assert english and vietnamese and english != vietnamese


def test_a_reviewer_attaches_a_waiting_message_to_a_case_or_discards_it(waiting, agent):
    # Mail that matches no case and did not come to the intake address waits for review.
    stranger = receive_raw(reply(to="lan@portal.example", sender="lan.other@example.org"), now=LATER)
    attached = attach_to_case(inbound=stranger, complaint=waiting, by=agent, now=LATER)
    assert (attached.status, attached.handled_by_id) == (InboundStatus.ATTACHED, agent.pk)
    event = ComplaintEvent.objects.get(pk=attached.event_id)
    assert event.payload["reviewed_by"] == agent.pk and "DH-12345" in event.body
    other = receive_raw(reply(to="lan@portal.example", text="Quảng cáo.\n"), now=LATER)
    assert discard(inbound=other, by=agent, now=LATER).status == InboundStatus.DISCARDED
    assert InboundMessage.objects.filter(
        pk=other.pk, status=InboundStatus.DISCARDED
    ).exists()  # kept on record
