"""Playwright in Chromium, in Vietnamese on a phone (issue 14, point 9): a complainant who
filed as a guest downloads all their data from the case page, then asks for its erasure;
the request is on the timeline and acknowledged by e-mail."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import pytest
from django.core import mail
from django.utils import timezone

from complaints.models import Complaint, PrivacyRequest
from complaints.notifications import deliver_outbox
from tests.complaints.conftest import intake_post

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_complainant_downloads_their_data_and_asks_for_its_erasure_in_vietnamese(browser, live_server):
    context = browser.new_context(
        viewport={"width": 375, "height": 800}, locale="vi-VN", accept_downloads=True
    )
    page = context.new_page()
    page.goto(f"{live_server.url}/complaints/new/")
    page.select_option("#id_subcategory", label="Không đăng nhập được")
    for name, value in intake_post(contact_name="Nguyễn Thị Lan").items():
        if name in {
            "provider_name",
            "subject",
            "description",
            "desired_outcome",
            "contact_name",
            "contact_email",
        }:
            page.fill(f"#id_{name}", value)
    page.fill("#id_occurred_at", "2026-01-10T09:30")
    page.get_by_label("Tôi đã đọc cách dữ liệu cá nhân của tôi được xử lý (ở trên) và tôi đồng ý.").check()
    page.get_by_role("button", name="Gửi khiếu nại").click()
    page.wait_for_url(re.compile(r"/complaints/KN-[0-9A-Z-]+/submitted/$"))
    reference = page.get_by_test_id("reference").inner_text()
    page.goto(f"{live_server.url}/complaints/{reference}/")

    # Everything the portal holds about her, as a ZIP: a page to read and the JSON.
    section = page.get_by_test_id("your-data")
    with page.expect_download() as download:
        section.get_by_role("link", name="Tải xuống toàn bộ dữ liệu của tôi (ZIP)").click()
    archive = zipfile.ZipFile(io.BytesIO(Path(download.value.path()).read_bytes()))
    data = json.loads(archive.read("data.json"))
    assert [c["reference"] for c in data["complaints"]] == [reference]
    assert data["complaints"][0]["contact_name"] == "Nguyễn Thị Lan"
    assert "Nguyễn Thị Lan" in archive.read("index.html").decode()

    # Then she asks for its erasure.
    section.get_by_text("Gửi yêu cầu về dữ liệu của tôi").click()
    section.get_by_label("Bạn yêu cầu gì?").select_option(label="Xoá dữ liệu của tôi")
    section.get_by_label("Chi tiết (không bắt buộc)").fill("Tôi không muốn lưu thông tin này nữa.")
    section.get_by_role("button", name="Gửi yêu cầu").click()
    page.wait_for_load_state()
    assert page.get_by_text("Yêu cầu của bạn đã được gửi.").is_visible()
    assert page.get_by_text("Tôi không muốn lưu thông tin này nữa.").first.is_visible()  # on the timeline
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    context.close()

    request = PrivacyRequest.objects.get(complaint=Complaint.objects.get(reference=reference))
    assert request.kind == "erasure" and request.status == "open"
    deliver_outbox(now=timezone.now())
    assert any(
        "Chúng tôi đã nhận được yêu cầu của bạn" in m.subject
        for m in mail.outbox
        if m.to == ["lan@example.org"]
    )
