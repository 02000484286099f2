"""Playwright in Chromium: opening evidence never runs what it carries."""

from __future__ import annotations

import pytest
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from complaints.access import GUEST_COOKIE, grant_guest_access
from evidence.services import attach_evidence
from tests.evidence.conftest import fill_intake, html, png, sealed
from tests.factories import make_complaint

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_opening_a_polyglot_downloads_it_and_no_script_runs(browser, live_server):
    complaint = make_complaint()
    result = attach_evidence(
        complaint=complaint,
        uploads=[(sealed("innocent.png", png() + html()), "")],
        by=None,
        now=timezone.now(),
    )
    evidence = result.attached[0]
    cookie = grant_guest_access(HttpRequest(), HttpResponse(), complaint).cookies[GUEST_COOKIE]
    context = browser.new_context(accept_downloads=True)
    context.add_cookies([{"name": GUEST_COOKIE, "value": cookie.value, "url": live_server.url}])
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    try:
        page.goto(f"{live_server.url}/complaints/{complaint.reference}/")
        case_url = page.url
        for variant in ("original", "view"):
            with page.expect_download() as download:
                page.evaluate(
                    "url => { window.location.href = url; }",
                    f"{live_server.url}/evidence/{evidence.public_id}/{variant}/",
                )
            assert download.value.suggested_filename.startswith("innocent")
            assert page.url == case_url  # the browser saved it; it did not open it
        # The inline preview is served under a sandboxing CSP; opened directly it shows an image.
        response = page.goto(f"{live_server.url}/evidence/{evidence.public_id}/thumb/")
        assert "sandbox" in response.headers["content-security-policy"]
        assert response.headers["content-type"].startswith("image/")
        page.wait_for_timeout(300)
        assert dialogs == []
    finally:
        context.close()


def test_files_sent_at_intake_go_through_the_progress_upload(browser, live_server, tmp_path):
    from complaints.models import Complaint

    screenshot = tmp_path / "loi-dang-nhap.png"
    screenshot.write_bytes(png(800, 600))
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/complaints/new/")
        fill_intake(page)
        page.set_input_files("#id_evidence-0-file", str(screenshot))
        page.fill("#id_evidence-0-caption", "the crash screen")
        page.check("#id_consent")
        page.get_by_role("button", name="Send the complaint").click()
        page.wait_for_url("**/submitted/")
        assert page.get_by_text("1 file was added.").is_visible()
        evidence = Complaint.objects.get().evidence.get()
        assert (evidence.original_name, evidence.caption) == ("loi-dang-nhap.png", "the crash screen")
    finally:
        context.close()
