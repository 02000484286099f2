"""Every time a person reads is in their language and the display zone, one format per kind.

A moment is "2 Mar 2026, 10:00" / "10:00 ngày 02/03/2026", a day "2 Mar 2026" / "02/03/2026",
a length of time "2 days 3 hours" / "2 ngày 3 giờ" (`common.times`); never ISO 8601, seconds,
microseconds or "+00:00". Only machine-readable attributes (`<time datetime>`) keep ISO.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import Role
from complaints import services
from complaints.models import Notification
from complaints.notifications import render_notification
from complaints.refusals import LimitReached
from escalation import sweep as sweeping
from tests.complaints.test_views import file_as_guest
from tests.factories import contact_data, make_complaint, make_user, resolve, sign_in

pytestmark = pytest.mark.django_db

# 10:00:35.796875 in Ho Chi Minh City: seconds and microseconds that must never show.
T0 = datetime(2026, 3, 2, 3, 0, 35, 796875, tzinfo=UTC)

RAW = re.compile(
    r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}"  # ISO 8601 moment
    r"|\d{2}:\d{2}:\d{2}"  # seconds
    r"|\.\d{6}"  # microseconds
    r"|[+-]\d{2}:\d{2}\b"  # an offset
    r"|\d{2}-\d{2}-\d{4}|\d{4}-\d{2}-\d{2}"  # dates with dashes (Django's Vietnamese short form, ISO)
)
MONTHS = "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec"
# The one form of each kind, per language.
MOMENT = {
    "en": rf"\d{{1,2}} (?:{MONTHS}) \d{{4}}, \d{{2}}:\d{{2}}",
    "vi": r"\d{2}:\d{2} ngày \d{2}/\d{2}/\d{4}",
}
DAY = {"en": rf"\d{{1,2}} (?:{MONTHS}) \d{{4}}", "vi": r"\d{2}/\d{2}/\d{4}"}
UNITS = {"en": r"(?:days?|hours?|minutes?)", "vi": r"(?:ngày|giờ|phút)"}
# Anything that looks like a clock time, a date or a month name with a number.
CLOCK = re.compile(r"\d{1,2}:\d{2}")
DATEISH = {
    "en": re.compile(
        rf"(?:{MONTHS}|January|February|March|April|June|July|August|September|October|November|December)"
        rf"\.?\s+\d|\d{{1,2}}\s+(?:{MONTHS})|\d{{1,2}}/\d{{1,2}}"
    ),
    "vi": re.compile(r"\d{1,2}/\d{1,2}|[Tt]háng\s+\d|\d\s+tháng"),
}
# A duration counts days, hours and minutes (a dashboard's period alone is in weeks), in no list.
NOT_THE_DURATION_FORM = {
    "en": re.compile(
        r"\d+\s+(?:months?|years?)\b|(?:days?|hours?|minutes?),\s*\d|\ba\.m\.|\bp\.m\.|midnight|noon"
    ),
    "vi": re.compile(r"\d+\s+(?:tháng|năm)\b|(?:ngày|giờ|phút),\s*\d"),
}


def visible_text(page: str) -> str:
    """What a reader sees: the text between the tags (attributes such as <time datetime> dropped)."""
    page = re.sub(r"<(style|script)\b.*?</\1>", " ", page, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).replace("\xa0", " ").split())


def assert_times_in_the_one_format(text: str, language: str, where: str) -> None:
    """No raw time, and every clock time and date in `text` is part of the one form of its kind."""
    for pattern in (RAW, NOT_THE_DURATION_FORM[language]):
        found = pattern.search(text)
        assert found is None, (
            f"{where}: {found.group(0)!r} in …{text[max(0, found.start() - 80) : found.end() + 40]}…"
        )
    formatted = re.compile(f"{MOMENT[language]}|{DAY[language]}")
    spans = [match.span() for match in formatted.finditer(text)]

    def covered(match: re.Match) -> bool:
        return any(start <= match.start() and match.end() <= end for start, end in spans)

    for pattern in (CLOCK, DATEISH[language]):
        for match in pattern.finditer(text):
            context = text[max(0, match.start() - 60) : match.end() + 60]
            assert covered(match), f"{where}: {match.group(0)!r} is not in the one format: …{context}…"


def page_text(client, url: str, language: str) -> str:
    response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200, (url, response.status_code)
    body = response.content.decode()
    # A chart's axis ticks are a day and month alone (the year would crowd them).
    ticks = re.findall(r'<text class="chart-label"[^>]*>([^<]*)</text>', body)
    tick = {"en": rf"^\d{{1,2}} (?:{MONTHS})$", "vi": r"^\d{2}/\d{2}$"}[language]
    for label in ticks:
        # Otherwise a count, a share or a level's name.
        assert re.match(tick, label) or re.match(r"^[^\d]*$|^[\d.,]+%?$", label), (url, label)
    body = re.sub(r'<text class="chart-label"[^>]*>[^<]*</text>', " ", body)
    text = visible_text(body)
    assert_times_in_the_one_format(text, language, f"{url} ({language})")
    return text


# --- (a) the reminder refused ---------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "shown"),
    [("en", "1 Dec 2026, 23:52"), ("vi", "23:52 ngày 01/12/2026")],
)
def test_a_refused_reminder_says_when_in_the_readers_format_and_zone(language, shown):
    sent = datetime(2026, 11, 30, 16, 52, 35, 796875, tzinfo=UTC)
    complaint = make_complaint(now=sent - timedelta(hours=2))
    services.send_reminder(complaint=complaint, by=None, now=sent)
    with translation.override(language):
        with pytest.raises(LimitReached) as refused:
            services.send_reminder(complaint=complaint, by=None, now=sent + timedelta(hours=1))
        message = " ".join(refused.value.messages)
    # 2026-12-01 16:52:35.796875+00:00 is 23:52 on 1 December in Ho Chi Minh City.
    assert shown in message, message
    assert_times_in_the_one_format(message, language, "refusal")
    assert "T16" not in message and "+00:00" not in message and "796875" not in message


@pytest.mark.parametrize("language", ["en", "vi"])
def test_the_refused_reminder_on_the_page_shows_the_time_in_the_one_format(client, language):
    complaint = file_as_guest(client)
    remind = reverse("complaints:remind", args=[complaint.reference])
    client.post(remind, follow=True)  # sent; its message shown
    response = client.post(remind, follow=True, HTTP_ACCEPT_LANGUAGE=language)
    messages = [str(message) for message in response.context["messages"]]
    assert len(messages) == 1 and "24" in messages[0], messages
    assert re.search(MOMENT[language], messages[0]), messages[0]
    assert_times_in_the_one_format(messages[0], language, "flash message")


# --- (b) the pages and e-mails --------------------------------------------------------


@pytest.fixture
def portal():
    """A complainant's cases in each state a time shows in, their staff, and their e-mails."""
    now = timezone.now()
    complainant = make_user(username="lan")
    agent = make_user(username="agent", role=Role.AGENT)
    lead = make_user(username="lead", role=Role.TEAM_LEAD, preferred_language="en")
    manager = make_user(username="manager", role=Role.MANAGER)
    # Filed at T0, with a contact and an occurrence a few days before; escalated by the sweep.
    escalated = make_complaint(
        by=complainant,
        now=T0,
        occurred_at=T0 - timedelta(days=3),
        first_reported_at=T0 - timedelta(days=2, hours=1),
        contacts=[contact_data(contacted_at=T0 - timedelta(days=2))],
    )
    services.send_reminder(complaint=escalated, by=None, now=T0 + timedelta(hours=1))
    sweeping.sweep(now=T0 + timedelta(hours=80))
    # A case reminded half an hour ago (the next reminder is tomorrow), one resolved (open to dispute).
    reminded = make_complaint(by=complainant, now=now - timedelta(days=1, hours=3), language="en")
    services.send_reminder(complaint=reminded, by=None, now=now - timedelta(minutes=30))
    resolved = resolve(
        make_complaint(by=complainant, now=now - timedelta(days=2)), by=agent, now=now - timedelta(hours=5)
    )
    return {
        "complainant": complainant,
        "agent": agent,
        "lead": lead,
        "manager": manager,
        "escalated": escalated,
        "reminded": reminded,
        "resolved": resolved,
    }


@pytest.mark.parametrize(
    ("language", "filed", "occurred", "contacted", "reported"),
    [
        ("en", "2 Mar 2026, 10:00", "27 Feb 2026, 10:00", "28 Feb 2026, 10:00", "28 Feb 2026, 09:00"),
        (
            "vi",
            "10:00 ngày 02/03/2026",
            "10:00 ngày 27/02/2026",
            "10:00 ngày 28/02/2026",
            "09:00 ngày 28/02/2026",
        ),
    ],
)
def test_the_pages_show_every_time_in_the_one_format_of_its_kind(
    client, portal, language, filed, occurred, contacted, reported
):
    escalated, reminded, resolved = portal["escalated"], portal["reminded"], portal["resolved"]
    left_or_over = {
        "en": rf"\d+ {UNITS['en']}(?: \d+ {UNITS['en']})? (?:left|over)",
        "vi": rf"(?:còn|quá) \d+ {UNITS['vi']}(?: \d+ {UNITS['vi']})?",
    }[language]

    sign_in(client, portal["complainant"])
    case = page_text(client, reverse("complaints:detail", args=[escalated.reference]), language)
    for moment in (filed, occurred, contacted, reported):
        assert moment in case, (moment, case)
    case = page_text(client, reverse("complaints:detail", args=[reminded.reference]), language)
    assert re.search(MOMENT[language], case)
    assert re.search(left_or_over, case), case
    page_text(client, reverse("complaints:detail", args=[resolved.reference]), language)
    mine = page_text(client, reverse("complaints:mine"), language)
    assert filed in mine

    sign_in(client, portal["agent"])
    staff_case = page_text(client, reverse("staff:case", args=[escalated.reference]), language)
    for moment in (filed, occurred, contacted, reported):
        assert moment in staff_case
    page_text(client, reverse("staff:case", args=[reminded.reference]), language)
    for tab in ("mine", "unassigned"):
        queue = page_text(client, reverse("staff:queue_tab", args=[tab]), language)
    assert re.search(left_or_over, queue), queue

    sign_in(client, portal["manager"])
    escalated_cases = page_text(client, reverse("staff:manager_queue"), language)
    assert escalated.reference in escalated_cases
    ago = {
        "en": rf"\d+ {UNITS['en']}(?: \d+ {UNITS['en']})? ago",
        "vi": rf"\d+ {UNITS['vi']}(?: \d+ {UNITS['vi']})? trước",
    }[language]
    assert re.search(ago, escalated_cases), escalated_cases  # how long ago the deadline broke
    dashboard = page_text(client, reverse("staff:dashboard"), language)
    assert re.search(DAY[language], dashboard)
    # The access log: the agent's views of the cases above, when they were.
    case_log = page_text(client, reverse("staff:case_access", args=[escalated.reference]), language)
    assert re.search(MOMENT[language], case_log), case_log
    page_text(client, reverse("staff:access_log"), language)


def test_every_email_shows_its_times_in_its_readers_format(portal):
    notices = list(Notification.objects.select_related("complaint").order_by("pk"))
    templates = {notice.template for notice in notices}
    assert {"complaint_received", "case_update", "staff_alert"} <= templates, templates
    shown = 0
    for notice in notices:
        for language in ("en", "vi"):
            notice.language = language
            message = render_notification(notice, now=notice.created_at)
            for part, text in (
                ("subject", message.subject),
                ("text", message.body),
                ("html", visible_text(message.alternatives[0].content)),
            ):
                assert_times_in_the_one_format(text, language, f"{notice.template} {part} ({language})")
                shown += len(re.findall(MOMENT[language], text))
    assert shown, "the e-mails show no time at all"


@pytest.mark.parametrize(
    ("language", "filed"), [("en", "2 Mar 2026, 10:00"), ("vi", "10:00 ngày 02/03/2026")]
)
def test_the_acknowledgement_says_when_the_complaint_was_filed(portal, language, filed):
    notice = Notification.objects.get(complaint=portal["escalated"], template="complaint_received")
    notice.language = language
    message = render_notification(notice, now=T0)
    assert filed in message.body
    assert filed in message.alternatives[0].content
