"""Playwright in Chromium: the staff side, end to end, in English and in Vietnamese.

An agent claims a case, asks the complainant for information (the SLA clock pauses), the
complainant answers from their account and the agent resolves it; a manager finds a case
the SLA sweep escalated to their level and hands it to a named agent. Every label and
message is read from the real catalogue (locale/vi/LC_MESSAGES), so the Vietnamese run
clicks the Vietnamese buttons; role and label locators prove the pages are accessible.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone, translation
from django.utils.functional import Promise
from playwright.sync_api import Locator, Page, expect

from accounts.models import Role, User
from common.times import duration_since, when
from complaints.models import Complaint, EventKind, Status
from escalation.models import Escalation
from tests.conftest import authenticator_for, type_code
from tests.factories import PASSWORD, make_complaint, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LANGUAGES = pytest.mark.parametrize("language", ["en", "vi"])
BROWSER_LOCALE = {"en": "en-US", "vi": "vi-VN"}


def tr(language: str, msgid: str | Promise, **params: object) -> str:
    """`msgid` (or a lazy label) as the portal shows it in `language`, read from the catalogue."""
    with translation.override("en"):
        english = str(msgid)
    with translation.override(language):
        text = str(msgid) if isinstance(msgid, Promise) else translation.gettext(msgid)
    if language != "en":
        assert text != english, f"no {language} translation for {english!r}"
    return text % params if params else text


def pattern(language: str, msgid: str, placeholder: str) -> re.Pattern[str]:
    """A regex for a translated message whose `%(placeholder)s` is any text (e.g. a duration)."""
    text = re.escape(tr(language, msgid))
    return re.compile(text.replace(re.escape(f"%({placeholder})s"), ".+"))


def visible_text(html: str) -> str:
    """A translated label that carries markup (e.g. a visually hidden span) as read aloud."""
    return re.sub(r"<[^>]+>", "", html)


class Browsing:
    """A browser context in `language` whose pages record every response that was an error."""

    def __init__(self, browser, language: str) -> None:
        self.context = browser.new_context(locale=BROWSER_LOCALE[language])
        self.errors: list[str] = []

    def new_page(self) -> Page:
        page = self.context.new_page()
        page.on(
            "response",
            lambda response: (
                response.status >= 400
                and not response.url.endswith("/favicon.ico")
                and self.errors.append(f"{response.status} {response.request.method} {response.url}")
            ),
        )
        page.on("pageerror", lambda error: self.errors.append(f"script error: {error}"))
        return page

    def close(self) -> None:
        self.context.close()


def sign_in(page: Page, base_url: str, username: str, language: str) -> None:
    """Sign in through the real login form, then the code step for whoever has an authenticator
    (every member of staff); the portal then speaks `language`."""
    device = authenticator_for(User.objects.get(username=username))
    page.goto(f"{base_url}/accounts/login/")
    expect(page.locator("html")).to_have_attribute("lang", language)
    page.get_by_label(tr(language, "Username or e-mail")).fill(username)
    page.get_by_label(tr(language, "Password")).fill(PASSWORD)
    page.get_by_role("button", name=tr(language, "Sign in"), exact=True).click()
    if device is not None:
        type_code(page, device)
    page.wait_for_url(f"{base_url}/")
    expect(page.locator("html")).to_have_attribute("lang", language)
    expect(page.get_by_role("button", name=tr(language, "Sign out"))).to_be_visible()


def expect_message(page: Page, language: str, msgid: str) -> None:
    expect(page.get_by_role("status").filter(has_text=tr(language, msgid))).to_be_visible()


def open_action(panel: Locator, label: str) -> None:
    """Unfold one action of the staff panel (a <details> whose <summary> reads exactly `label`)."""
    panel.locator("summary").filter(has_text=re.compile(rf"^\s*{re.escape(label)}\s*$")).click()


def expect_status(page: Page, language: str, status: Status, *, staff: bool = True) -> None:
    """The status line at the top of the case page (staff and the complainant word the wait
    each from their side)."""
    line = page.get_by_role("main").locator("header p").filter(has_text=tr(language, "Status:"))
    waiting = staff and status == Status.AWAITING_COMPLAINANT
    label = "Waiting for the complainant" if waiting else status.label
    expect(line.locator(".badge")).to_have_text(tr(language, label))


def field_label(language: str, msgid: str, context: str | None = None) -> re.Pattern:
    """A required field's label as read (crispy marks it with an asterisk), whole."""
    with translation.override(language):
        text = translation.pgettext(context, msgid) if context else translation.gettext(msgid)
    return re.compile(rf"^{re.escape(text)}\*?$")


@LANGUAGES
def test_an_agent_claims_asks_for_information_and_resolves_after_the_answer(browser, live_server, language):
    base = live_server.url
    complainant = make_user(first_name="Lan", last_name="Nguyễn", preferred_language=language)
    agent = make_user(role=Role.AGENT, first_name="Minh", last_name="Trần", preferred_language=language)
    complaint = make_complaint(
        by=complainant,
        now=timezone.now(),
        language=language,
        contact_email=complainant.email,
        subject="OTP codes stopped arriving",
    )
    reference = complaint.reference
    question = "Which phone number did you register with the provider?"
    answer = "The old number ends in 0912; the new one ends in 0987."
    summary = "The provider moved your account to the new number; OTP codes arrive again."

    staff = Browsing(browser, language)
    person = Browsing(browser, language)
    try:
        # The agent signs in and claims the case from the Unassigned tab.
        page = staff.new_page()
        sign_in(page, base, agent.username, language)
        navigation = page.get_by_role("navigation", name=tr(language, "Main navigation"))
        navigation.get_by_role("button", name=tr(language, "Staff pages")).click()
        navigation.get_by_role("link", name=tr(language, "Queue"), exact=True).click()
        page.wait_for_url(f"{base}/staff/queue/")
        expect(page.get_by_role("heading", level=1)).to_have_text(tr(language, "Queue"))
        page.get_by_role("link", name=tr(language, "Unassigned"), exact=True).click()
        page.wait_for_url(f"{base}/staff/queue/unassigned/")
        queue = page.get_by_role("table", name=tr(language, "Cases, nearest deadline first"))
        row = queue.get_by_role("row").filter(has_text=reference)
        expect(row).to_have_count(1)
        expect(row).to_contain_text(tr(language, "Nobody"))
        claim = visible_text(
            tr(language, 'Claim<span class="visually-hidden"> %(reference)s</span>', reference=reference)
        )
        row.get_by_role("button", name=claim, exact=True).click()
        page.wait_for_url(f"{base}/staff/queue/unassigned/")
        expect_message(page, language, "The case was assigned.")
        expect(page.get_by_text(tr(language, "No cases here."))).to_be_visible()

        page.get_by_role("link", name=tr(language, "Mine"), exact=True).click()
        page.wait_for_url(f"{base}/staff/queue/mine/")
        row = page.get_by_role("table").get_by_role("row").filter(has_text=reference)
        expect(row).to_contain_text("Minh Trần")
        expect(row).to_contain_text(tr(language, Status.NEW.label))

        # The case page: the staff panel shows who handles it; ask for information.
        row.get_by_role("link", name=reference).click()
        page.wait_for_url(f"{base}/staff/cases/{reference}/")
        panel = page.get_by_role("region", name=tr(language, "Work on this case"))
        expect(panel.get_by_test_id("assignee")).to_contain_text(f"{tr(language, 'Handled by:')} Minh Trần")
        open_action(panel, tr(language, "Ask the complainant for information"))
        panel.get_by_label(tr(language, "What do you need from the complainant?")).fill(question)
        panel.get_by_role("button", name=tr(language, "Ask and pause the clock")).click()
        page.wait_for_url(f"{base}/staff/cases/{reference}/")
        expect_message(
            page,
            language,
            "The complainant was asked for information. The SLA clock is paused until they answer.",
        )
        expect_status(page, language, Status.AWAITING_COMPLAINANT)
        deadlines = page.get_by_role("region", name=tr(language, "Deadlines"))
        # The question answered the first response; the resolution clock is paused.
        expect(deadlines).to_contain_text(pattern(language, "Answered %(date)s", "date"))
        paused = tr(language, "paused while we wait for the complainant")
        expect(deadlines.get_by_text(paused, exact=True)).to_have_count(1)
        complaint.refresh_from_db()
        assert complaint.status == Status.AWAITING_COMPLAINANT
        assert complaint.clock_paused_at is not None
        assert complaint.first_responded_at is not None

        # The complainant, on their own device, answers from their account.
        own = person.new_page()
        sign_in(own, base, complainant.username, language)
        own.get_by_role("link", name=tr(language, "My complaints"), exact=True).click()
        own.wait_for_url(f"{base}/complaints/mine/")
        own.get_by_role("link", name="OTP codes stopped arriving").click()
        own.wait_for_url(f"{base}/complaints/{reference}/")
        expect_status(own, language, Status.AWAITING_COMPLAINANT, staff=False)
        expect(own.get_by_test_id("timeline")).to_contain_text(question)
        expect(own.get_by_role("region", name=tr(language, "Work on this case"))).to_have_count(0)
        reply = own.get_by_role("region", name=tr(language, "Write to the support team"))
        expect(reply).to_contain_text(
            tr(language, "We asked you for information. Your answer restarts the handling of your complaint.")
        )
        reply.get_by_label(tr(language, "Your message")).fill(answer)
        reply.get_by_role("button", name=tr(language, "Send"), exact=True).click()
        own.wait_for_url(f"{base}/complaints/{reference}/")
        expect_message(own, language, "Your message was added.")
        expect_status(own, language, Status.OPEN)
        complaint.refresh_from_db()
        assert complaint.status == Status.OPEN
        assert complaint.clock_paused_at is None

        # Back with the agent: the answer is there; resolve with a summary.
        page.reload()
        expect_status(page, language, Status.OPEN)
        expect(page.get_by_test_id("timeline")).to_contain_text(answer)
        expect(deadlines.get_by_text(tr(language, "paused while we wait for you"))).to_have_count(0)
        open_action(panel, tr(language, "Resolve"))
        panel.get_by_label(tr(language, "Resolution summary")).fill(summary)
        panel.get_by_label(field_label(language, "Cause")).select_option(index=1)  # the category's first
        panel.get_by_label(field_label(language, "Outcome", "whether a complaint is upheld")).select_option(
            label=tr(language, "Upheld")
        )
        panel.get_by_label(field_label(language, "Remedy")).select_option(
            label=tr(language, "Access restored")
        )
        panel.get_by_role("button", name=tr(language, "Resolve the case")).click()
        page.wait_for_url(f"{base}/staff/cases/{reference}/")
        expect_message(page, language, "The case was resolved; the complainant was told.")
        expect_status(page, language, Status.RESOLVED)
        expect(page.get_by_role("region", name=tr(language, "Resolution"), exact=True)).to_contain_text(
            summary
        )

        assert staff.errors == [] and person.errors == []
    finally:
        staff.close()
        person.close()

    complaint.refresh_from_db()
    assert complaint.status == Status.RESOLVED
    assert complaint.cause is not None and (complaint.outcome, complaint.remedy) == (
        "upheld",
        "access_restored",
    )
    assert complaint.resolution_summary == summary
    assert complaint.assignee == agent
    events = list(
        complaint.events.order_by("created_at", "pk").values_list("kind", "actor", "public", "body")
    )
    assert events == [
        (EventKind.SUBMITTED, complainant.pk, True, ""),
        (EventKind.ASSIGNED, agent.pk, False, ""),
        # Asking for information triages the new case first.
        (EventKind.TRIAGED, agent.pk, True, ""),
        (EventKind.INFO_REQUESTED, agent.pk, True, question),
        (EventKind.REPLY, complainant.pk, True, answer),
        # The answer puts the case back in the agent's hands.
        (EventKind.STATUS_CHANGED, complainant.pk, True, ""),
        (EventKind.RESOLVED, agent.pk, True, summary),
    ]
    resumed = complaint.events.get(kind=EventKind.STATUS_CHANGED)
    assert resumed.payload == {"from": Status.AWAITING_COMPLAINANT, "to": Status.OPEN}


def escalated_to_managers(language: str) -> Complaint:
    """A complaint filed a month ago and never touched, then one SLA sweep now: both of its
    deadlines are missed and each breach moves it a rung up, to the manager level."""
    complaint = make_complaint(now=timezone.now() - timedelta(days=30), language=language)
    out = StringIO()
    call_command("sla_sweep", at=timezone.now().isoformat(), stdout=out)
    assert "breached 2, escalated 2" in out.getvalue(), out.getvalue()
    complaint.refresh_from_db()
    assert complaint.escalation_level == 2
    reasons = list(complaint.escalations.order_by("created_at", "pk").values_list("reason", "to_level"))
    assert reasons == [("first_response_breached", 1), ("resolution_breached", 2)]
    return complaint


def shown_date(language: str, moment: datetime) -> str:
    """A moment as the pages print it (common.times.when, in the portal's time zone)."""
    with translation.override(language):
        return when(moment)


@LANGUAGES
def test_a_manager_hands_a_case_the_sweep_escalated_to_a_named_agent(browser, live_server, language):
    base = live_server.url
    manager = make_user(role=Role.MANAGER, first_name="Quang", last_name="Phạm", preferred_language=language)
    agent = make_user(role=Role.AGENT, first_name="Hoa", last_name="Lê", preferred_language=language)
    complaint = escalated_to_managers(language)
    reference = complaint.reference
    assert complaint.assignee is None

    staff = Browsing(browser, language)
    try:
        page = staff.new_page()
        sign_in(page, base, manager.username, language)
        navigation = page.get_by_role("navigation", name=tr(language, "Main navigation"))
        navigation.get_by_role("button", name=tr(language, "Staff pages")).click()
        navigation.get_by_role("link", name=tr(language, "Escalated cases"), exact=True).click()
        page.wait_for_url(f"{base}/staff/escalated/")
        expect(page.get_by_role("heading", level=1)).to_have_text(tr(language, "Escalated cases"))
        table = page.get_by_role("table", name=tr(language, "Escalated cases, oldest breach first"))
        row = table.get_by_role("row").filter(has_text=reference)
        expect(row).to_have_count(1)
        cells = row.get_by_role("cell")
        # Reference, subject, why (what took it up last, when, how long ago), the deadline
        # that broke first (when, how long ago), level, owner, actions.
        expect(cells.nth(2)).to_contain_text(tr(language, "The resolution deadline was missed"))
        expect(cells.nth(2)).to_contain_text(shown_date(language, complaint.resolution_due_at))
        expect(cells.nth(2)).to_contain_text(pattern(language, "%(ago)s ago", "ago"))
        expect(cells.nth(3)).to_contain_text(tr(language, "First response deadline"))
        expect(cells.nth(3)).to_contain_text(shown_date(language, complaint.first_response_due_at))
        expect(cells.nth(3)).to_contain_text(pattern(language, "%(ago)s ago", "ago"))
        expect(cells.nth(4)).to_have_text({"en": "Manager", "vi": "Quản lý"}[language])  # the ladder's names
        expect(cells.nth(5)).to_have_text(tr(language, "Nobody"))
        expect(row.get_by_role("button", name=tr(language, "Take ownership"))).to_be_visible()

        row.get_by_label(tr(language, "Reassign %(reference)s to", reference=reference)).select_option(
            label="Hoa Lê"
        )
        row.get_by_role("button", name=tr(language, "Reassign"), exact=True).click()
        page.wait_for_url(f"{base}/staff/escalated/")
        expect_message(page, language, "The case was assigned.")
        row = page.get_by_role("table").get_by_role("row").filter(has_text=reference)
        expect(row.get_by_role("cell").nth(5)).to_have_text("Hoa Lê")
        assert staff.errors == []
    finally:
        staff.close()

    complaint.refresh_from_db()
    assert complaint.assignee == agent
    assert complaint.escalation_level == 2
    assigned = complaint.events.order_by("-created_at", "-pk").first()
    assert (assigned.kind, assigned.actor, assigned.public) == (EventKind.ASSIGNED, manager, False)
    assert assigned.payload == {"from": None, "to": agent.pk}
    assert complaint.events.filter(kind=EventKind.ASSIGNED).count() == 1
    assert Escalation.objects.filter(complaint=complaint).count() == 2
    assert complaint.status == Status.NEW  # handing a case over does not triage it


# Durations are common.times' words ("2 ngày 3 giờ"), translated in locale/vi.
def test_durations_on_vietnamese_staff_pages_are_in_vietnamese(browser, live_server):
    agent = make_user(role=Role.AGENT, preferred_language="vi")
    complaint = make_complaint(now=timezone.now() - timedelta(days=2, hours=3))
    staff = Browsing(browser, "vi")
    try:
        page = staff.new_page()
        sign_in(page, live_server.url, agent.username, "vi")
        page.goto(f"{live_server.url}/staff/queue/unassigned/")
        row = page.get_by_role("table").get_by_role("row").filter(has_text=complaint.reference)
        age = row.get_by_role("cell").nth(5)  # reference, category, complexity, status, level, age
        expect(age).to_have_text(re.compile(r"^\s*2\s+ngày\s+3\s+giờ\s*$"), timeout=1_000)
    finally:
        staff.close()


# "How far past" counts from the missed deadline, not from when a (late) sweep noticed it.
def test_the_manager_queue_says_how_long_ago_the_deadline_it_shows_was_missed(browser, live_server):
    manager = make_user(role=Role.MANAGER, preferred_language="en")
    complaint = escalated_to_managers("en")
    staff = Browsing(browser, "en")
    try:
        page = staff.new_page()
        sign_in(page, live_server.url, manager.username, "en")
        page.goto(f"{live_server.url}/staff/escalated/")
        row = page.get_by_role("table").get_by_role("row").filter(has_text=complaint.reference)
        missed = row.get_by_role("cell").nth(3)
        expect(missed).to_contain_text(shown_date("en", complaint.first_response_due_at))
        with translation.override("en"):
            ago = duration_since(complaint.first_response_due_at, timezone.now())
        expect(missed).to_contain_text(f"{ago} ago", timeout=1_000)
    finally:
        staff.close()
