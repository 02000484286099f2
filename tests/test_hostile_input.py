"""Hostile input on every form and URL parameter: a clear error or success, never a 500,
and a refused request leaves nothing half-saved.

The intake form has its own fuzz test (tests/complaints/test_intake_fuzz.py); this module
covers everything else: the complainant's actions on the case page (joining an incident,
correcting contact details, consent, privacy requests among them), find-my-complaint,
tracking links, accounts and the second factor, the staff actions, incidents (declared,
linked, told, answered), links between cases, wave alerts, mail review, privacy requests,
the queues, the dashboard, the CSV export, the compliance report, the access log, evidence
and the dossier. Hypothesis runs each example in a transaction that is rolled back, so
examples never see each other's rows.
"""

from __future__ import annotations

import contextlib
import copy
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import quote_from_bytes

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import Role
from complaints import services
from complaints.models import (
    Category,
    Cause,
    Complaint,
    ComplaintEvent,
    ComplaintRelation,
    ContactAttempt,
    InboundMessage,
    InboundStatus,
    Incident,
    IncidentStatus,
    IncidentUpdate,
    Notification,
    PrivacyRequest,
    PrivacyRequestStatus,
    Subcategory,
    WaveAlert,
    WaveAlertState,
)
from complaints.search import provider_key
from complaints.services import privacy
from complaints.services.inbound import receive_raw
from evidence.models import Evidence
from tests.factories import enrol, make_complaint, make_incident, make_user, sign_in

pytestmark = pytest.mark.django_db

FAST = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Text that has broken web applications before.
NASTY_TEXT = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\x01\x02\x1b[31m\x7f",
    "\r\nBcc: victim@example.org",
    "Lan\nSubject: pwned",
    "Lan\u2028Bcc: victim@example.org\u2029",
    "\x85\x0b\x0c",
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "javascript:alert(1)",
    "'; DROP TABLE complaints_complaint; --",
    '=HYPERLINK("http://x")',
    "%00%0d%0a",
    "\u202eevil\u202c",
    "😡📱💸",
    "Khiếu nại",
    "0",
    "-1",
    "1e400",
    "99999999999999999999999",
    "²",
    "١٢٣",
    "NaN",
    "0001-01-01T00:00",
    "9999-12-31T23:59",
    "9999-12-31",
    "0001-01-01",
    "me",
    "x" * 10_001,
    "ệ" * 5_001,
]
text_values = st.one_of(st.sampled_from(NASTY_TEXT), st.text(max_size=200))

# Bytes a browser never sends: invalid UTF-8, lone surrogates (CESU-8), overlong NUL.
NASTY_BYTES = [
    b"\xff\xfe",
    b"\xc3\x28",
    b"\xed\xa0\x80",
    b"\xed\xbf\xbf",
    b"\xc0\x80",
    b"\xf4\x90\x80\x80",
    b"\x00",
    b"%ff%fe",
    b"%ED%A0%80",
    b"%00",
    b"&&==&",
    b"+%2B%",
]
byte_values = st.one_of(st.sampled_from(NASTY_BYTES), st.binary(max_size=120))


class Rollback(Exception):
    """Raised to undo one Hypothesis example's writes."""


@contextlib.contextmanager
def rolled_back(site: dict[str, Any] | None = None) -> Iterator[None]:
    """Run the block in a transaction that is always rolled back; with `site`, its browsers'
    cookies (session, CSRF token, messages) are put back as they were too, so an example that
    signed someone up or left a message does not change what the next one sends, and the cache
    is emptied before it (no rate limit counts what an earlier example tried)."""
    cookies = {who: copy.deepcopy(client.cookies) for who, client in (site or {}).get("clients", {}).items()}
    if site is not None:
        cache.clear()
    try:
        with contextlib.suppress(Rollback), transaction.atomic():
            yield
            raise Rollback
    finally:
        for who, kept in cookies.items():
            site["clients"][who].cookies = kept


# The rows of every model a form writes, and the states an action changes without adding a row
# (an incident resolved, an alert dismissed, a message attached, a request answered, a case
# linked to an incident or restricted): a refusal must leave all of them as they were. The
# privacy officers' security alerts are left out: a refusal (a page a role does not open, a
# wrong code) writes one on purpose.
COUNTED = {
    "Complaint": Complaint.objects.all(),
    "ComplaintEvent": ComplaintEvent.objects.all(),
    "ContactAttempt": ContactAttempt.objects.all(),
    "Notification": Notification.objects.exclude(template="security_alert"),
    "Evidence": Evidence.objects.all(),
    "Incident": Incident.objects.all(),
    "IncidentUpdate": IncidentUpdate.objects.all(),
    "WaveAlert": WaveAlert.objects.all(),
    "ComplaintRelation": ComplaintRelation.objects.all(),
    "InboundMessage": InboundMessage.objects.all(),
    "PrivacyRequest": PrivacyRequest.objects.all(),
    "open incidents": Incident.objects.filter(status=IncidentStatus.OPEN),
    "open wave alerts": WaveAlert.objects.filter(state=WaveAlertState.OPEN),
    "mail waiting": InboundMessage.objects.filter(status=InboundStatus.REVIEW),
    "open privacy requests": PrivacyRequest.objects.filter(status=PrivacyRequestStatus.OPEN),
    "cases linked to incidents": Complaint.objects.filter(incident__isnull=False),
    "restricted cases": Complaint.objects.filter(processing_restricted_at__isnull=False),
}


def row_counts() -> dict[str, int]:
    """Each of COUNTED's counts, read by one query (every fuzzed request reads them twice)."""
    selects, params = [], []
    for index, queryset in enumerate(COUNTED.values()):
        sql, values = queryset.order_by().values("pk").query.sql_with_params()
        # Django's own SQL, its values passed as parameters.
        selects.append(f"(SELECT COUNT(*) FROM ({sql}) AS counted{index})")  # noqa: S608
        params.extend(values)
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(selects), params)
        return dict(zip(COUNTED, cursor.fetchone(), strict=True))


CSRF_TOKEN = "k" * 32


def client_for(user: Any = None) -> Client:
    """A browser as production sees it: CSRF checked (its token in a header, so a fuzzed body
    needs none), and exceptions turned into responses instead of raised."""
    client = Client(
        raise_request_exception=False,
        enforce_csrf_checks=True,
        HTTP_ACCEPT_LANGUAGE="en",
        HTTP_X_CSRFTOKEN=CSRF_TOKEN,
    )
    client.cookies[django_settings.CSRF_COOKIE_NAME] = CSRF_TOKEN
    if user is not None:
        sign_in(client, user)
    return client


def raw_body(fields: list[tuple[str, bytes]], *, encode: bool) -> bytes:
    """A urlencoded body, its values percent-encoded or sent as the raw bytes themselves."""
    parts = []
    for name, value in fields:
        parts.append(name.encode() + b"=" + (quote_from_bytes(value).encode() if encode else value))
    return b"&".join(parts)


def post_raw(client: Client, url: str, body: bytes, content_type: str = "application/x-www-form-urlencoded"):
    return client.generic("POST", url, body, content_type=content_type)


def get_raw(client: Client, url: str, query: bytes):
    # WSGI carries the query string as latin-1 text: these are the very bytes sent.
    return client.get(url, QUERY_STRING=query.decode("latin-1"))


# --- The site: who may post which form where --------------------------------------------------------


# The `site` fixture: its complaint, people, their browsers, and what the newer forms act on.
Site = dict[str, Any]


def _case_pages(site: Site) -> list[tuple[str, str]]:
    """The case's pages, to its complainant and to staff."""
    reference = site["complaint"].reference
    return [
        ("owner", reverse("complaints:detail", args=[reference])),
        ("manager", reverse("staff:case", args=[reference])),
    ]


@dataclass(frozen=True)
class Form:
    name: str
    # "owner", "user" (the owner too), "enrolled" (a complainant with an authenticator app),
    # "unverified" (the same, before the code step), "agent", "lead", "manager", "privacy" (a
    # privacy officer), "anonymous"
    who: str
    url: Callable[[Site], str]
    # Values may name the site's objects by their keys in `site["ids"]`: "{incident}" (its pk),
    # "{alert}", "{mail}", "{linked}" (another case's reference)…; names too: "m{mail}-reference".
    fields: dict[str, str]
    # The pages that show what the form accepted (each must still answer 200).
    shown_on: Callable[[Site], list[tuple[str, str]]] = _case_pages
    # The fields the deterministic pass fills with each troublemaker: all of them, unless most are
    # another form's or page's, troubled there already (then its own; Hypothesis varies them all).
    troubled: tuple[str, ...] = ()


def _complaint_url(name: str) -> Callable[[Site], str]:
    return lambda site: reverse(name, args=[site["complaint"].reference])


def _plain_url(name: str, query: str = "") -> Callable[[Site], str]:
    """The page's address, with `query` (which may name the site's objects) after a `?`."""
    return lambda site: reverse(name) + ("?" + query.format(**site["ids"]) if query else "")


def _site_url(name: str, key: str) -> Callable[[Site], str]:
    """The address of one of the site's objects: `key` as `fields` name them ("incident_slug"…)."""
    return lambda site: reverse(name, args=[site["ids"][key]])


def _incident_pages(site: Site) -> list[tuple[str, str]]:
    """The newest incident (the one just declared, else the site's) on its staff and public
    pages, and the staff list of incidents."""
    return [("lead", reverse("staff:incidents")), *_incident_page(site), *_public_incident_page(site)]


def _incident_page(site: Site) -> list[tuple[str, str]]:
    return [("lead", reverse("staff:incident", args=[Incident.objects.latest("pk").slug]))]


def _public_incident_page(site: Site) -> list[tuple[str, str]]:
    return [("anonymous", reverse("incident", args=[Incident.objects.latest("pk").slug]))]


def _pages(*makers: Callable[[Site], list[tuple[str, str]]]) -> Callable[[Site], list[tuple[str, str]]]:
    return lambda site: [page for make in makers for page in make(site)]


def _linked_case_page(site: Site) -> list[tuple[str, str]]:
    """The case linked to the site's incident, to staff: the incident's news and answers reach it."""
    return [("manager", reverse("staff:case", args=[site["ids"]["linked"]]))]


def _erased_pages(site: Site) -> list[tuple[str, str]]:
    """A case erased when its complainant withdrew consent: no longer theirs, still staff's."""
    reference = site["complaint"].reference
    return [("owner", reverse("complaints:mine")), ("manager", reverse("staff:case", args=[reference]))]


def _queue_page(site: Site) -> list[tuple[str, str]]:
    return [("lead", reverse("staff:queue"))]


def _mail_pages(site: Site) -> list[tuple[str, str]]:
    """The review's list of what was handled, and the case an e-mail was attached to."""
    return [("agent", reverse("staff:mail_review_tab", args=["handled"])), *_case_pages(site)[1:]]


def _privacy_pages(site: Site) -> list[tuple[str, str]]:
    """The newest request about personal data on its officer's page, their list of open ones, and
    its case to its complainant."""
    return [
        ("privacy", reverse("staff:privacy_request", args=[PrivacyRequest.objects.latest("pk").pk])),
        ("privacy", reverse("staff:privacy_requests")),
        *_case_pages(site)[:1],
    ]


def _second_factor_pages(site: Site) -> list[tuple[str, str]]:
    return [(who, reverse("accounts:second_factor")) for who in ("user", "enrolled")]


# An incident as the declare form sends it, and a queue search that finds the site's cases.
DECLARED = {
    "title_vi": "ShopNhanh không đăng nhập được",
    "title_en": "ShopNhanh log-in down",
    "note_vi": "Đang xử lý.",
    "note_en": "Being worked on.",
    "category": "{category}",
    "provider_name": "ShopNhanh",
    "started_at": "2026-01-10T09:30",
    "alert": "",
}
SEARCHED = {"q": "example.org", "category": "", "status": "", "complexity": "", "level": "", "breached": ""}

FORMS = [
    Form("reply", "owner", _complaint_url("complaints:reply"), {"body": "Xin chào"}),
    Form(
        "add_contact",
        "owner",
        _complaint_url("complaints:add_contact"),
        {
            "contact-channel": "email",
            "contact-contacted_at": "2026-01-10T09:30",
            "contact-with_whom": "CSKH",
            "contact-their_reference": "T-1",
            "contact-summary": "Họ hứa gọi lại.",
        },
    ),
    Form(
        "complete",
        "owner",
        _complaint_url("complaints:complete"),
        {
            "complete-subcategory": "1",
            "complete-provider_name": "ShopNhanh",
            "complete-occurred_at": "2026-01-10T09:30",
            "complete-first_reported_at": "",
            "complete-desired_outcome": "Hoàn tiền",
            "complete-consent": "on",
        },
    ),
    Form("remind", "owner", _complaint_url("complaints:remind"), {}),
    Form("withdraw", "owner", _complaint_url("complaints:withdraw"), {"withdraw-reason": "Đã xong"}),
    Form("accept", "owner", _complaint_url("complaints:accept"), {}),
    Form("dispute", "owner", _complaint_url("complaints:dispute"), {"dispute-reason": "Chưa xong"}),
    Form("rate", "owner", _complaint_url("complaints:rate"), {"rating-rating": "5", "rating-comment": "Tốt"}),
    Form(
        "request_escalation",
        "owner",
        _complaint_url("complaints:request_escalation"),
        {"escalation-reason": "Quá hạn"},
    ),
    Form(
        "upload",
        "owner",
        _complaint_url("evidence:upload"),
        {
            "evidence-TOTAL_FORMS": "1",
            "evidence-INITIAL_FORMS": "0",
            "evidence-MIN_NUM_FORMS": "0",
            "evidence-MAX_NUM_FORMS": "20",
            "evidence-0-caption": "Ảnh chụp",
        },
    ),
    Form(
        "find", "anonymous", _plain_url("complaints:find"), {"reference": "KN-AAAA-BBBB", "email": "a@b.vn"}
    ),
    Form(
        "staff_reply",
        "manager",
        _complaint_url("staff:reply"),
        {"body": "Chào", "canned": "", "version": "1"},
    ),
    Form("staff_note", "manager", _complaint_url("staff:note"), {"body": "Ghi chú"}),
    Form(
        "request_info", "manager", _complaint_url("staff:request_info"), {"body": "Cần thêm", "version": "1"}
    ),
    Form(
        "reclassify",
        "manager",
        _complaint_url("staff:reclassify"),
        {"subcategory": "1", "complexity": "complex", "version": "1"},
    ),
    Form("assign", "manager", _complaint_url("staff:assign"), {"assignee": "me", "version": "1"}),
    Form("assign_as_agent", "agent", _complaint_url("staff:assign"), {"assignee": "me", "version": "1"}),
    Form("escalate", "manager", _complaint_url("staff:escalate"), {"reason": "Khó", "version": "1"}),
    Form("de_escalate", "manager", _complaint_url("staff:de_escalate"), {"reason": "Dễ", "version": "1"}),
    Form(
        "resolve",
        "manager",
        _complaint_url("staff:resolve"),
        {
            "summary": "Xong",
            "cause": "1",
            "outcome": "upheld",
            "remedy": "refund",
            "remedy_amount": "150000",
            "remedy_currency": "VND",
            "version": "1",
        },
    ),
    Form(
        "signup",
        "anonymous",
        _plain_url("accounts:signup"),
        {
            "full_name": "Lan",
            "email": "new@example.org",
            "password1": "a long enough passphrase 42",
            "password2": "a long enough passphrase 42",
            "preferred_language": "vi",
        },
    ),
    Form("login", "anonymous", _plain_url("accounts:login"), {"username": "nobody", "password": "wrong"}),
    Form("password_reset", "anonymous", _plain_url("accounts:password_reset"), {"email": "lan@example.org"}),
    Form(
        "profile",
        "user",
        _plain_url("accounts:profile"),
        {"full_name": "Lan", "email": "lan2@example.org", "preferred_language": "en"},
    ),
    Form(
        "password_change",
        "user",
        _plain_url("accounts:password_change"),
        {"old_password": "x", "new_password1": "y", "new_password2": "y"},
    ),
    Form("set_language", "anonymous", _plain_url("accounts:set_language"), {"language": "en", "next": "/"}),
    # Incidents, their news and answers, links between cases, wave alerts: team leads and managers.
    Form("declare_incident", "lead", _plain_url("staff:incidents"), DECLARED, _incident_pages),
    Form(
        "declare_incident_from_alert",
        "manager",
        _plain_url("staff:incidents", "alert={alert}"),
        {**DECLARED, "alert": "{alert}"},
        _incident_pages,
        troubled=("alert",),
    ),
    Form(
        "declare_incident_from_search",
        "lead",
        _plain_url("staff:incidents", "search-tab=unassigned&search-q=example.org"),
        {
            **DECLARED,
            **{f"search-{name}": value for name, value in SEARCHED.items()},
            "search-tab": "unassigned",
        },
        _pages(_incident_pages, _case_pages),
        troubled=("search-tab", "search-q", "search-level"),
    ),
    Form(
        "link_search",
        "lead",
        _plain_url("staff:link_search"),
        {**SEARCHED, "tab": "unassigned", "incident": "{incident}"},
        _pages(_incident_pages, _case_pages),
        troubled=("tab", "q", "level", "incident"),
    ),
    Form(
        "incident_update",
        "lead",
        _site_url("staff:incident_update", "incident_slug"),
        {"text_vi": "Đang sửa.", "text_en": "Being fixed."},
        _pages(_incident_page, _public_incident_page, _linked_case_page),
    ),
    Form(
        "incident_resolve",
        "manager",
        _site_url("staff:incident_resolve", "incident_slug"),
        {"text_vi": "Đã sửa.", "text_en": "Fixed."},
        _pages(_incident_page, _public_incident_page, _linked_case_page),
    ),
    Form(
        "incident_reply_all",
        "lead",
        _site_url("staff:incident_reply_all", "incident_slug"),
        {"body_vi": "Chúng tôi đang xử lý.", "body_en": "We are on it."},
        _pages(_incident_page, _linked_case_page),
    ),
    Form(
        "incident_resolve_all",
        "manager",
        _site_url("staff:incident_resolve_all", "incident_slug"),
        {
            "summary_vi": "Đã khôi phục.",
            "summary_en": "Restored.",
            "cause": "{cause}",
            "outcome": "upheld",
            "remedy": "refund",
            "remedy_amount": "150000",
            "remedy_currency": "VND",
        },
        _pages(_incident_page, _linked_case_page),
        # The findings are the staff resolve form's own fields and cleaning, troubled there.
        troubled=("summary_vi", "summary_en", "cause", "remedy_amount"),
    ),
    Form(
        "link_incident",
        "lead",
        _complaint_url("staff:link_incident"),
        {"incident": "{incident}"},
    ),
    Form(
        "link_related_incident",
        "lead",
        _complaint_url("staff:link_related_incident"),
        {"other": "{linked}", "incident": "{incident}"},
    ),
    Form("relate", "agent", _complaint_url("staff:relate"), {"other": "{spare}"}),
    Form("unrelate", "agent", _complaint_url("staff:unrelate"), {"other": "{linked}"}),
    Form(
        "wave_dismiss",
        "lead",
        _site_url("staff:wave_dismiss", "alert"),
        {"next": "/staff/queue/"},
        _queue_page,
    ),
    # The complainant's newer forms.
    Form(
        "join_incident",
        "owner",
        _complaint_url("complaints:join_incident"),
        {"incident": "{incident}"},
    ),
    Form(
        "correct_contact",
        "owner",
        _complaint_url("complaints:correct_contact"),
        {
            "correct-contact_name": "Trần Thị Lan",
            "correct-contact_email": "lan.tran@example.org",
            "correct-contact_phone": "+84 90 123 4567",
            "correct-language": "en",
        },
    ),
    Form(
        "withdraw_consent",
        "owner",
        _complaint_url("complaints:withdraw_consent"),
        {"consent-confirm": "on"},
        _erased_pages,
    ),
    Form(
        "privacy_request",
        "owner",
        _complaint_url("complaints:privacy_request"),
        {"privacy-kind": "correction", "privacy-details": "Tên sai."},
        _privacy_pages,
    ),
    # Mail review and privacy requests.
    Form(
        "mail_attach",
        "agent",
        _site_url("staff:mail_attach", "mail"),
        {"m{mail}-reference": "{reference}"},
        _mail_pages,
    ),
    Form("mail_open", "agent", _site_url("staff:mail_open", "mail"), {}, _mail_pages),
    Form("mail_discard", "agent", _site_url("staff:mail_discard", "mail"), {}, _mail_pages),
    Form(
        "privacy_answer",
        "privacy",
        _site_url("staff:privacy_answer", "privacy_request"),
        {"outcome": "done", "answer": "Đã sửa."},
        _privacy_pages,
    ),
    Form("privacy_lift", "privacy", _site_url("staff:privacy_lift", "restricted"), {}, _privacy_pages),
    # The second factor: set up by a complainant without one; the code step, new recovery codes
    # and turning it off by one who has an authenticator app.
    Form(
        "second_factor_setup",
        "user",
        _plain_url("accounts:second_factor_setup"),
        {"code": "123456", "next": "/complaints/mine/"},
        _second_factor_pages,
    ),
    Form(
        "second_factor_verify",
        "unverified",
        _plain_url("accounts:second_factor_verify"),
        {"code": "123456", "remember": "on", "next": "/complaints/mine/"},
        _second_factor_pages,
    ),
    Form(
        "second_factor_verify_without_one",
        "user",
        _plain_url("accounts:second_factor_verify"),
        {"code": "123456", "next": "/complaints/mine/"},
        _second_factor_pages,
    ),
    Form(
        "second_factor_codes",
        "enrolled",
        _plain_url("accounts:second_factor_codes"),
        {},
        _second_factor_pages,
    ),
    Form(
        "second_factor_turn_off",
        "enrolled",
        _plain_url("accounts:second_factor_turn_off"),
        {},
        _second_factor_pages,
    ),
]
FORMS_BY_NAME = {form.name: form for form in FORMS}


STRAY_MAIL = (
    b"From: Stranger <stranger@example.net>\r\nTo: support@example.net\r\nSubject: Account\r\n"
    b"Message-ID: <stray@mail.example.org>\r\n\r\nI still cannot sign in.\r\n"
)


# The site's other cases: another provider, another text, no account at it, filed weeks after the
# site's complaint, so none is among its related cases (each would cost every case page a row).
OTHER_CASE = {
    "provider_name": "MoMo",
    "subject": "Tiền chuyển đi không tới",
    "description": "Giao dịch chuyển khoản bị treo từ hôm qua.",
    "provider_username": "",
}


@pytest.fixture
def site(db):
    """A complaint owned by a signed-in complainant, and staff in every role; an open incident
    about the complaint's provider, with another case linked to it and linked to the complaint;
    a spare case; an open wave alert; an e-mail waiting for review; an open privacy request and a
    case whose processing is restricted."""
    owner = make_user(username="owner", first_name="Lan")
    people = {
        "owner": owner,
        "user": owner,
        "enrolled": make_user(username="enrolled"),
        "agent": make_user(username="agent", role=Role.AGENT),
        "lead": make_user(username="lead", role=Role.TEAM_LEAD),
        "manager": make_user(username="manager", role=Role.MANAGER),
        "privacy": make_user(username="privacy", role=Role.PRIVACY_OFFICER),
        "anonymous": None,
    }
    enrol(people["enrolled"])
    now = timezone.now()
    complaint = make_complaint(by=owner, now=now - timedelta(days=20))
    incident = make_incident(people["lead"], now=now - timedelta(days=1))
    linked = make_complaint(now=now - timedelta(days=2), **OTHER_CASE, contact_email="minh@example.org")
    services.link_complaint(complaint=linked, incident=incident, by=people["lead"], now=now)
    services.relate_complaints(complaint=complaint, other=linked, by=people["agent"], now=now)
    spare = make_complaint(now=now - timedelta(days=3), **OTHER_CASE, contact_email="hoa@example.org")
    restricted = make_complaint(now=now - timedelta(days=4), **OTHER_CASE, contact_email="tuan@example.org")
    Complaint.objects.filter(pk=restricted.pk).update(processing_restricted_at=now)
    category = Category.objects.get(slug="account")
    alert = WaveAlert.objects.create(
        category=category,
        provider_name="MoMo",
        provider_key=provider_key("MoMo"),
        window_start=now - timedelta(hours=1),
        count=12,
        baseline=0.5,
        created_at=now,
        last_seen_at=now,
    )
    mail = receive_raw(STRAY_MAIL, now=now)
    assert mail.status == InboundStatus.REVIEW
    request = privacy.make_request(
        complaint=complaint, kind="correction", details="Tên sai.", by=owner, now=now
    )
    cause = Cause.objects.filter(category=category, is_active=True).first() or Cause.objects.first()
    clients = {who: client_for(user) for who, user in people.items() if who != "user"}
    clients["user"] = clients["owner"]
    # The same person halfway through signing in: the password given, the code step to come.
    clients["unverified"] = client_for()
    clients["unverified"].force_login(people["enrolled"])
    ids = {
        "reference": complaint.reference,
        "incident": incident.pk,
        "incident_slug": incident.slug,
        "alert": alert.public_id,
        "mail": mail.pk,
        "privacy_request": request.pk,
        "restricted": restricted.reference,
        "spare": spare.reference,
        "linked": linked.reference,
        "category": category.pk,
        "cause": cause.pk,
    }
    return {"complaint": complaint, "people": people, "clients": clients, "ids": ids}


def _fill(form: Form, site: Site) -> dict[str, str]:
    data = {name.format(**site["ids"]): value.format(**site["ids"]) for name, value in form.fields.items()}
    if "version" in data:
        data["version"] = str(Complaint.objects.get(pk=site["complaint"].pk).version)
    if form.name == "reclassify":
        data["subcategory"] = str(Subcategory.objects.filter(is_active=True).first().pk)
    return data


def _assert_clean_answer(response, before: dict[str, int]) -> None:
    assert response.status_code < 500, response.content[:2000]
    if response.status_code >= 400:
        assert row_counts() == before, f"refused with {response.status_code} but rows changed"
    # Whatever was accepted is stored without NUL bytes.
    for body in ComplaintEvent.objects.values_list("body", flat=True):
        assert "\x00" not in body


# --- Every form, every field: any text -------------------------------------------------------------


@FAST
@given(
    form=st.sampled_from(FORMS),
    values=st.lists(text_values, min_size=1, max_size=4),
    extra=st.dictionaries(st.sampled_from(["version", "next", "canned", "csrfmiddlewaretoken"]), text_values),
)
def test_any_text_in_any_form_is_accepted_or_refused_never_a_server_error(site, form, values, extra):
    with rolled_back(site):
        data = _fill(form, site)
        names = list(data) or ["anything"]
        for index, value in enumerate(values):
            data[names[index % len(names)]] = value
        data.update(extra)
        before = row_counts()
        response = site["clients"][form.who].post(form.url(site), data)
        _assert_clean_answer(response, before)


@FAST
@given(
    form=st.sampled_from(FORMS), values=st.lists(byte_values, min_size=1, max_size=4), encode=st.booleans()
)
def test_invalid_utf8_and_raw_bytes_in_a_posted_body_never_cause_a_server_error(site, form, values, encode):
    with rolled_back(site):
        data = _fill(form, site)
        names = list(data) or ["anything"]
        fields = [(name, value.encode()) for name, value in data.items()]
        for index, value in enumerate(values):
            fields.append((names[index % len(names)], value))
        before = row_counts()
        response = post_raw(site["clients"][form.who], form.url(site), raw_body(fields, encode=encode))
        _assert_clean_answer(response, before)


@pytest.mark.parametrize("form", FORMS, ids=lambda form: form.name)
def test_a_thousand_and_one_fields_are_refused_with_400_and_nothing_saved(site, form):
    data = _fill(form, site)
    fields = [(name, value.encode()) for name, value in data.items()]
    fields += [
        (f"f{n}", b"x") for n in range(django_settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1 - len(fields))
    ]
    assert len(fields) == django_settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1
    before = row_counts()
    response = post_raw(site["clients"][form.who], form.url(site), raw_body(fields, encode=True))
    assert response.status_code == 400
    assert row_counts() == before


@pytest.mark.parametrize("form", FORMS, ids=lambda form: form.name)
def test_a_body_over_the_memory_limit_is_refused_with_400_and_nothing_saved(site, form):
    data = _fill(form, site)
    first = next(iter(data), "body")
    data[first] = "x" * (django_settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    fields = [(name, value.encode()) for name, value in data.items()]
    before = row_counts()
    response = post_raw(site["clients"][form.who], form.url(site), raw_body(fields, encode=False))
    assert response.status_code == 400
    assert row_counts() == before


@pytest.mark.parametrize(
    "content_type",
    [
        "application/x-www-form-urlencoded; charset=x-no-such-codec",
        "application/x-www-form-urlencoded; charset=utf-16",
        "multipart/form-data",
        "multipart/form-data; boundary=",
        "multipart/form-data; boundary=zzz",
        "text/plain",
        "application/json",
    ],
)
@pytest.mark.parametrize("name", ["reply", "staff_reply", "upload", "find", "signup"])
def test_odd_content_types_are_answered_without_a_server_error(site, name, content_type):
    form = FORMS_BY_NAME[name]
    body = b'--zzz\r\nContent-Disposition: form-data; name="body"\r\n\r\n\xff\x00\r\n--zz'
    before = row_counts()
    response = post_raw(site["clients"][form.who], form.url(site), body, content_type=content_type)
    _assert_clean_answer(response, before)


# --- GET parameters and URL segments ---------------------------------------------------------------

PAGES = [
    ("staff:queue", "agent", ["q", "category", "status", "complexity", "level", "breached", "after"]),
    ("staff:queue_tab", "manager", ["q", "category", "status", "complexity", "level", "breached", "after"]),
    ("staff:manager_queue", "manager", ["after"]),
    ("staff:dashboard", "manager", ["weeks"]),
    (
        "staff:export",
        "manager",
        ["submitted_from", "submitted_to", "category", "status", "complexity", "level", "breached"],
    ),
    ("complaints:mine", "owner", ["page"]),
    ("complaints:find", "anonymous", ["reference", "email"]),
    ("accounts:login", "anonymous", ["next"]),
    ("accounts:signup", "anonymous", ["next"]),
    ("accounts:password_reset", "anonymous", ["email"]),
    # The declare form, opened plain, from a queue search (its fields prefixed `search-`) and
    # from a wave alert: a fourth item is the query a page is opened with (naming the site's
    # objects as Form fields do), each parameter troubled on top of it.
    ("staff:incidents", "lead", ["alert", "search-tab", "search-q"]),
    (
        "staff:incidents",
        "lead",
        [
            "search-tab",
            "search-q",
            "search-category",
            "search-status",
            "search-complexity",
            "search-level",
            "search-breached",
        ],
        {"search-tab": "unassigned", "search-q": "example.org"},
    ),
    ("staff:incidents", "manager", ["alert", "search-tab", "search-q"], {"alert": "{alert}"}),
    ("complaints:matching_incidents", "anonymous", ["subcategory", "provider_name"]),
    ("staff:mail_review", "agent", ["page"]),
    ("staff:mail_review_tab", "agent", ["page"]),
    ("staff:privacy_requests", "privacy", ["page"]),
    ("staff:privacy_requests_tab", "privacy", ["page"]),
    ("staff:compliance", "manager", ["period", "regime"]),
    ("staff:compliance_csv", "manager", ["period", "regime"]),
    ("staff:access_log", "manager", ["reference", "after"]),
    ("staff:case_access", "privacy", ["after"]),
    ("accounts:second_factor_setup", "user", ["next"]),
    ("accounts:second_factor_verify", "user", ["next"]),
    ("accounts:second_factor_verify", "unverified", ["next"]),
]
# The tabs of the pages that have them (a tab index picks one), and the pages of one case.
PAGE_TABS = {
    "staff:queue_tab": ["mine", "unassigned", "team"],
    "staff:mail_review_tab": ["waiting", "automatic", "handled", "landed"],
    "staff:privacy_requests_tab": ["open", "answered"],
}
CASE_PAGES = frozenset({"staff:case_access"})


def _opened_with(site: Site, page: tuple[Any, ...]) -> dict[str, str]:
    """The query the page is opened with (PAGES' fourth item), naming the site's objects."""
    return {name: value.format(**site["ids"]) for name, value in (page[3] if len(page) > 3 else {}).items()}


def _page_url(site: Site, name: str, tab: int) -> str:
    if name in PAGE_TABS:
        return reverse(name, args=[PAGE_TABS[name][tab % len(PAGE_TABS[name])]])
    if name in CASE_PAGES:
        return reverse(name, args=[site["complaint"].reference])
    return reverse(name)


def _consume(response) -> None:
    # A streamed response (the CSV export) fails, if at all, while it is read.
    if getattr(response, "streaming", False):
        b"".join(response.streaming_content)


@FAST
@given(
    page=st.sampled_from(PAGES),
    tab=st.integers(0, 3),
    values=st.lists(st.tuples(st.integers(0, 10), text_values), min_size=1, max_size=4),
)
def test_any_text_in_any_query_parameter_is_answered_without_a_server_error(site, page, tab, values):
    name, who, params = page[:3]
    with rolled_back(site):
        query = _opened_with(site, page) | {params[index % len(params)]: value for index, value in values}
        response = site["clients"][who].get(_page_url(site, name, tab), query)
        _consume(response)
        assert response.status_code < 500, response.content[:2000]


@FAST
@given(
    page=st.sampled_from(PAGES),
    tab=st.integers(0, 3),
    values=st.lists(st.tuples(st.integers(0, 10), byte_values), min_size=1, max_size=4),
    encode=st.booleans(),
)
def test_invalid_utf8_in_a_query_string_is_answered_without_a_server_error(site, page, tab, values, encode):
    name, who, params = page[:3]
    with rolled_back(site):
        fields = [(key, value.encode()) for key, value in _opened_with(site, page).items()]
        fields += [(params[index % len(params)], value) for index, value in values]
        response = get_raw(site["clients"][who], _page_url(site, name, tab), raw_body(fields, encode=encode))
        _consume(response)
        assert response.status_code < 500, response.content[:2000]


CURSORS = [
    "",
    "=",
    "AAAA",
    "\x00",
    "MTAw",  # "100": no moments
    "MTAwLjE",  # "100.1"
    "LTEuLTE",  # "-1.-1"
]


@FAST
@given(
    moments=st.lists(st.integers(-(10**20), 10**20), min_size=0, max_size=3),
    pk=st.one_of(st.integers(-(10**30), 10**30), st.sampled_from([2**63, 2**63 - 1, 2**31, -(2**63) - 1])),
    raw=st.sampled_from(CURSORS),
    which=st.sampled_from(["staff:queue", "staff:manager_queue"]),
)
def test_a_forged_paging_cursor_starts_over_or_pages_never_a_server_error(site, moments, pk, raw, which):
    import base64

    forged = base64.urlsafe_b64encode(".".join(str(n) for n in [*moments, pk]).encode()).decode().rstrip("=")
    client = site["clients"]["manager"]
    with rolled_back(site):
        for after in (forged, raw):
            response = client.get(reverse(which), {"after": after})
            assert response.status_code < 500, (after, response.content[:500])


PATH_SEGMENTS = [
    "KN-AAAA-BBBB",
    "%00",
    "a%00b",
    "%ff%fe",
    "%ED%A0%80",
    "%C0%80",
    "..",
    "%2e%2e",
    "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "x" * 3000,
    "%E1%BB%87" * 300,
    "kn-aaaa-bbbb",
    "%20",
    "%0d%0aSet-Cookie:%20x=1",
    "0",
    "-1",
    "2147483648",
    "9223372036854775808",
    "99999999999999999999999",
    "00000000-0000-0000-0000-000000000000",
    "shopnhanh-log-in-down-000000",
    # The site's own: its incident's slug, its wave alert, its e-mail waiting for review, its
    # privacy request, its case and the restricted one.
    "{incident_slug}",
    "{alert}",
    "{mail}",
    "{privacy_request}",
    "{reference}",
    "{restricted}",
]


@FAST
@given(
    segment=st.one_of(
        st.sampled_from(PATH_SEGMENTS),
        st.binary(min_size=1, max_size=60).map(lambda b: quote_from_bytes(b, safe="")),
    ),
    route=st.sampled_from(
        [
            "/complaints/{}/",
            "/complaints/{}/submitted/",
            "/complaints/track/{}/",
            "/complaints/{}/dossier.zip",
            "/complaints/{}/reply/",
            "/complaints/{}/remind/",
            "/staff/cases/{}/note/",
            "/staff/cases/{}/assign/",
            "/evidence/{}/original/",
            "/evidence/00000000-0000-0000-0000-000000000000/{}/",
            "/accounts/password/reset/{}/set-password/",
            "/accounts/password/reset/MQ/{}/",
            "/incidents/{}/",
            "/complaints/{}/incident/",
            "/complaints/{}/consent/",
            "/complaints/{}/privacy-request/",
            "/complaints/{}/contact-details/",
            "/complaints/{}/my-data.zip",
            "/staff/incidents/{}/",
            "/staff/incidents/{}/update/",
            "/staff/incidents/{}/resolve/",
            "/staff/incidents/{}/reply-all/",
            "/staff/incidents/{}/resolve-all/",
            "/staff/waves/{}/dismiss/",
            "/staff/cases/{}/incident/",
            "/staff/cases/{}/links/",
            "/staff/cases/{}/links/remove/",
            "/staff/cases/{}/access/",
            "/staff/mail/{}/",
            "/staff/mail/{}/original.eml",
            "/staff/mail/{}/attach/",
            "/staff/mail/{}/open/",
            "/staff/mail/{}/discard/",
            "/staff/privacy/{}/",
            "/staff/privacy/requests/{}/",
            "/staff/privacy/requests/{}/answer/",
            "/staff/privacy/cases/{}/lift/",
        ]
    ),
    who=st.sampled_from(["owner", "agent", "lead", "manager", "privacy", "anonymous"]),
    method=st.sampled_from(["get", "post"]),
)
def test_any_url_segment_is_a_404_or_a_page_never_a_server_error(site, segment, route, who, method):
    segment = segment.format(**site["ids"]) if segment.startswith("{") else segment
    with rolled_back(site):
        before = row_counts()
        client = site["clients"][who]
        response = getattr(client, method)(route.format(segment), {"body": "x", "version": "1"})
        assert response.status_code < 500, (route, segment, response.content[:500])
        if response.status_code >= 400:
            assert row_counts() == before
        assert "Set-Cookie: x" not in str(response.serialize_headers())


@pytest.mark.parametrize("variant", ["original", "view", "thumb", "x", "ORIGINAL"])
@pytest.mark.parametrize("who", ["owner", "agent", "manager", "anonymous"])
def test_evidence_ids_that_do_not_exist_or_are_not_yours_are_a_404(site, who, variant):
    url = reverse("evidence:download", args=[uuid.uuid4(), variant])
    assert site["clients"][who].get(url).status_code == 404
    assert site["clients"][who].get(url.replace("-", "").upper()).status_code == 404


# --- The known troublemakers, in every field, deterministically -------------------------------------

# The forms that may answer without a message: signing in and out of a language, an account's
# own pages (their success is the next page).
SILENT = frozenset(
    {
        "login",
        "signup",
        "password_reset",
        "profile",
        "password_change",
        "set_language",
        # The code step for someone who owes no code: sent on to the page they asked for.
        "second_factor_verify_without_one",
    }
)
# What a page says when it refuses: a form's errors, an alert, the 400 and 429 pages' own words.
SAYING = ("invalid-feedback", "alert-danger", "alert-warning", 'role="status"', "could not be read")


def _said(response) -> bool:
    """Whether the answer tells the person what happened: a message for the next page, or, on
    the page itself, an error or a status."""
    from django.contrib.messages import get_messages

    if list(get_messages(response.wsgi_request)):
        return True
    if response.status_code in (301, 302, 303) or getattr(response, "streaming", False):
        return False
    return any(marker in response.content.decode(errors="replace") for marker in SAYING)


@pytest.mark.parametrize("form", FORMS, ids=lambda form: form.name)
def test_each_known_troublemaker_in_each_field_of_each_form(site, form):
    client = site["clients"][form.who]
    fields, shown = list(_fill(form, site)), False
    for name in form.troubled or fields or ["anything"]:
        for value in NASTY_TEXT:
            with rolled_back(site):
                data = {**_fill(form, site), name: value}
                before = row_counts()
                response = client.post(form.url(site), data)
                assert response.status_code < 500, (name, value[:50], response.content[:1000])
                if response.status_code >= 400:
                    assert row_counts() == before, (name, value[:50])
                elif row_counts() != before and not (shown and name not in fields):
                    # What was accepted shows where it is read: the case page, to its complainant
                    # and to staff; an incident's pages; the review and privacy lists. (A field
                    # the form does not have changes nothing shown: those pages are read once.)
                    for who, url in form.shown_on(site):
                        page = site["clients"][who].get(url)
                        assert page.status_code == 200, (name, value[:50], who, url)
                    shown = True
                if form.name not in SILENT:
                    assert _said(response), (name, value[:50], response.status_code, response.get("Location"))


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page[0])
def test_each_known_troublemaker_in_each_query_parameter_of_each_page(site, page):
    name, who, params = page[:3]
    client = site["clients"][who]
    for param in params:
        for value in NASTY_TEXT:
            with rolled_back(site):
                response = client.get(_page_url(site, name, 2), {**_opened_with(site, page), param: value})
                _consume(response)
                assert response.status_code < 500, (param, value[:50], response.content[:1000])


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"evidence-0-caption": "a\x00b"}, "Null characters are not allowed."),
        ({"evidence-0-caption": "x" * 301}, "at most 300 characters"),
        ({"evidence-TOTAL_FORMS": "abc"}, "ManagementForm data is missing or has been tampered with"),
        ({"evidence-TOTAL_FORMS": "1001"}, "Please submit at most 20 forms."),
    ],
)
def test_a_refused_upload_says_what_was_wrong(site, data, expected):
    from django.contrib.messages import get_messages

    form = FORMS_BY_NAME["upload"]
    before = row_counts()
    response = site["clients"]["owner"].post(form.url(site), {**form.fields, **data})
    assert response.status_code == 302
    [message] = [str(m) for m in get_messages(response.wsgi_request)]
    assert message.startswith("No file was added:") and expected in message, message
    assert row_counts() == before
