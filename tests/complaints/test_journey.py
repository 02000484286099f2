"""Playwright in Chromium: a guest files in Vietnamese, opens the e-mailed link, replies and reminds."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.utils import timezone

from complaints.models import Complaint
from complaints.notifications import deliver_outbox

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_guest_files_follows_the_emailed_link_replies_and_reminds(browser, live_server):
    phone = {"viewport": {"width": 375, "height": 800}, "locale": "vi-VN"}
    filing = browser.new_context(**phone)
    page = filing.new_page()
    page.goto(f"{live_server.url}/complaints/new/")
    assert page.get_by_role("heading", level=1).inner_text() == "Gửi khiếu nại"
    page.select_option("#id_subcategory", label="Không đăng nhập được")
    page.fill("#id_provider_name", "Ví điện tử MoMoney")
    page.fill("#id_subject", "Không nhận được mã OTP")
    page.fill("#id_description", "Từ hôm qua tôi không nhận được mã OTP khi đăng nhập.")
    page.fill("#id_desired_outcome", "Khôi phục quyền truy cập tài khoản của tôi.")
    page.fill("#id_occurred_at", "2026-01-10T09:30")
    page.fill("#id_contact_name", "Nguyễn Thị Lan")
    page.fill("#id_contact_email", "lan@example.org")
    page.select_option("#id_contacts-0-channel", "chat")
    page.fill("#id_contacts-0-contacted_at", "2026-01-11T08:00")
    page.fill("#id_contacts-0-summary", "Nhân viên chat hứa sẽ gọi lại.")
    page.get_by_label("Tôi đã đọc cách dữ liệu cá nhân của tôi được xử lý (ở trên) và tôi đồng ý.").check()
    page.get_by_role("button", name="Gửi khiếu nại").click()
    page.wait_for_url(re.compile(r"/complaints/KN-[0-9A-Z-]+/submitted/$"))
    reference = page.get_by_test_id("reference").inner_text()
    assert page.get_by_role("heading", level=1).inner_text() == "Khiếu nại của bạn đã được tiếp nhận"
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    filing.close()

    # The acknowledgement goes out through the outbox, in Vietnamese, with the tracking link.
    assert deliver_outbox(now=timezone.now()).sent == 1
    message = mail.outbox[-1]
    assert reference in message.subject
    link = re.search(r"https?://\S+(/complaints/track/\S+/)", message.body).group(1)

    # Another device: only the link from the e-mail opens the case, then the URL is token-free.
    reading = browser.new_context(**phone)
    page = reading.new_page()
    page.goto(f"{live_server.url}{link}")
    page.wait_for_url(f"{live_server.url}/complaints/{reference}/")
    assert page.get_by_test_id("reference").inner_text() == reference

    page.fill("#id_body", "Tôi vẫn chưa đăng nhập được, xin hãy kiểm tra giúp.")
    page.get_by_role("button", name="Gửi", exact=True).click()
    page.wait_for_load_state()
    assert page.get_by_text("Tin nhắn của bạn đã được thêm.").is_visible()

    page.get_by_role("button", name="Gửi lời nhắc").click()
    page.wait_for_load_state()
    assert page.get_by_text("Lời nhắc của bạn đã được gửi đến bộ phận hỗ trợ.").is_visible()

    timeline = page.get_by_test_id("timeline")
    for text in (
        "Đã gửi khiếu nại",
        "Trả lời",
        "Đã gửi lời nhắc",
        "Tôi vẫn chưa đăng nhập được, xin hãy kiểm tra giúp.",
        "Nhân viên chat hứa sẽ gọi lại.",
    ):
        assert timeline.get_by_text(text, exact=True).count() >= 1, text
    reading.close()

    complaint = Complaint.objects.get(reference=reference)
    assert list(complaint.events.values_list("kind", flat=True)) == [
        "submitted",
        "reply",
        "reminder",
    ]
