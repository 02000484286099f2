"""Playwright in Debian's Chromium: the home page in Vietnamese and English, and the switcher."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_home_page_follows_the_browser_then_the_switcher_and_remembers_it(browser, live_server):
    context = browser.new_context(locale="vi-VN", viewport={"width": 375, "height": 740})
    page = context.new_page()
    try:
        page.goto(live_server.url)
        assert page.locator("html").get_attribute("lang") == "vi"
        assert page.get_by_role("heading", level=1).inner_text() == "Bị một dịch vụ trực tuyến làm thất vọng?"
        # At phone width the layout must not scroll sideways.
        assert page.evaluate("document.documentElement.scrollWidth") <= 375

        page.get_by_role("button", name="Mở menu").click()
        switch = page.get_by_test_id("language-en")
        expect(switch).to_be_visible()  # the menu has opened
        # The switch posts and is redirected to the page again: wait for that answer, so a
        # click that posted nothing fails here, saying so, rather than as a page left in
        # Vietnamese.
        with page.expect_response(lambda answer: answer.request.method == "POST") as posted:
            switch.click()
        assert posted.value.status == 302, posted.value.status
        expect(page.locator("html")).to_have_attribute("lang", "en")
        assert page.locator("html").get_attribute("lang") == "en"
        assert page.get_by_role("heading", level=1).inner_text() == "Let down by an online service?"

        page.reload()
        assert page.locator("html").get_attribute("lang") == "en"

        page.get_by_role("button", name="Open the menu").click()
        switch = page.get_by_test_id("language-vi")
        expect(switch).to_be_visible()
        with page.expect_response(lambda answer: answer.request.method == "POST") as posted:
            switch.click()
        assert posted.value.status == 302, posted.value.status
        expect(page.locator("html")).to_have_attribute("lang", "vi")
        assert page.locator("html").get_attribute("lang") == "vi"
    finally:
        context.close()


def test_an_english_browser_gets_english_first(browser, live_server):
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    try:
        page.goto(live_server.url)
        assert page.locator("html").get_attribute("lang") == "en"
        assert page.get_by_role("link", name="Sign in").is_visible()
    finally:
        context.close()
