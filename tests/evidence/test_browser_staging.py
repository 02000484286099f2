"""Playwright in Chromium: files are checked the moment they are chosen, refused beside their
name before Send, and Send files the complaint with the accepted ones only."""

from __future__ import annotations

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect

from complaints.models import Complaint
from evidence.models import StagedUpload
from tests.evidence.conftest import fill_intake, png, visible_mime_types, windows_program

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_bad_file_is_refused_beside_its_name_before_send_and_the_good_one_is_filed(
    browser, live_server, tmp_path
):
    good = tmp_path / "screenshot.png"
    good.write_bytes(png(800, 600))
    bad = tmp_path / "photo.png"
    bad.write_bytes(windows_program())
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/complaints/new/")
        page.set_input_files("#id_evidence-0-file", str(good))
        page.set_input_files("#id_evidence-1-file", str(bad))
        # The form stays editable while the files are checked.
        fill_intake(page)
        page.fill("#id_evidence-0-caption", "the crash screen")

        rows = page.locator("[data-stage-row]")
        refusal = rows.nth(1).get_by_role("alert")
        expect(refusal).to_have_text("“photo.png” is a program, not a picture.")
        expect(rows.nth(0).locator("[data-staged-file]")).to_contain_text("screenshot.png")
        expect(rows.nth(0).locator("[data-staged-file]")).to_be_visible()
        assert visible_mime_types(page.content()) == []
        assert not Complaint.objects.exists()  # all of this before Send
        assert list(StagedUpload.objects.values_list("original_name", flat=True)) == ["screenshot.png"]

        page.check("#id_consent")
        page.get_by_role("button", name="Send the complaint").click()
        try:
            page.wait_for_url("**/submitted/", timeout=30_000)
        except PlaywrightTimeoutError:
            raise AssertionError(f"intake did not finish at {page.url}:\n{page.inner_text('body')}") from None
        expect(page.get_by_text("1 file was added.")).to_be_visible()
        page.get_by_role("link", name="Follow your complaint").click()
        evidence = page.locator("#evidence-heading").locator("..")
        expect(evidence).to_contain_text("screenshot.png")
        expect(evidence).not_to_contain_text("photo.png")
        complaint = Complaint.objects.get()
        assert list(complaint.evidence.values_list("original_name", "caption")) == [
            ("screenshot.png", "the crash screen")
        ]
        assert not StagedUpload.objects.exists()
    finally:
        context.close()


def test_a_removed_file_is_not_filed(browser, live_server, tmp_path):
    chosen = tmp_path / "wrong-one.png"
    chosen.write_bytes(png())
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/complaints/new/")
        page.set_input_files("#id_evidence-0-file", str(chosen))
        row = page.locator("[data-stage-row]").first
        expect(row.locator("[data-staged-file]")).to_contain_text("wrong-one.png")
        with page.expect_response("**/remove/"):
            row.get_by_role("button", name="Remove this file").click()
        expect(row.locator("#id_evidence-0-file")).to_be_visible()
        assert not StagedUpload.objects.exists()
    finally:
        context.close()


class HeldStaging:
    """Holds the staging area's answers back until released: a slow network or server."""

    def __init__(self, page):
        self.routes = []
        page.route("**/evidence/staged/", self.hold)

    def hold(self, route):
        self.routes.append(route)

    def release(self):
        while self.routes:
            self.routes.pop(0).continue_()


def test_send_pressed_while_a_file_is_checked_waits_for_it_and_then_sends_by_itself(
    browser, live_server, tmp_path
):
    good = tmp_path / "screenshot.png"
    good.write_bytes(png(800, 600))
    context = browser.new_context(locale="vi-VN")
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/complaints/new/")
        staging = HeldStaging(page)
        page.set_input_files("#id_evidence-0-file", str(good))
        fill_intake(page)
        page.check("#id_consent")
        page.get_by_role("button", name="Gửi khiếu nại").click()

        waiting = page.locator("[data-stage-waiting]")
        expect(waiting).to_have_text(
            "Đang kiểm tra các tệp của bạn. Biểu mẫu sẽ được gửi ngay khi kiểm tra xong."
        )
        expect(waiting).to_be_visible()
        assert not Complaint.objects.exists()

        staging.release()  # the file is checked: the complaint goes without a second press
        try:
            page.wait_for_url("**/submitted/", timeout=30_000)
        except PlaywrightTimeoutError:
            raise AssertionError(f"intake did not finish at {page.url}:\n{page.inner_text('body')}") from None
        complaint = Complaint.objects.get()
        assert list(complaint.evidence.values_list("original_name", flat=True)) == ["screenshot.png"]
    finally:
        context.close()


def test_send_pressed_while_a_file_is_checked_does_not_send_when_that_file_is_refused(
    browser, live_server, tmp_path
):
    bad = tmp_path / "photo.png"
    bad.write_bytes(windows_program())
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/complaints/new/")
        staging = HeldStaging(page)
        page.set_input_files("#id_evidence-0-file", str(bad))
        fill_intake(page)
        page.check("#id_consent")
        page.get_by_role("button", name="Send the complaint").click()
        staging.release()

        row = page.locator("[data-stage-row]").first
        expect(row.get_by_role("alert")).to_have_text("“photo.png” is a program, not a picture.")
        expect(page.locator("[data-stage-waiting]")).to_have_text(
            "A file was not accepted: the reason is shown beside it. "
            "Choose another file or remove it, then send again."
        )
        page.wait_for_timeout(500)  # long enough for a form post to reach the server
        assert page.url.endswith("/complaints/new/")
        assert not Complaint.objects.exists()
        # Sent again by hand, without the refused file: the complaint goes.
        page.get_by_role("button", name="Send the complaint").click()
        page.wait_for_url("**/submitted/", timeout=30_000)
        assert Complaint.objects.get().evidence.count() == 0
    finally:
        context.close()
