"""E-mail both ways, end to end, in Vietnamese, through a real SMTP server and a real IMAP
mailbox (Dovecot), taken in by the same poll the beat task runs:

- an agent asks for information in Chromium, the complainant answers by replying with a
  screenshot; the agent sees the answer and the screenshot, with the clock running again;
- someone writes to the intake address; the portal opens an incomplete complaint and
  answers with a link, through which the person completes the dossier in Chromium."""

from __future__ import annotations

import io
import re
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from django.utils import timezone
from PIL import Image
from playwright.sync_api import expect

from accounts.models import Role
from complaints.mailbox import MailboxSettings, poll_doors
from complaints.models import Complaint, Status
from complaints.notifications import deliver_outbox
from complaints.services.inbound import receive_raw
from tests.factories import make_complaint, make_user
from tests.test_staff_journeys import Browsing, expect_message, open_action, sign_in, tr

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LANGUAGE = "vi"


def screenshot() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 200), (30, 120, 200)).save(out, "PNG")
    return out.getvalue()


def test_the_complainant_answers_by_email_with_a_screenshot_and_the_agent_sees_it(
    browser, live_server, smtp_sink, imap_server, settings
):
    settings.INBOUND_EMAIL_ADDRESS = "replies@portal.example"
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = smtp_sink.host, smtp_sink.port, False
    base = live_server.url
    agent = make_user(role=Role.AGENT, first_name="Minh", last_name="Trần", preferred_language=LANGUAGE)
    complaint = make_complaint(now=timezone.now(), language=LANGUAGE, subject="Không nhận được mã OTP")
    reference = complaint.reference
    question = "Bạn đăng ký số điện thoại nào với nhà cung cấp?"
    answer = "Số cũ kết thúc bằng 0912. Tôi gửi kèm ảnh chụp màn hình lỗi."

    staff = Browsing(browser, LANGUAGE)
    try:
        page = staff.new_page()
        sign_in(page, base, agent.username, LANGUAGE)
        page.goto(f"{base}/staff/cases/{reference}/")
        panel = page.get_by_role("region", name=tr(LANGUAGE, "Work on this case"))
        open_action(panel, tr(LANGUAGE, "Ask the complainant for information"))
        panel.get_by_label(tr(LANGUAGE, "What do you need from the complainant?")).fill(question)
        panel.get_by_role("button", name=tr(LANGUAGE, "Ask and pause the clock")).click()
        page.wait_for_url(f"{base}/staff/cases/{reference}/")
        asked = "The complainant was asked for information. The SLA clock is paused until they answer."
        expect_message(page, LANGUAGE, asked)
        complaint.refresh_from_db()
        assert complaint.status == Status.AWAITING_COMPLAINANT and complaint.clock_paused_at is not None

        # The outbox sends the request over SMTP; the complainant's mail client shows it.
        deliver_outbox(now=timezone.now())
        (request,) = [
            message
            for message in smtp_sink.messages
            if message["To"] == complaint.contact_email
            and question in message.get_body(("plain",)).get_content()
        ]
        assert request["Reply-To"].startswith("replies+")

        # The complainant replies, as a mail client does: to the Reply-To, threaded, quoting.
        reply = EmailMessage()
        reply["From"] = f"{complaint.contact_name} <{complaint.contact_email}>"
        reply["To"] = request["Reply-To"]
        reply["Subject"] = "Re: " + request["Subject"]
        reply["Message-ID"] = make_msgid(domain="mail.example.org")
        reply["In-Reply-To"] = request["Message-ID"]
        reply["References"] = f"{request['References']} {request['Message-ID']}"
        quoted = "\n".join("> " + line for line in request.get_body(("plain",)).get_content().splitlines())
        reply.set_content(f"{answer}\n\nVào {timezone.now():%d/%m/%Y} Cổng khiếu nại đã viết:\n{quoted}\n")
        reply.add_attachment(screenshot(), maintype="image", subtype="png", filename="loi-otp.png")
        imap_server.append(reply.as_bytes())

        # Beat's poll (the function the task calls) takes it from the mailbox.
        mailbox = MailboxSettings(
            host=imap_server.host,
            port=imap_server.port,
            user=imap_server.user,
            password=imap_server.password,
            ssl=False,
        )
        assert poll_doors(receive_raw, mailbox=mailbox, folder=None).taken == 1
        assert imap_server.messages("INBOX") == []  # moved out once its effects committed

        # The agent reloads the case: the answer, the screenshot and the clock running again.
        page.reload()
        timeline = page.get_by_test_id("timeline")
        entry = timeline.locator("li[data-kind='reply']").filter(has_text=answer)
        expect(entry).to_have_count(1)
        expect(entry).to_contain_text(tr(LANGUAGE, "by e-mail"))
        expect(entry).not_to_contain_text(question)  # the quoted request was stripped
        expect(entry.get_by_role("img", name="loi-otp.png")).to_be_visible()
        expect(entry.get_by_role("link", name=tr(LANGUAGE, "The e-mail as received (.eml)"))).to_be_visible()
        complaint = Complaint.objects.get(pk=complaint.pk)
        assert complaint.status == Status.OPEN and complaint.clock_paused_at is None
        assert staff.errors == []
    finally:
        staff.close()


def test_mail_to_the_intake_address_opens_a_complaint_its_sender_completes_through_the_emailed_link(
    browser, live_server, smtp_sink, imap_server, settings
):
    settings.INBOUND_EMAIL_ADDRESS = "replies@portal.example"
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = smtp_sink.host, smtp_sink.port, False
    base = live_server.url
    message = EmailMessage()
    message["From"] = "Trần Thu Hà <ha.tran@example.org>"
    message["To"] = "replies@portal.example"
    message["Subject"] = "Không đăng nhập được vào ví"
    message["Message-ID"] = make_msgid(domain="mail.example.org")
    message.set_content(
        "Từ sáng nay tôi không đăng nhập được vào ví, mã OTP không về.\n\n--\nGửi từ iPhone của tôi\n"
    )
    imap_server.append(message.as_bytes())
    mailbox = MailboxSettings(
        host=imap_server.host,
        port=imap_server.port,
        user=imap_server.user,
        password=imap_server.password,
        ssl=False,
    )
    assert poll_doors(receive_raw, mailbox=mailbox, folder=None).taken == 1
    complaint = Complaint.objects.get(contact_email="ha.tran@example.org")
    assert complaint.is_incomplete and complaint.language == "vi" and complaint.clock_started_at is not None

    # The acknowledgement goes out over SMTP, with the private link.
    deliver_outbox(now=timezone.now())
    (acknowledgement,) = [m for m in smtp_sink.messages if m["To"] == "ha.tran@example.org"]
    link = re.search(
        r"https?://\S+/complaints/track/\S+/", acknowledgement.get_body(("plain",)).get_content()
    )
    path = link.group(0).split("/complaints/", 1)[1]

    person = Browsing(browser, LANGUAGE)
    try:
        page = person.new_page()
        page.goto(f"{base}/complaints/{path}")
        page.wait_for_url(f"{base}/complaints/{complaint.reference}/")
        form = page.get_by_test_id("complete-form")
        expect(form.get_by_role("heading", name=tr(LANGUAGE, "Complete your complaint"))).to_be_visible()
        form.get_by_label(tr(LANGUAGE, "What is the problem about?")).select_option(
            label="Không đăng nhập được"
        )
        form.get_by_label(tr(LANGUAGE, "Which service or company?")).fill("Ví điện tử MoMoney")
        form.get_by_label(tr(LANGUAGE, "When did it happen?")).fill("2026-11-30T08:00")
        form.get_by_label(tr(LANGUAGE, "What outcome do you want?")).fill("Mở lại quyền truy cập ví của tôi.")
        form.get_by_label(
            tr(LANGUAGE, "I have read how my personal data is processed, above, and I agree to it.")
        ).check()
        form.get_by_role("button", name=tr(LANGUAGE, "Complete my complaint")).click()
        page.wait_for_url(f"{base}/complaints/{complaint.reference}/")
        expect(page.get_by_test_id("complete-form")).to_have_count(0)
        # The dossier holds what the e-mail said, without its signature.
        expect(page.get_by_role("main")).to_contain_text("mã OTP không về")
        expect(page.get_by_role("main")).not_to_contain_text("Gửi từ iPhone")
        complaint.refresh_from_db()
        assert not complaint.is_incomplete and complaint.provider_name == "Ví điện tử MoMoney"
        assert person.errors == []
    finally:
        person.close()
