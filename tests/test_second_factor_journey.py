"""Playwright in Chromium: a new member of staff signs in for the first time, sets up an
authenticator app from the QR code's page (the code computed here, by hand, from the secret
the page shows), keeps the recovery codes, and later signs in with a code, a recovery code,
and once with "do not ask again" on this browser; in English and in Vietnamese.
"""

from __future__ import annotations

import re

import pytest
from django.utils import translation
from django.utils.translation import ngettext
from playwright.sync_api import Page, expect

from accounts.models import Role
from accounts.second_factor import authenticator
from tests.conftest import CODE_STEP
from tests.factories import PASSWORD, fresh_totp_code, make_user, totp_code
from tests.test_staff_journeys import LANGUAGES, Browsing, tr

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SETUP = re.compile(r"/accounts/second-factor/set-up/")
CODES = re.compile(r"/accounts/second-factor/recovery-codes/$")


def password_step(page: Page, base: str, username: str, language: str, *, goto: bool = True) -> None:
    if goto:
        page.goto(f"{base}/accounts/login/")
    page.get_by_label(tr(language, "Username or e-mail")).fill(username)
    page.get_by_label(tr(language, "Password")).fill(PASSWORD)
    page.get_by_role("button", name=tr(language, "Sign in"), exact=True).click()


def send_code(page: Page, language: str, code: str, *, remember: bool = False) -> None:
    page.get_by_role("textbox", name=re.compile(rf"^{re.escape(tr(language, 'Code'))}\W*$")).fill(code)
    if remember:
        page.get_by_role("checkbox").check()
    page.get_by_role("button", name=tr(language, "Continue")).click()


def sign_out(page: Page, language: str) -> None:
    page.get_by_role("button", name=tr(language, "Sign out")).click()
    expect(page.get_by_role("link", name=tr(language, "Sign in"), exact=True)).to_be_visible()


@LANGUAGES
def test_a_new_agent_sets_up_an_app_and_signs_in_with_codes(browser, live_server, language):
    base = live_server.url
    agent = make_user(role=Role.AGENT, username="minh", first_name="Minh", preferred_language=language)
    browsing = Browsing(browser, language)
    try:
        page = browsing.new_page()
        # The password alone opens nothing: the queue asked for sends to the app's set-up.
        page.goto(f"{base}/staff/queue/")
        page.wait_for_url(re.compile(r"/accounts/login/\?next="))
        password_step(page, base, "minh", language, goto=False)
        page.wait_for_url(SETUP)
        expect(page.get_by_role("heading", level=1)).to_have_text(tr(language, "Set up an authenticator app"))
        assert page.get_by_test_id("staff-menu").count() == 0

        # The QR code is drawn by the portal and shows (a real image, allowed by the CSP).
        qr = page.get_by_role("img", name=tr(language, "QR code to scan with your authenticator app"))
        expect(qr).to_be_visible()
        assert qr.evaluate("img => img.complete && img.naturalWidth") > 100
        secret = page.get_by_test_id("secret").inner_text()
        assert re.fullmatch(r"([A-Z2-7]{4} ){7}[A-Z2-7]{4}", secret)

        # A wrong code first: a clear message in the page's language, and still the set-up.
        wrong = f"{(int(totp_code(secret)) + 1) % 1_000_000:06d}"
        page.get_by_label(tr(language, "Six-digit code from the app")).fill(wrong)
        page.get_by_role("button", name=tr(language, "Confirm")).click()
        refusal = "That code did not work. Check the time on your phone and type the newest code."
        expect(page.get_by_text(tr(language, refusal))).to_be_visible()
        page.wait_for_timeout(1100)  # django-otp's wait after a failure
        page.get_by_label(tr(language, "Six-digit code from the app")).fill(totp_code(secret))
        page.get_by_role("button", name=tr(language, "Confirm")).click()

        # Ten recovery codes, shown once; then the page first asked for.
        page.wait_for_url(CODES)
        codes = page.get_by_test_id("recovery-codes").locator("li").all_inner_texts()
        assert len(codes) == 10 and all(re.fullmatch(r"[a-z2-7]{4}-[a-z2-7]{4}", c) for c in codes)
        page.get_by_role("link", name=tr(language, "I have kept them: continue")).click()
        page.wait_for_url(f"{base}/staff/queue/")
        expect(page.get_by_test_id("staff-menu")).to_be_visible()
        page.goto(f"{base}/accounts/second-factor/recovery-codes/")
        page.wait_for_url(re.compile(r"/accounts/second-factor/$"))  # not shown again
        sign_out(page, language)

        # Next time: password, then a code (the app's next one: a code works once).
        device = authenticator(agent)
        password_step(page, base, "minh", language)
        page.wait_for_url(CODE_STEP)
        expect(page.get_by_role("heading", level=1)).to_have_text(tr(language, "Type your code"))
        send_code(page, language, fresh_totp_code(device))
        page.wait_for_url(f"{base}/")
        page.goto(f"{base}/staff/queue/")
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        assert page.url == f"{base}/staff/queue/"
        sign_out(page, language)

        # A lost phone: a recovery code, typed in capitals, signs in once.
        password_step(page, base, "minh", language)
        page.wait_for_url(CODE_STEP)
        send_code(page, language, codes[0].upper())
        page.wait_for_url(f"{base}/")
        with translation.override(language):
            used = ngettext(
                "You used a recovery code: %(count)s is left. Make new ones in your profile.",
                "You used a recovery code: %(count)s are left. Make new ones in your profile.",
                9,
            ) % {"count": 9}
        expect(page.get_by_role("status").filter(has_text=used)).to_be_visible()
        sign_out(page, language)

        # Once more with "do not ask again": the next sign-in on this browser skips the code.
        password_step(page, base, "minh", language)
        page.wait_for_url(CODE_STEP)
        send_code(page, language, codes[0])  # used up
        expect(page.get_by_text(tr(language, refusal))).to_be_visible()
        page.wait_for_timeout(1100)
        send_code(page, language, fresh_totp_code(device), remember=True)
        page.wait_for_url(f"{base}/")
        sign_out(page, language)
        password_step(page, base, "minh", language)
        page.wait_for_url(f"{base}/")
        page.goto(f"{base}/staff/queue/")
        assert page.url == f"{base}/staff/queue/"
        # A fresh browser (no remembered cookie) is asked again.
        other = Browsing(browser, language)
        try:
            elsewhere = other.new_page()
            password_step(elsewhere, base, "minh", language)
            elsewhere.wait_for_url(CODE_STEP)
        finally:
            other.close()
        assert browsing.errors == []
    finally:
        browsing.close()
