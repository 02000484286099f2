"""Hostile text once stored: HTML and script in every user field show as text in pages,
e-mails, the CSV export and the dossier, and line breaks never reach an e-mail header.
"""

from __future__ import annotations

import csv
import email
import io
import json
import zipfile
from datetime import timedelta

import pytest
from django.core import mail
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from complaints import services
from complaints.models import CannedReply, Complaint, Notification, NotificationStatus
from complaints.notifications import deliver_outbox, header_text
from escalation import moves
from evidence import services as evidence_services
from evidence.uploadhandler import EvidenceUploadHandler
from tests.complaints.conftest import intake_post
from tests.evidence.conftest import png
from tests.factories import contact_data, make_complaint, make_user, sign_in

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
SVG = "<svg onload=alert(1)>"
LINK = "javascript:alert(1)"
PAYLOAD = f'{SCRIPT}{IMG}{SVG}\'><a href="{LINK}">x</a>'
SHORT = f"{SCRIPT}{IMG}"[:60]  # for fields of 150 characters or fewer
RAW_MARKERS = ("<script>alert(1)", "<img src=x onerror", "<svg onload", 'href="javascript:')


def assert_escaped(html: str, where: str) -> None:
    for marker in RAW_MARKERS:
        assert marker not in html, f"{marker!r} is live markup in {where}"
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, f"the payload is not shown (escaped) in {where}"


def hostile_case(now):
    """A case with the payload in every field a person can type, at a manager's level."""
    owner = make_user(username="owner", first_name=SHORT, last_name=SHORT)
    agent = make_user(username="agent", role=Role.AGENT, first_name=SHORT, last_name=SHORT)
    lead = make_user(username="lead", role=Role.TEAM_LEAD, first_name=SHORT)
    manager = make_user(username="manager", role=Role.MANAGER, first_name=SHORT)
    CannedReply.objects.create(title_vi=SHORT, title_en=SHORT, body_vi=PAYLOAD, body_en=PAYLOAD)
    complaint = make_complaint(
        by=owner,
        now=now,
        language="en",
        subject=PAYLOAD[:200],
        description=PAYLOAD,
        desired_outcome=PAYLOAD,
        contact_name=SHORT,
        provider_name=SHORT,
        provider_username=SHORT,
        provider_email=SHORT,
        provider_account_id=SHORT,
        steps_taken=PAYLOAD,
        contacts=[contact_data(with_whom=SHORT, their_reference=SHORT, summary=PAYLOAD)],
    )
    later = now + timedelta(minutes=1)
    services.add_contact(
        complaint=complaint,
        data=contact_data(with_whom=SHORT, their_reference=SHORT, summary=PAYLOAD),
        by=owner,
        now=later,
    )
    services.reply_as_complainant(complaint=complaint, body=PAYLOAD, by=owner, now=later)
    complaint.refresh_from_db()
    services.assign_complaint(
        complaint=complaint, assignee=agent, by=lead, now=later, version=complaint.version
    )
    complaint.refresh_from_db()
    services.reply_as_staff(complaint=complaint, body=PAYLOAD, by=agent, now=later, version=complaint.version)
    services.add_internal_note(complaint=complaint, body=PAYLOAD, by=agent, now=later)
    for by in (agent, lead):
        complaint.refresh_from_db()
        moves.escalate_manually(
            complaint=complaint, by=by, now=later, reason=PAYLOAD, version=complaint.version
        )
    upload = _sealed_png(f"{SHORT}.png")
    evidence_services.attach_evidence(
        complaint=complaint, uploads=[(upload, PAYLOAD[:300])], by=owner, now=later
    )
    complaint.refresh_from_db()
    return {"complaint": complaint, "owner": owner, "agent": agent, "lead": lead, "manager": manager}


def _sealed_png(name: str):
    handler = EvidenceUploadHandler()
    content = png()
    handler.new_file("evidence-0-file", name, "image/png", len(content))
    handler.receive_data_chunk(content, 0)
    return handler.file_complete(len(content))


def signed_in(user) -> Client:
    client = Client(raise_request_exception=False, HTTP_ACCEPT_LANGUAGE="en")
    sign_in(client, user)
    return client


@pytest.fixture
def case():
    return hostile_case(timezone.now() - timedelta(days=2))


def test_the_case_page_shows_every_field_as_text_to_the_complainant_and_to_staff(case):
    reference = case["complaint"].reference
    for who in ("owner", "agent", "manager"):
        url = reverse("complaints:detail" if who == "owner" else "staff:case", args=[reference])
        response = signed_in(case[who]).get(url)
        assert response.status_code == 200
        assert_escaped(response.content.decode(), f"the case page seen by {who}")


def test_the_queues_show_subjects_and_names_as_text(case):
    pages = [
        ("agent", reverse("staff:queue_tab", args=["mine"])),
        ("agent", reverse("staff:queue_tab", args=["team"])),
        ("manager", reverse("staff:manager_queue")),
    ]
    for who, url in pages:
        response = signed_in(case[who]).get(url)
        assert response.status_code == 200
        html = response.content.decode()
        assert case["complaint"].reference in html, f"the case is not in {url}"
        assert_escaped(html, url)


def test_a_search_or_filter_made_of_markup_is_shown_back_as_text(case):
    response = signed_in(case["agent"]).get(reverse("staff:queue"), {"q": SCRIPT, "after": IMG})
    assert response.status_code == 200
    assert_escaped(response.content.decode(), "the queue's search box")


def test_e_mails_escape_markup_in_html_and_keep_every_header_on_one_line(case):
    mail.outbox.clear()
    result = deliver_outbox(now=timezone.now())
    assert result.sent >= 2 and result.failed == 0 and result.retried == 0
    for message in mail.outbox:
        [(html, _type)] = message.alternatives
        if case["complaint"].subject in message.body or PAYLOAD in message.body:
            assert "&lt;script&gt;" in html
        for marker in RAW_MARKERS:
            assert marker not in html, f"{marker!r} is live markup in the e-mail {message.subject!r}"
        assert_single_line_headers(message)


EXPECTED_HEADERS = {"content-type", "mime-version", "subject", "from", "to", "date", "message-id"}
# Threading and the reply address (complaints.replies): the portal's own values, never user text.
EXPECTED_HEADERS |= {"references", "in-reply-to", "reply-to"}


def assert_single_line_headers(message) -> None:
    for line_break in ("\r", "\n", "\u2028", "\u2029", "\x85", "\x0b", "\x0c"):
        assert line_break not in message.subject
    parsed = email.message_from_bytes(message.message().as_bytes())
    assert {name.lower() for name in parsed} <= EXPECTED_HEADERS, parsed.keys()
    assert "victim@example.org" not in {
        address for _name, address in email.utils.getaddresses(parsed.get_all("to"))
    }
    assert message.recipients() == message.to and len(message.to) == 1


INJECTIONS = [
    "Lan\r\nBcc: victim@example.org",
    "Lan\nBcc: victim@example.org",
    "Lan\rBcc: victim@example.org",
    "Lan\u2028Bcc: victim@example.org",
    "Lan\u2029Bcc: victim@example.org",
    "Lan\x85Bcc: victim@example.org",
    "=?utf-8?q?Lan=0D=0ABcc:_victim@example.org?=",
]


@pytest.mark.parametrize("injection", INJECTIONS)
def test_names_and_subjects_with_line_breaks_never_reach_an_e_mail_header(injection):
    cache.clear()  # intake is rate-limited per visitor; these filings are not abuse
    client = Client(raise_request_exception=False, HTTP_ACCEPT_LANGUAGE="en")
    response = client.post(
        reverse("complaints:create"),
        intake_post(contact_name=injection, subject=injection, provider_name=injection, language="en"),
    )
    assert response.status_code in (200, 302)
    complaint = Complaint.objects.order_by("-pk").first()
    assert complaint is not None and response.status_code == 302
    agent = make_user(role=Role.AGENT, first_name=injection)
    services.reply_as_staff(
        complaint=complaint, body=injection, by=agent, now=timezone.now(), version=complaint.version
    )
    mail.outbox.clear()
    result = deliver_outbox(now=timezone.now() + timedelta(seconds=1))
    assert (result.sent, result.failed, result.retried) == (2, 0, 0)
    assert len(mail.outbox) == 2
    for message in mail.outbox:
        assert_single_line_headers(message)
        assert message.to == ["lan@example.org"]


def test_a_subject_template_that_yields_line_breaks_is_sent_on_one_line(monkeypatch):
    from complaints import notifications

    real = notifications.render_to_string

    def injecting(name, context=None, *args, **kwargs):
        text = real(name, context, *args, **kwargs)
        return (
            text + "\r\nBcc: victim@example.org\u2028X-Evil: 1\x00" if name.endswith("_subject.txt") else text
        )

    monkeypatch.setattr(notifications, "render_to_string", injecting)
    make_complaint(now=timezone.now())
    mail.outbox.clear()
    result = deliver_outbox(now=timezone.now() + timedelta(seconds=1))
    assert (result.sent, result.failed, result.retried) == (1, 0, 0)
    [message] = mail.outbox
    assert_single_line_headers(message)
    assert message.subject.endswith("Bcc: victim@example.org X-Evil: 1")


def test_a_notice_to_an_address_with_a_line_break_fails_alone_without_stopping_delivery():
    complaint = make_complaint(now=timezone.now())
    bad = Notification.objects.create(
        complaint=complaint,
        email="lan@example.org\r\nBcc: victim@example.org",
        template="case_update",
        language="en",
        context={"kind": "reply", "note": "x"},
        created_at=timezone.now(),
        next_attempt_at=timezone.now(),
    )
    mail.outbox.clear()
    result = deliver_outbox(now=timezone.now() + timedelta(seconds=1))
    assert (result.sent, result.failed, result.retried) == (1, 1, 0)
    bad.refresh_from_db()
    assert bad.status == NotificationStatus.FAILED
    assert "invalid recipient address" in bad.last_error
    assert [message.to for message in mail.outbox] == [["lan@example.org"]]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a\r\nb", "a b"),
        ("a\u2028\u2029b\x85c", "a b c"),
        ("  many   spaces \t ", "many spaces"),
        ("x" * 1000, "x" * 250),
        ("\x00\x1b[31m", "[31m"),
    ],
)
def test_header_text_is_one_clean_line(text, expected):
    assert header_text(text) == expected


def test_the_csv_export_holds_the_payload_as_plain_text_in_its_cell(case):
    response = signed_in(case["manager"]).get(reverse("staff:export"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["X-Content-Type-Options"] == "nosniff"
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    [row] = [row for row in rows[1:] if row[0] == case["complaint"].reference]
    assert case["complaint"].subject in row


def test_a_formula_in_the_subject_is_not_a_formula_in_the_csv(case):
    Complaint.objects.filter(pk=case["complaint"].pk).update(subject='=HYPERLINK("http://x","y")')
    response = signed_in(case["manager"]).get(reverse("staff:export"))
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    [row] = [row for row in csv.reader(io.StringIO(text)) if row[0] == case["complaint"].reference]
    assert '\'=HYPERLINK("http://x","y")' in row


def test_the_dossier_shows_every_field_as_text(case):
    for who in ("owner", "manager"):
        response = signed_in(case[who]).get(reverse("evidence:dossier", args=[case["complaint"].reference]))
        assert response.status_code == 200
        archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
        assert_escaped(archive.read("dossier.html").decode(), f"dossier.html for {who}")
        manifest = json.loads(archive.read("manifest.json"))
        assert manifest["files"][0]["caption"] == PAYLOAD[:300]
        for name in archive.namelist():  # no path tricks from the file name
            assert not name.startswith("/") and ".." not in name.split("/")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_no_payload_runs_in_a_real_browser(browser, live_server):
    """Chromium opens every page, e-mail and the dossier with the payloads in place: no dialog
    opens and no onerror/onload handler runs."""
    case = hostile_case(timezone.now() - timedelta(days=2))
    Complaint.objects.filter(pk=case["complaint"].pk).update(
        description=PAYLOAD + "<img src=x onerror=window.__xss=1><svg onload=window.__xss=1>"
    )
    reference = case["complaint"].reference
    pages = [
        ("owner", reverse("complaints:detail", args=[reference])),
        ("owner", reverse("complaints:mine")),
        ("agent", reverse("staff:case", args=[reference])),
        ("agent", reverse("staff:queue_tab", args=["mine"])),
        ("agent", reverse("staff:queue") + "?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E"),
        ("manager", reverse("staff:case", args=[reference])),
        ("manager", reverse("staff:manager_queue")),
    ]
    mail.outbox.clear()
    deliver_outbox(now=timezone.now())
    documents = [alternative for message in mail.outbox for alternative, _type in message.alternatives]
    dossier = signed_in(case["owner"]).get(reverse("evidence:dossier", args=[reference]))
    documents.append(
        zipfile.ZipFile(io.BytesIO(b"".join(dossier.streaming_content))).read("dossier.html").decode()
    )
    assert len(documents) >= 3
    dialogs: list[str] = []
    for who, path in pages:
        context = browser.new_context(locale="en-US")
        session = signed_in(case[who]).cookies["sessionid"].value
        context.add_cookies([{"name": "sessionid", "value": session, "url": live_server.url}])
        page = context.new_page()
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        try:
            response = page.goto(live_server.url + path)
            assert response is not None and response.status == 200, path
            page.wait_for_load_state("load")
            assert page.evaluate("window.__xss === undefined"), path
        finally:
            context.close()
    context = browser.new_context()
    page = context.new_page()
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    try:
        for document in documents:
            page.set_content(document, wait_until="load")
            assert page.evaluate("window.__xss === undefined")
    finally:
        context.close()
    assert dialogs == []
