"""The header in Chromium for every kind of person, in Vietnamese and English: one line at
1280 px, the staff pages in one menu, a clean collapse at 375 px; and the favicon."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.utils import translation
from playwright.sync_api import Page, expect

from accounts.models import Role
from tests.conftest import authenticator_for, type_code
from tests.factories import PASSWORD, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LANGUAGES = ("vi", "en")
BROWSER_LOCALE = {"en": "en-US", "vi": "vi-VN"}
# Long real names: the person's name is shown in the header.
PEOPLE = {
    "complainant": {"first_name": "Nguyễn Thị Thanh", "last_name": "Hương"},
    "agent": {"first_name": "Trần Văn", "last_name": "Minh", "role": Role.AGENT},
    "lead": {"first_name": "Lê Thị Thu", "last_name": "Hà", "role": Role.TEAM_LEAD},
    "manager": {"first_name": "Phạm Quốc", "last_name": "Bảo", "role": Role.MANAGER},
    "privacy officer": {"first_name": "Võ Thị", "last_name": "Thu", "role": Role.PRIVACY_OFFICER},
    "admin": {"first_name": "Quản trị", "last_name": "Viên", "is_staff": True, "is_superuser": True},
}
ROLES = ("guest", *PEOPLE)
# The staff pages each kind of person finds in the staff menu (none: no staff menu).
STAFF_LINKS = {
    "guest": set(),
    "complainant": set(),
    "agent": {"/staff/queue/", "/staff/mail/"},
    "lead": {"/staff/queue/", "/staff/mail/", "/staff/incidents/"},
    "manager": {
        "/staff/queue/",
        "/staff/mail/",
        "/staff/incidents/",
        "/staff/escalated/",
        "/staff/dashboard/",
        "/staff/compliance/",
        "/staff/access/",
    },
    # Privacy officers work no cases: their requests and the access log are their staff pages.
    "privacy officer": {"/staff/privacy/", "/staff/access/"},
    "admin": {
        "/staff/queue/",
        "/staff/mail/",
        "/staff/incidents/",
        "/staff/escalated/",
        "/staff/dashboard/",
        "/staff/compliance/",
        "/staff/privacy/",
        "/staff/access/",
        "/admin/",
    },
}

# The boxes of what the header shows on its bar: the brand, each top-level item, the toggler.
BAR_ITEMS = """() => [
    ...document.querySelectorAll(
        'header .navbar-brand, header #main-nav > .navbar-nav > .nav-item, header .navbar-toggler')
].filter(el => el.getClientRects().length && getComputedStyle(el).visibility !== 'hidden')
 .map(el => { const b = el.getBoundingClientRect();
              return {text: el.innerText.trim().slice(0, 40), top: b.top, bottom: b.bottom,
                      left: b.left, right: b.right}; })"""


def tr(language: str, msgid: str) -> str:
    with translation.override(language):
        return translation.gettext(msgid)


@pytest.fixture
def page_for(browser, live_server) -> Iterator:
    opened = []

    def open_(role: str, language: str, width: int) -> Page:
        context = browser.new_context(
            locale=BROWSER_LOCALE[language], viewport={"width": width, "height": 800}
        )
        opened.append(context)
        page = context.new_page()
        if role != "guest":
            fields = dict(PEOPLE[role])
            user = make_user(username=f"{role}-{language}-{width}", preferred_language=language, **fields)
            device = authenticator_for(user)
            page.goto(f"{live_server.url}/accounts/login/")
            page.locator("input[name=username]").fill(user.username)
            page.locator("input[name=password]").fill(PASSWORD)
            page.locator("main form[method=post] button[type=submit]").click()
            if device is not None:
                type_code(page, device)
            page.wait_for_url(f"{live_server.url}/")
        page.goto(f"{live_server.url}/complaints/new/")
        expect(page.locator("html")).to_have_attribute("lang", language)
        return page

    yield open_
    for context in opened:
        context.close()


def staff_menu_links(page: Page) -> set[str]:
    return set(
        page.locator("header [data-testid=staff-menu] .dropdown-menu a").evaluate_all(
            "links => links.map(a => new URL(a.href).pathname)"
        )
    )


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("role", ROLES)
def test_the_header_is_one_line_at_1280_px_with_the_staff_pages_in_one_menu(page_for, role, language):
    page = page_for(role, language, 1280)
    expect(page.locator("header .navbar-toggler")).to_be_hidden()
    items = page.evaluate(BAR_ITEMS)
    assert len(items) >= 3, items
    # One line: every item's box overlaps every other's vertically, and none leaves the page.
    lowest_top = max(item["top"] for item in items)
    highest_bottom = min(item["bottom"] for item in items)
    assert lowest_top < highest_bottom, f"[{role} {language}] the header wraps: {items}"
    assert max(item["right"] for item in items) <= 1280, items
    assert page.locator("header nav").bounding_box()["height"] < 80
    # The staff pages are in one menu (a dropdown), not each on the bar.
    if STAFF_LINKS[role]:
        menu = page.get_by_test_id("staff-menu")
        menu.locator("[data-bs-toggle=dropdown]").click()
        assert staff_menu_links(page) == STAFF_LINKS[role]
        for link in menu.locator(".dropdown-menu a").all():
            expect(link).to_be_visible()
    else:
        assert page.get_by_test_id("staff-menu").count() == 0
    bar_links = page.locator("header #main-nav > .navbar-nav > .nav-item > a.nav-link").evaluate_all(
        "links => links.map(a => new URL(a.href).pathname)"
    )
    assert not set(bar_links) & STAFF_LINKS["admin"], bar_links


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("role", ROLES)
def test_the_header_collapses_at_375_px_and_its_menu_shows_every_link(page_for, role, language):
    page = page_for(role, language, 375)
    nav = page.locator("#main-nav")
    expect(nav).to_be_hidden()
    toggler = page.get_by_role("button", name=tr(language, "Open the menu"))
    expect(toggler).to_be_visible()
    # Collapsed, the bar is the brand and the toggler, side by side.
    items = page.evaluate(BAR_ITEMS)
    assert len(items) == 2 and max(i["top"] for i in items) < min(i["bottom"] for i in items), items
    toggler.click()
    expect(nav).to_be_visible()
    expect(toggler).to_have_attribute("aria-expanded", "true")
    if STAFF_LINKS[role]:
        page.get_by_test_id("staff-menu").locator("[data-bs-toggle=dropdown]").click()
        assert staff_menu_links(page) == STAFF_LINKS[role]
    for control in nav.locator("a, button").all():
        expect(control).to_be_visible()
        box = control.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 375, (control.inner_text(), box)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375


def test_the_portal_has_a_favicon_and_favicon_ico_is_found(browser, live_server):
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(live_server.url)
        icon = page.locator("head link[rel=icon]")
        expect(icon).to_have_count(1)
        assert page.request.get(icon.evaluate("link => link.href")).status == 200
        response = page.request.get(f"{live_server.url}/favicon.ico")  # follows redirects
        assert response.status == 200
        assert response.headers["content-type"].startswith("image/")
    finally:
        context.close()
