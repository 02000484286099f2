"""The review page of inbound e-mail: what waits, why, and the two ways out of it."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from django.urls import reverse

from accounts.models import Role
from complaints.models import (
    Complaint,
    ComplaintEvent,
    EventKind,
    InboundMessage,
    InboundStatus,
    Notification,
    ReviewReason,
)
from complaints.services.inbound import receive_raw
from tests.factories import NOW, PASSWORD, make_complaint, make_user, sign_in

pytestmark = pytest.mark.django_db


def stray(subject: str = "Tài khoản của tôi", text: str = "Tôi vẫn chưa đăng nhập được.") -> InboundMessage:
    message = EmailMessage()
    message["From"] = "Lan <lan@example.org>"
    message["To"] = "replies@portal.example"
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="mail.example.org")
    message.set_content(text)
    return receive_raw(message.as_bytes(), now=NOW)


@pytest.fixture
def agent(client):
    user = make_user(username="agent", role=Role.AGENT, preferred_language="vi")
    sign_in(client, user)
    return user


def test_the_page_lists_waiting_mail_with_why_and_the_case_it_seems_to_be_about(client, agent, settings):
    settings.INBOUND_EMAIL_ADDRESS = "replies@portal.example"
    complaint = make_complaint()
    stray(subject=f"Về hồ sơ [{complaint.reference}]")
    page = client.get(reverse("staff:mail_review"), HTTP_ACCEPT_LANGUAGE="vi")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Tôi vẫn chưa đăng nhập được." in html
    # The reason in the reader's language, and the suggested case filled in.
    assert "Thư nhắc đến một hồ sơ nhưng không được gửi tới địa chỉ trả lời của hồ sơ đó." in html
    assert f'value="{complaint.reference}"' in html


def test_attaching_puts_the_mail_on_the_case_as_the_complainants_reply(client, agent):
    complaint = make_complaint()
    message = stray()
    response = client.post(
        reverse("staff:mail_attach", args=[message.pk]),
        {f"m{message.pk}-reference": complaint.reference.lower()},
    )
    assert response.status_code == 302
    message.refresh_from_db()
    assert (message.status, message.complaint_id, message.handled_by_id) == (
        InboundStatus.ATTACHED,
        complaint.pk,
        agent.pk,
    )
    assert ComplaintEvent.objects.filter(
        complaint=complaint, kind=EventKind.REPLY, pk=message.event_id
    ).exists()


def test_a_wrong_reference_is_refused_in_words_and_changes_nothing(client, agent):
    message = stray()
    response = client.post(
        reverse("staff:mail_attach", args=[message.pk]),
        {f"m{message.pk}-reference": "KN-0000-0000"},
        follow=True,
    )
    assert "Không có hồ sơ nào mang mã KN-0000-0000." in response.content.decode()
    message.refresh_from_db()
    assert message.status == InboundStatus.REVIEW


def test_discarding_keeps_the_mail_on_record_and_a_second_click_is_told_it_was_handled(client, agent):
    message = stray()
    client.post(reverse("staff:mail_discard", args=[message.pk]))
    message.refresh_from_db()
    assert (message.status, message.handled_by_id) == (InboundStatus.DISCARDED, agent.pk)
    again = client.post(reverse("staff:mail_discard", args=[message.pk]), follow=True)
    assert "Đã có người xử lý thư này." in again.content.decode()
    handled = client.get(reverse("staff:mail_review_tab", args=["handled"]))
    assert "Tôi vẫn chưa đăng nhập được." in handled.content.decode()


def test_the_original_downloads_as_received(client, agent):
    message = stray()
    response = client.get(reverse("staff:mail_original", args=[message.pk]))
    assert response["Content-Type"] == "message/rfc822"
    assert b"".join(response.streaming_content).startswith(b"From: Lan <lan@example.org>")


def test_complainants_and_strangers_do_not_see_the_page(client):
    make_user(username="lan")
    client.login(username="lan", password=PASSWORD)
    assert client.get(reverse("staff:mail_review")).status_code == 404
    message = stray()
    assert client.post(reverse("staff:mail_discard", args=[message.pk])).status_code == 404


def test_a_mail_held_back_from_intake_can_be_opened_as_a_new_complaint_once(client, agent, settings):
    settings.INBOUND_EMAIL_ADDRESS = "replies@portal.example"
    message = EmailMessage()
    message["Authentication-Results"] = "mx.portal.example; spf=pass smtp.mailfrom=example.org; dmarc=fail"
    message["From"] = "An Nguyễn <an.nguyen@example.org>"
    message["To"] = "replies@portal.example"
    message["Subject"] = "Ví điện tử bị khoá"
    message["Message-ID"] = make_msgid(domain="example.org")
    message.set_content("Ví của tôi bị khoá từ hôm qua, tôi không rút được tiền.")
    held = receive_raw(message.as_bytes(), now=NOW)
    assert (held.status, held.reason) == (InboundStatus.REVIEW, ReviewReason.AUTH_FAILED)
    response = client.post(reverse("staff:mail_open", args=[held.pk]), follow=True)
    held.refresh_from_db()
    assert (held.status, held.handled_by_id) == (InboundStatus.ATTACHED, agent.pk)
    complaint = held.complaint
    assert complaint.is_incomplete and complaint.submitted_at == held.received_at
    assert complaint.contact_email == held.from_address
    assert f"Đã mở khiếu nại {complaint.reference} từ e-mail này" in response.content.decode()
    acknowledgements = Notification.objects.filter(
        complaint=complaint, template="complaint_received_by_email"
    )
    assert acknowledgements.count() == 1
    again = client.post(reverse("staff:mail_open", args=[held.pk]), follow=True)
    assert "Đã có người xử lý thư này." in again.content.decode()
    assert Complaint.objects.filter(contact_email=held.from_address).count() == 1
