"""Accessibility: every page a person can reach passes axe-core with no serious or critical
violation, in Vietnamese and English, at phone and desktop widths; forms work with the
keyboard alone.

axe-core runs in the page through axe-playwright-python (Axe().run(page)). Each test builds
its data once with the real services (cases in every state, a sweep that escalates, a
canned reply, evidence), signs each kind of person in once and walks the pages. Every
<details> is opened before the check, so the forms folded inside are checked too. A
failure lists rule, impact, target selectors and the page, so it can be acted on.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.contrib.auth.tokens import default_token_generator
from django.utils import timezone, translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from playwright.sync_api import BrowserContext, Page, expect

from accounts.models import Role
from complaints import services, tracking
from complaints.models import CannedReply, Complaint, Status
from complaints.services import privacy
from complaints.services.inbound import receive_raw
from escalation.sweep import sweep
from evidence.services import attach_evidence, write_dossier
from tests.conftest import CODE_STEP, authenticator_for, type_code
from tests.evidence.conftest import png, sealed, text
from tests.factories import (
    PASSWORD,
    contact_data,
    found,
    fresh_totp_code,
    make_complaint,
    make_user,
    totp_code,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LANGUAGES = ("vi", "en")
BROWSER_LOCALE = {"en": "en-US", "vi": "vi-VN"}
WIDTHS = {"phone": 375, "desktop": 1280}
BLOCKING = {"serious", "critical"}
AXE = Axe()
MAIL_CORPUS = Path(__file__).resolve().parent / "mail_corpus"

# Rules switched off, each with the reason it is a false positive here. Keep this narrow.
AXE_OPTIONS: dict = {"resultTypes": ["violations"]}


def tr(language: str, msgid: str) -> str:
    with translation.override(language):
        return translation.gettext(msgid)


# --- data --------------------------------------------------------------------------------


@dataclass
class World:
    language: str
    complainant: object
    agent: object
    lead: object
    manager: object
    privacy_officer: object
    cases: dict[str, Complaint]
    guest_case: Complaint
    guest_token: str
    reset_path: str


def build_world(language: str) -> World:
    """People in every role and cases in every state, made with the real services."""
    now = timezone.now()
    named = {"preferred_language": language}
    complainant = make_user(first_name="Lan", last_name="Nguyễn", **named)
    agent = make_user(role=Role.AGENT, first_name="Minh", last_name="Trần", **named)
    lead = make_user(role=Role.TEAM_LEAD, first_name="Hoa", last_name="Lê", **named)
    manager = make_user(role=Role.MANAGER, first_name="Quang", last_name="Phạm", **named)
    privacy_officer = make_user(role=Role.PRIVACY_OFFICER, first_name="Thu", last_name="Võ", **named)
    CannedReply.objects.create(
        title_vi="Đã tiếp nhận",
        title_en="Acknowledgement",
        body_vi="Chúng tôi đã nhận khiếu nại.",
        body_en="We received your complaint.",
    )

    def mine(*, when=now, subject: str, **extra) -> Complaint:
        return make_complaint(
            by=complainant,
            now=when,
            language=language,
            contact_email=complainant.email,
            subject=subject,
            **extra,
        )

    # Aged cases first: the sweep escalates them (one a rung, one to the managers).
    escalated = mine(when=now - timedelta(days=30), subject="Refund never arrived")
    breached = mine(when=now - timedelta(hours=30), subject="Support never answers")
    sweep(now=now)

    new = mine(subject="OTP codes stopped arriving", contacts=[contact_data()])
    attach_evidence(
        complaint=new,
        uploads=[
            (sealed("login-error.png", png()), "The error on the login screen"),
            (sealed("call.txt", text()), ""),
        ],
        by=complainant,
        now=now,
    )
    new = Complaint.objects.get(pk=new.pk)
    new = services.assign_complaint(complaint=new, assignee=agent, by=agent, now=now, version=new.version)

    awaiting = mine(subject="Account locked after password change")
    awaiting = services.assign_complaint(
        complaint=awaiting, assignee=agent, by=agent, now=now, version=awaiting.version
    )
    awaiting = services.request_information(
        complaint=awaiting,
        body="Which e-mail address is on the account?",
        by=agent,
        now=now,
        version=awaiting.version,
    )

    resolved = mine(subject="App crashes on payment")
    resolved = services.assign_complaint(
        complaint=resolved, assignee=agent, by=agent, now=now, version=resolved.version
    )
    resolved = services.resolve_complaint(
        complaint=resolved,
        summary="The provider fixed the app.",
        by=agent,
        now=now,
        version=resolved.version,
        **found(resolved),
    )

    closed = mine(subject="Parcel not delivered")
    closed = services.resolve_complaint(
        complaint=closed,
        summary="The parcel was re-sent.",
        by=agent,
        now=now,
        version=closed.version,
        **found(closed, remedy="replacement"),
    )
    closed = services.accept_resolution(complaint=closed, by=complainant, now=now)

    withdrawn = mine(subject="Wrong bill")
    withdrawn = services.withdraw_complaint(
        complaint=withdrawn, by=complainant, now=now, reason="Sorted out."
    )

    guest_case = make_complaint(now=now, language=language, subject="Locked out as a guest")
    token = tracking.issue_tracking_token(complaint=guest_case, now=now)
    uid = urlsafe_base64_encode(force_bytes(complainant.pk))
    reset_path = f"/accounts/password/reset/{uid}/{default_token_generator.make_token(complainant)}/"

    cases = {
        "new": new,
        "awaiting": awaiting,
        "resolved": resolved,
        "closed": closed,
        "withdrawn": withdrawn,
        "escalated": Complaint.objects.get(pk=escalated.pk),
        "breached": Complaint.objects.get(pk=breached.pk),
    }
    assert cases["escalated"].escalation_level == 2
    assert cases["breached"].escalation_level == 1
    assert cases["awaiting"].status == Status.AWAITING_COMPLAINANT
    assert cases["closed"].status == Status.CLOSED
    return World(
        language, complainant, agent, lead, manager, privacy_officer, cases, guest_case, token, reset_path
    )


# --- browsing and checking --------------------------------------------------------------


@dataclass
class Audit:
    """Runs axe on pages and collects every blocking violation, with where it was found."""

    language: str
    width: int
    problems: list[str] = field(default_factory=list)
    pages: int = 0

    def check(self, page: Page, name: str) -> None:
        page.wait_for_load_state("load")
        # Fold out every <details> so the forms inside them are checked too.
        page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
        results = AXE.run(page, options=AXE_OPTIONS)
        self.pages += 1
        where = f"[{self.language} {self.width}px] {name} ({page.url})"
        # Two checks axe leaves to us: the page says which language it is in (a screen reader
        # picks its voice from it), and no id is used twice (labels and ARIA point at ids).
        lang = page.evaluate("document.documentElement.lang")
        if lang != self.language:
            self.problems.append(f"{where}: <html lang={lang!r}>, expected {self.language!r}")
        duplicates = page.evaluate(
            """() => {
                const seen = {};
                document.querySelectorAll('[id]').forEach(el => { seen[el.id] = (seen[el.id] || 0) + 1; });
                return Object.keys(seen).filter(id => seen[id] > 1);
            }"""
        )
        if duplicates:
            self.problems.append(f"{where}: duplicate ids {duplicates}")
        for violation in results.response["violations"]:
            if violation["impact"] not in BLOCKING:
                continue
            for node in violation["nodes"]:
                self.problems.append(
                    f"{where}: {violation['id']} ({violation['impact']})"
                    f" at {' '.join(map(str, node['target']))}"
                    f"\n    {violation['help']}\n    {node.get('failureSummary', '').strip()}"
                    f"\n    {node['html'][:200]}"
                )

    def assert_clean(self) -> None:
        assert not self.problems, f"{len(self.problems)} serious/critical axe violations:\n" + "\n".join(
            self.problems
        )


def new_context(browser, language: str, width: int) -> BrowserContext:
    return browser.new_context(locale=BROWSER_LOCALE[language], viewport={"width": width, "height": 900})


def password_step(page: Page, base: str, user, language: str):
    """The sign-in form; returns the person's authenticator (set up for staff), whose code
    the next page asks for, or None."""
    device = authenticator_for(user)
    page.goto(f"{base}/accounts/login/")
    page.get_by_label(tr(language, "Username or e-mail")).fill(user.username)
    page.locator("input[name=password]").fill(PASSWORD)
    page.get_by_role("button", name=tr(language, "Sign in"), exact=True).click()
    return device


def sign_in(page: Page, base: str, user, language: str) -> None:
    device = password_step(page, base, user, language)
    if device is not None:
        type_code(page, device)
    page.wait_for_url(f"{base}/")
    expect(page.locator("html")).to_have_attribute("lang", language)


def intake_mail(language: str, *, to: str) -> bytes:
    """An e-mail to the intake address that matches no case: it opens an incomplete complaint."""
    message = EmailMessage()
    message["From"] = "Lan <lan.mail@example.org>"
    message["To"] = to
    message["Subject"] = "Ví bị khoá" if language == "vi" else "My wallet is locked"
    message["Message-ID"] = make_msgid(domain="mail.example.org")
    message.set_content("Tôi không rút được tiền.\n" if language == "vi" else "I cannot withdraw my money.\n")
    return message.as_bytes()


def submit(page: Page, form_selector: str, expected: int) -> None:
    """Send a form as it is (often empty, to see its validation errors); expect that status."""
    with page.expect_navigation() as navigation:
        page.locator(form_selector).evaluate("form => form.requestSubmit()")
    assert navigation.value.status == expected, f"{page.url}: {navigation.value.status}, not {expected}"


def visit(audit: Audit, page: Page, base: str, pages: list[tuple]) -> None:
    """Open each (name, path[, expected status]) and check it."""
    for name, path, *status in pages:
        response = page.goto(base + path)
        expected = status[0] if status else 200
        assert response.status == expected, f"{name} ({path}): {response.status}, not {expected}"
        audit.check(page, name)


@pytest.fixture(autouse=True)
def _generous_rate_limits(settings) -> Iterator[None]:
    """Sign-ins, filings and reminders here are many and quick; the limits are lifted, and
    set to zero only where a test wants the 429 page. The counters live in the test cache
    (Redis): cleared after each test, so no other test inherits these attempts."""
    from django.core.cache import cache

    for name in (
        "LOGIN_LIMIT_PER_USER_IP",
        "LOGIN_LIMIT_PER_IP",
        "INTAKE_LIMIT_PER_IP",
        "INTAKE_LIMIT_PER_EMAIL",
        "REMINDER_LIMIT_PER_IP",
        "REMINDER_LIMIT_PER_EMAIL",
        "FIND_COMPLAINT_LIMIT",
        "PASSWORD_RESET_LIMIT_PER_IP",
        "PASSWORD_RESET_LIMIT_PER_EMAIL",
    ):
        setattr(settings, name, 1_000_000)
    yield
    cache.clear()


@pytest.fixture
def contexts(browser) -> Iterator[Callable[[str, int], BrowserContext]]:
    opened: list[BrowserContext] = []

    def open_(language: str, width: int) -> BrowserContext:
        context = new_context(browser, language, width)
        opened.append(context)
        return context

    yield open_
    for context in opened:
        context.close()


# --- every page -------------------------------------------------------------------------


@pytest.mark.parametrize("width", WIDTHS.values(), ids=WIDTHS.keys())
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_page_has_no_serious_or_critical_axe_violation(
    browser, live_server, settings, contexts, language, width
):
    world = build_world(language)
    base = live_server.url
    audit = Audit(language, width)
    case = {name: complaint.reference for name, complaint in world.cases.items()}

    # A guest: public pages, the forms with their errors, the tracking link, error pages.
    guest = contexts(language, width).new_page()
    visit(
        audit,
        guest,
        base,
        [
            ("home", "/"),
            ("intake form", "/complaints/new/"),
            ("find my complaint", "/complaints/find/"),
            ("privacy notice", "/privacy/"),
            ("sign in", "/accounts/login/"),
            ("sign up", "/accounts/signup/"),
            ("password reset", "/accounts/password/reset/"),
            ("password reset sent", "/accounts/password/reset/sent/"),
            ("password reset complete", "/accounts/password/reset/complete/"),
            ("password reset, used link", "/accounts/password/reset/MQ/bad-token/"),
            ("page not found", "/no-such-page/", 404),
            ("case not found", "/complaints/KN-0000-0000/", 404),
        ],
    )
    for name, path, expected in [
        ("intake form with errors", "/complaints/new/", 200),
        ("find my complaint with errors", "/complaints/find/", 200),
        ("sign in with errors", "/accounts/login/", 200),
        ("sign up with errors", "/accounts/signup/", 200),
        ("password reset with errors", "/accounts/password/reset/", 200),
    ]:
        guest.goto(base + path)
        submit(guest, "main form[method=post]", expected)
        audit.check(guest, name)

    guest.goto(f"{base}{world.reset_path}")
    guest.wait_for_url(re.compile(r"/set-password/$"))
    audit.check(guest, "choose a new password")
    submit(guest, "main form[method=post]", 200)
    audit.check(guest, "choose a new password with errors")

    guest.goto(f"{base}/complaints/track/{world.guest_token}/")
    guest.wait_for_url(f"{base}/complaints/{world.guest_case.reference}/")
    audit.check(guest, "case page from the tracking link (guest, new)")
    visit(
        audit, guest, base, [("complaint submitted", f"/complaints/{world.guest_case.reference}/submitted/")]
    )

    # A complaint opened by an e-mail to the intake address: its page asks to complete it.
    opened = receive_raw(intake_mail(language, to=settings.INBOUND_EMAIL_ADDRESS)).complaint
    opened_token = tracking.issue_tracking_token(complaint=opened, now=timezone.now())
    guest.goto(f"{base}/complaints/track/{opened_token}/")
    guest.wait_for_url(f"{base}/complaints/{opened.reference}/")
    audit.check(guest, "case opened by e-mail, to complete (guest)")
    submit(guest, "form[action$='/complete/']", 400)
    audit.check(guest, "case opened by e-mail, completed with errors (guest)")

    # Too many requests (the find form, sign-in), and an expired form (CSRF).
    settings.FIND_COMPLAINT_LIMIT = 0
    guest.goto(f"{base}/complaints/find/")
    guest.locator("input[name=reference]").fill(world.guest_case.reference)
    guest.locator("input[name=email]").fill("someone@example.org")
    submit(guest, "main form[method=post]", 429)
    audit.check(guest, "find my complaint, too many requests (429)")
    settings.LOGIN_LIMIT_PER_USER_IP = 0
    guest.goto(f"{base}/accounts/login/")
    guest.locator("input[name=username]").fill(world.complainant.username)
    submit(guest, "main form[method=post]", 429)
    audit.check(guest, "sign in, too many attempts (429)")
    settings.LOGIN_LIMIT_PER_USER_IP = 1_000_000
    guest.goto(f"{base}/complaints/find/")
    guest.context.clear_cookies()
    submit(guest, "main form[method=post]", 403)
    audit.check(guest, "form expired (403 CSRF)")

    # The complainant, signed in: their pages and their cases in every state.
    own = contexts(language, width).new_page()
    sign_in(own, base, world.complainant, language)
    audit.check(own, "home, signed in")
    visit(
        audit,
        own,
        base,
        [
            ("profile", "/accounts/profile/"),
            ("change password", "/accounts/password/change/"),
            ("password changed", "/accounts/password/change/done/"),
            ("my complaints", "/complaints/mine/"),
            ("case: new, with evidence and contacts (complainant)", f"/complaints/{case['new']}/"),
            ("case: awaiting the complainant's answer (complainant)", f"/complaints/{case['awaiting']}/"),
            ("case: resolved, accept or dispute (complainant)", f"/complaints/{case['resolved']}/"),
            ("case: closed (complainant)", f"/complaints/{case['closed']}/"),
            ("case: withdrawn (complainant)", f"/complaints/{case['withdrawn']}/"),
            (
                "case: deadline missed, may ask for escalation (complainant)",
                f"/complaints/{case['breached']}/",
            ),
            ("case: escalated to managers (complainant)", f"/complaints/{case['escalated']}/"),
        ],
    )
    own.goto(f"{base}/complaints/{case['awaiting']}/")
    submit(own, f"form[action$='/complaints/{case['awaiting']}/reply/']", 400)
    audit.check(own, "case: reply with errors (complainant)")
    own.goto(f"{base}/complaints/{case['resolved']}/")
    submit(own, f"form[action$='/complaints/{case['resolved']}/dispute/']", 400)
    audit.check(own, "case: dispute with errors (complainant)")
    own.goto(f"{base}/accounts/profile/")
    own.locator("main form[method=post] input[type=email]").fill("")
    submit(own, "main form[method=post]", 200)
    audit.check(own, "profile with errors")
    own.goto(f"{base}/accounts/password/change/")
    submit(own, "main form[method=post]", 200)
    audit.check(own, "change password with errors")
    settings.REMINDER_LIMIT_PER_IP = 0
    own.goto(f"{base}/complaints/{case['new']}/")
    submit(own, f"form[action$='/complaints/{case['new']}/remind/']", 429)
    audit.check(own, "reminder, too many requests (429)")

    # The second factor, from the profile: off, setting up an app (sent empty first), the
    # recovery codes shown once, on.
    visit(
        audit,
        own,
        base,
        [
            ("second factor, off", "/accounts/second-factor/"),
            ("set up an authenticator app", "/accounts/second-factor/set-up/"),
        ],
    )
    submit(own, "main form[method=post]", 200)
    audit.check(own, "set up an authenticator app with errors")
    own.locator("main input[name=code]").fill(totp_code(own.get_by_test_id("secret").inner_text()))
    submit(own, "main form[method=post]", 200)
    expect(own.get_by_test_id("recovery-codes").locator("li")).to_have_count(10)
    audit.check(own, "recovery codes, shown once")
    visit(audit, own, base, [("second factor, on", "/accounts/second-factor/")])

    # The dossier a complainant downloads: its page inside the ZIP.
    archive = zipfile.ZipFile(
        io.BytesIO(write_dossier(complaint=world.cases["new"], language=language).read())
    )
    dossier = contexts(language, width).new_page()
    dossier.set_content(archive.read("dossier.html").decode())
    audit.check(dossier, "dossier.html in the dossier ZIP")

    # An agent: the queue's tabs, its empty state and a bad filter; cases with the staff panel.
    # After the password, the code step (sent empty first).
    agent = contexts(language, width).new_page()
    device = password_step(agent, base, world.agent, language)
    agent.wait_for_url(CODE_STEP)
    audit.check(agent, "second factor: type your code")
    submit(agent, "main form[method=post]", 200)
    audit.check(agent, "second factor: type your code, with errors")
    type_code(agent, device)
    agent.wait_for_url(f"{base}/")
    visit(
        audit,
        agent,
        base,
        [
            ("queue: mine", "/staff/queue/"),
            ("queue: unassigned", "/staff/queue/unassigned/"),
            ("queue: my team's", "/staff/queue/team/"),
            ("queue: nothing found", "/staff/queue/?q=nothing+matches+this"),
            ("queue: bad filter (400)", "/staff/queue/?level=-4", 400),
            ("case: new (agent)", f"/complaints/{case['new']}/"),
            ("case: awaiting the complainant (agent)", f"/complaints/{case['awaiting']}/"),
            ("case: resolved (agent)", f"/complaints/{case['resolved']}/"),
            ("case: deadline missed (agent)", f"/complaints/{case['breached']}/"),
        ],
    )
    assert agent.get_by_test_id("queue").count() == 0  # the last queue page was the empty one
    agent.goto(f"{base}/complaints/{case['new']}/")
    submit(agent, "form[action$='/request_info/']", 400)
    audit.check(agent, "case: request information with errors (agent)")

    # A team lead hands cases out, and reviews the e-mail that did not land by itself.
    receive_raw((MAIL_CORPUS / "gmail_reply_vi.eml").read_bytes())
    receive_raw((MAIL_CORPUS / "out_of_office_en.eml").read_bytes())
    lead = contexts(language, width).new_page()
    sign_in(lead, base, world.lead, language)
    visit(
        audit,
        lead,
        base,
        [
            ("queue: unassigned (lead)", "/staff/queue/unassigned/"),
            ("queue: my team's (lead)", "/staff/queue/team/"),
            ("e-mail to review (lead)", "/staff/mail/"),
            ("e-mail: automatic replies (lead)", "/staff/mail/automatic/"),
            ("case: deadline missed (lead)", f"/complaints/{case['breached']}/"),
            ("case: opened by e-mail, incomplete (lead)", f"/complaints/{opened.reference}/"),
        ],
    )

    # A manager: the escalated queue, the SLA dashboard, an escalated case.
    manager = contexts(language, width).new_page()
    sign_in(manager, base, world.manager, language)
    visit(
        audit,
        manager,
        base,
        [
            ("manager queue", "/staff/escalated/"),
            ("SLA dashboard", "/staff/dashboard/"),
            ("SLA dashboard, bad period", "/staff/dashboard/?weeks=nope", 400),
            ("case: escalated to managers (manager)", f"/complaints/{case['escalated']}/"),
            ("case: closed (manager)", f"/complaints/{case['closed']}/"),
        ],
    )

    # Who saw what: the access log, as managers and privacy officers read it (the agent's,
    # the lead's and the manager's visits above are in it).
    officer = contexts(language, width).new_page()
    sign_in(officer, base, world.privacy_officer, language)
    for reader, who in ((manager, "manager"), (officer, "privacy officer")):
        visit(
            audit,
            reader,
            base,
            [
                (f"access log ({who})", "/staff/access/"),
                (f"access log, unknown reference (400, {who})", "/staff/access/?reference=KN-0000-0000", 400),
                (f"access log of a case ({who})", f"/staff/cases/{case['new']}/access/"),
            ],
        )
    # Requests about personal data, as privacy officers work them.
    request = privacy.make_request(
        complaint=world.guest_case, kind="erasure", details="Xin xoá dữ liệu", by=None, now=timezone.now()
    )
    visit(
        audit,
        officer,
        base,
        [
            ("requests about personal data", "/staff/privacy/"),
            ("requests about personal data, answered", "/staff/privacy/answered/"),
            ("a request about personal data", f"/staff/privacy/requests/{request.pk}/"),
        ],
    )

    assert audit.pages >= 74
    audit.assert_clean()


# --- the keyboard alone -----------------------------------------------------------------
# No clicks and no fill(): focus moves with Tab / Shift+Tab, text is typed, controls are
# worked with Enter, Space and the arrow keys, through page.keyboard only.

FOCUS_STYLE = """() => {
    const el = document.activeElement;
    const style = getComputedStyle(el);
    const box = el.getBoundingClientRect();
    return {
        tag: el.tagName.toLowerCase() + (el.id ? '#' + el.id : ''),
        focusVisible: el.matches(':focus-visible'),
        outline: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0,
        shadow: style.boxShadow !== 'none',
        onScreen: box.width > 1 && box.height > 1 && box.bottom > 0 && box.top < window.innerHeight,
    };
}"""


def expect_visible_focus(page: Page) -> None:
    """The focused control shows it: a focus ring (outline or Bootstrap's shadow), on screen."""
    # Bootstrap scrolls smoothly: give the focused control a moment to come into view.
    # (A Python loop: the portal's CSP forbids the eval() behind page.wait_for_function.)
    for _ in range(60):
        focus = page.evaluate(FOCUS_STYLE)
        if focus["onScreen"]:
            break
        page.wait_for_timeout(50)
    assert focus["focusVisible"] and (focus["outline"] or focus["shadow"]), f"no visible focus on {focus}"
    assert focus["onScreen"], f"the focused {focus['tag']} is off screen"


def tab_to(page: Page, target, *, backwards: bool = False, limit: int = 120) -> None:
    """Press Tab (or Shift+Tab) until `target` has the focus; it must have a visible focus."""
    handle = target.element_handle()
    for _ in range(limit):
        if page.evaluate("el => document.activeElement === el", handle):
            expect_visible_focus(page)
            return
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
    raise AssertionError(f"Tab never reached {target}; stuck at {page.evaluate(FOCUS_STYLE)['tag']}")


def type_into(page: Page, target, text: str) -> None:
    tab_to(page, target)
    page.keyboard.type(text)


def keyboard_sign_in(page: Page, base: str, user, language: str) -> None:
    device = authenticator_for(user)
    page.goto(f"{base}/accounts/login/")
    type_into(page, page.locator("input[name=username]"), user.username)
    type_into(page, page.locator("input[name=password]"), PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    if device is not None:
        # The code step: the field has the focus (Chromium applies autofocus at a rendering
        # after the load, so the check waits for it); the code is typed and sent with Enter.
        page.wait_for_url(CODE_STEP)
        expect(page.locator("input[name=code]")).to_be_focused()
        page.keyboard.type(fresh_totp_code(device))
        with page.expect_navigation():
            page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/")
    expect(page.locator("form[action$='/logout/'] button")).to_have_text(tr(language, "Sign out"))


def type_datetime(page: Page, target, *, date: str, time: str) -> None:
    """A datetime-local field is worked segment by segment: digits fill month and day, the
    year takes up to six digits so Tab moves on to the time, "A"/"P" picks the half of the day.
    (Debian's headless Chromium shows mm/dd/yyyy, hh:mm AM/PM for both locales.)"""
    tab_to(page, target)
    page.keyboard.type(date[:4])
    page.keyboard.type(date[4:])
    page.keyboard.press("Tab")
    page.keyboard.type(time)


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_guest_files_a_complaint_with_the_keyboard_alone(browser, live_server, contexts, language):
    base = live_server.url
    page = contexts(language, WIDTHS["phone"]).new_page()
    page.goto(f"{base}/complaints/new/")

    # Sent empty: the page comes back with the summary of errors focused.
    tab_to(page, page.get_by_role("button", name=tr(language, "Send the complaint")))
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator("#form-errors")).to_be_focused()  # waits for the page's script to move it
    expect(page.locator("#form-errors")).to_be_visible()

    # The category: the closed <select> moves through its options with the arrow keys.
    tab_to(page, page.locator("#id_subcategory"))
    page.keyboard.press("ArrowDown")
    assert page.locator("#id_subcategory").input_value() != ""
    type_into(page, page.locator("#id_provider_name"), "MoMoney")
    type_into(page, page.locator("#id_subject"), "OTP không đến")
    type_into(page, page.locator("#id_description"), "Từ hôm qua tôi không nhận được mã OTP.")
    type_into(page, page.locator("#id_desired_outcome"), "Khôi phục tài khoản.")
    type_datetime(page, page.locator("#id_occurred_at"), date="01102026", time="0930A")
    assert page.locator("#id_occurred_at").input_value() == "2026-01-10T09:30"
    type_into(page, page.locator("#id_contact_name"), "Nguyễn Thị Lan")
    type_into(page, page.locator("#id_contact_email"), "lan@example.org")
    # Consent: an unticked box, ticked with the space bar.
    tab_to(page, page.locator("#id_consent"))
    assert not page.locator("#id_consent").is_checked()
    page.keyboard.press("Space")
    assert page.locator("#id_consent").is_checked()

    tab_to(page, page.get_by_role("button", name=tr(language, "Send the complaint")))
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/complaints/KN-[0-9A-Z-]+/submitted/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(tr(language, "Your complaint was received"))
    complaint = Complaint.objects.get()
    assert (complaint.subject, complaint.provider_name) == ("OTP không đến", "MoMoney")


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_complainant_answers_and_staff_ask_with_the_keyboard_alone(
    browser, live_server, contexts, language
):
    base = live_server.url
    now = timezone.now()
    complainant = make_user(preferred_language=language)
    agent = make_user(role=Role.AGENT, preferred_language=language)
    asked = make_complaint(by=complainant, now=now, language=language, contact_email=complainant.email)
    asked = services.request_information(
        complaint=asked, body="Which phone number?", by=agent, now=now, version=asked.version
    )
    fresh = make_complaint(by=complainant, now=now, language=language, contact_email=complainant.email)

    # The complainant answers the question from the reply form.
    own = contexts(language, WIDTHS["phone"]).new_page()
    keyboard_sign_in(own, base, complainant, language)
    own.goto(f"{base}/complaints/{asked.reference}/")
    reply = own.get_by_role("region", name=tr(language, "Write to the support team"))
    type_into(own, reply.get_by_label(tr(language, "Your message")), "The number ends in 0987.")
    tab_to(own, reply.get_by_role("button", name=tr(language, "Send"), exact=True))
    with own.expect_navigation():
        own.keyboard.press("Enter")
    expect(own.get_by_role("status").filter(has_text=tr(language, "Your message was added."))).to_be_visible()
    asked.refresh_from_db()
    assert asked.status == Status.OPEN

    # An agent unfolds "Ask the complainant for information" and sends the question.
    staff = contexts(language, WIDTHS["desktop"]).new_page()
    keyboard_sign_in(staff, base, agent, language)
    staff.goto(f"{base}/complaints/{fresh.reference}/")
    panel = staff.get_by_role("region", name=tr(language, "Work on this case"))
    summary = panel.locator("summary").filter(has_text=tr(language, "Ask the complainant for information"))
    tab_to(staff, summary)
    staff.keyboard.press("Enter")
    assert summary.evaluate("el => el.parentElement.open")
    type_into(
        staff, panel.get_by_label(tr(language, "What do you need from the complainant?")), "A screenshot."
    )
    tab_to(staff, panel.get_by_role("button", name=tr(language, "Ask and pause the clock")))
    with staff.expect_navigation():
        staff.keyboard.press("Space")
    message = tr(
        language, "The complainant was asked for information. The SLA clock is paused until they answer."
    )
    expect(staff.get_by_role("status").filter(has_text=message)).to_be_visible()
    fresh.refresh_from_db()
    assert fresh.status == Status.AWAITING_COMPLAINANT


@pytest.mark.parametrize("width", WIDTHS.values(), ids=WIDTHS.keys())
def test_the_skip_link_shows_on_focus_and_moves_to_the_content(browser, live_server, contexts, width):
    page = contexts("vi", width).new_page()
    page.goto(f"{live_server.url}/complaints/new/")
    skip = page.get_by_role("link", name=tr("vi", "Skip to content"))
    # Hidden until focused: the first Tab on the page lands on it and shows it.
    assert skip.bounding_box()["width"] <= 1
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.getAttribute('href')") == "#main"
    expect_visible_focus(page)
    assert skip.bounding_box()["width"] > 20
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    # The next Tab goes to the first control of the content, past the navigation.
    page.keyboard.press("Tab")
    assert page.evaluate("document.getElementById('main').contains(document.activeElement)")
    assert page.evaluate("document.activeElement.id") != "main"


# --- the 429 and 500 pages and the admin ------------------------------------------------


@pytest.mark.parametrize("width", WIDTHS.values(), ids=WIDTHS.keys())
@pytest.mark.parametrize("language", LANGUAGES)
def test_the_429_and_500_pages_and_the_complaints_admin_have_no_serious_or_critical_axe_violation(
    browser, live_server, settings, contexts, language, width
):
    now = timezone.now()
    base = live_server.url
    audit = Audit(language, width)
    complainant = make_user(preferred_language=language)
    admin = make_user(is_staff=True, is_superuser=True, first_name="Quang", preferred_language=language)
    complaint = make_complaint(
        by=complainant, now=now, language=language, contact_email=complainant.email, contacts=[contact_data()]
    )
    complaint = services.assign_complaint(
        complaint=complaint, assignee=admin, by=admin, now=now, version=complaint.version
    )

    # Too many requests: a guest's password reset (its form again, saying when to retry), and
    # the 429 page itself (templates/429.html) after a complainant's reminder.
    guest = contexts(language, width).new_page()
    settings.PASSWORD_RESET_LIMIT_PER_IP = 0
    guest.goto(f"{base}/accounts/password/reset/")
    guest.locator("main input[type=email]").fill("someone@example.org")
    submit(guest, "main form[method=post]", 429)
    audit.check(guest, "password reset, too many requests (429)")
    settings.REMINDER_LIMIT_PER_IP = 0
    own = contexts(language, width).new_page()
    sign_in(own, base, complainant, language)
    own.goto(f"{base}/complaints/{complaint.reference}/")
    submit(own, f"form[action$='/complaints/{complaint.reference}/remind/']", 429)
    expect(own.get_by_role("heading", level=1)).to_have_text(tr(language, "Too many requests"))
    audit.check(own, "429 page")

    # The 500 page, as the server sends it when a page fails, in the visitor's language.
    settings.ROOT_URLCONF = "tests.urls_with_a_failing_page"
    visit(audit, guest, base, [("500 page", "/failing-page/", 500)])
    expect(guest.get_by_role("heading", level=1)).to_have_text(tr(language, "Something went wrong"))

    # The admin's list and change pages for complaints.
    staff = contexts(language, width).new_page()
    sign_in(staff, base, admin, language)
    visit(
        audit,
        staff,
        base,
        [
            ("admin: complaints", "/admin/complaints/complaint/"),
            ("admin: complaints, searched", "/admin/complaints/complaint/?q=nothing+matches"),
            ("admin: a complaint", f"/admin/complaints/complaint/{complaint.pk}/change/"),
        ],
    )
    assert audit.pages == 6
    audit.assert_clean()
