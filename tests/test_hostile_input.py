"""Hostile input on every form and URL parameter: a clear error or success, never a 500,
and a refused request leaves nothing half-saved.

The intake form has its own fuzz test (tests/complaints/test_intake_fuzz.py); this module
covers everything else: the complainant's actions on the case page, find-my-complaint,
tracking links, accounts, the staff actions, the queues, the dashboard, the CSV export,
evidence and the dossier. Hypothesis runs each example in a transaction that is rolled
back, so examples never see each other's rows.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import quote_from_bytes

import pytest
from django.conf import settings as django_settings
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import Role
from complaints.models import Complaint, ComplaintEvent, ContactAttempt, Notification, Subcategory
from evidence.models import Evidence
from tests.factories import make_complaint, make_user, sign_in

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
def rolled_back() -> Iterator[None]:
    """Run the block in a transaction that is always rolled back."""
    with contextlib.suppress(Rollback), transaction.atomic():
        yield
        raise Rollback


def row_counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (Complaint, ComplaintEvent, ContactAttempt, Notification, Evidence)
    }


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


@dataclass(frozen=True)
class Form:
    name: str
    who: str  # "owner", "manager", "agent", "anonymous", "user"
    url: Callable[[Complaint], str]
    fields: dict[str, str]


def _complaint_url(name: str) -> Callable[[Complaint], str]:
    return lambda complaint: reverse(name, args=[complaint.reference])


def _plain_url(name: str) -> Callable[[Complaint], str]:
    return lambda complaint: reverse(name)


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
]
FORMS_BY_NAME = {form.name: form for form in FORMS}


@pytest.fixture
def site(db):
    """A complaint owned by a signed-in complainant, and staff in every role."""
    owner = make_user(username="owner", first_name="Lan")
    people = {
        "owner": owner,
        "user": owner,
        "agent": make_user(username="agent", role=Role.AGENT),
        "manager": make_user(username="manager", role=Role.MANAGER),
        "anonymous": None,
    }
    complaint = make_complaint(by=owner, now=timezone.now() - timedelta(days=20))
    clients = {who: client_for(user) for who, user in people.items()}
    return {"complaint": complaint, "people": people, "clients": clients}


def _fill(form: Form, complaint: Complaint) -> dict[str, str]:
    data = dict(form.fields)
    if "version" in data:
        data["version"] = str(Complaint.objects.get(pk=complaint.pk).version)
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
    with rolled_back():
        complaint = site["complaint"]
        data = _fill(form, complaint)
        names = list(data) or ["anything"]
        for index, value in enumerate(values):
            data[names[index % len(names)]] = value
        data.update(extra)
        before = row_counts()
        response = site["clients"][form.who].post(form.url(complaint), data)
        _assert_clean_answer(response, before)


@FAST
@given(
    form=st.sampled_from(FORMS), values=st.lists(byte_values, min_size=1, max_size=4), encode=st.booleans()
)
def test_invalid_utf8_and_raw_bytes_in_a_posted_body_never_cause_a_server_error(site, form, values, encode):
    with rolled_back():
        complaint = site["complaint"]
        data = _fill(form, complaint)
        names = list(data) or ["anything"]
        fields = [(name, value.encode()) for name, value in data.items()]
        for index, value in enumerate(values):
            fields.append((names[index % len(names)], value))
        before = row_counts()
        response = post_raw(site["clients"][form.who], form.url(complaint), raw_body(fields, encode=encode))
        _assert_clean_answer(response, before)


@pytest.mark.parametrize("form", FORMS, ids=lambda form: form.name)
def test_a_thousand_and_one_fields_are_refused_with_400_and_nothing_saved(site, form):
    complaint = site["complaint"]
    data = _fill(form, complaint)
    fields = [(name, value.encode()) for name, value in data.items()]
    fields += [
        (f"f{n}", b"x") for n in range(django_settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1 - len(fields))
    ]
    assert len(fields) == django_settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1
    before = row_counts()
    response = post_raw(site["clients"][form.who], form.url(complaint), raw_body(fields, encode=True))
    assert response.status_code == 400
    assert row_counts() == before


@pytest.mark.parametrize("form", FORMS, ids=lambda form: form.name)
def test_a_body_over_the_memory_limit_is_refused_with_400_and_nothing_saved(site, form):
    complaint = site["complaint"]
    data = _fill(form, complaint)
    first = next(iter(data), "body")
    data[first] = "x" * (django_settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    fields = [(name, value.encode()) for name, value in data.items()]
    before = row_counts()
    response = post_raw(site["clients"][form.who], form.url(complaint), raw_body(fields, encode=False))
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
    complaint = site["complaint"]
    body = b'--zzz\r\nContent-Disposition: form-data; name="body"\r\n\r\n\xff\x00\r\n--zz'
    before = row_counts()
    response = post_raw(site["clients"][form.who], form.url(complaint), body, content_type=content_type)
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
]


def _page_url(name: str, tab: str) -> str:
    return reverse(name, args=[tab]) if name == "staff:queue_tab" else reverse(name)


def _consume(response) -> None:
    # A streamed response (the CSV export) fails, if at all, while it is read.
    if getattr(response, "streaming", False):
        b"".join(response.streaming_content)


@FAST
@given(
    page=st.sampled_from(PAGES),
    tab=st.sampled_from(["mine", "unassigned", "team"]),
    values=st.lists(st.tuples(st.integers(0, 10), text_values), min_size=1, max_size=4),
)
def test_any_text_in_any_query_parameter_is_answered_without_a_server_error(site, page, tab, values):
    name, who, params = page
    with rolled_back():
        query = {params[index % len(params)]: value for index, value in values}
        response = site["clients"][who].get(_page_url(name, tab), query)
        _consume(response)
        assert response.status_code < 500, response.content[:2000]


@FAST
@given(
    page=st.sampled_from(PAGES),
    tab=st.sampled_from(["mine", "unassigned", "team"]),
    values=st.lists(st.tuples(st.integers(0, 10), byte_values), min_size=1, max_size=4),
    encode=st.booleans(),
)
def test_invalid_utf8_in_a_query_string_is_answered_without_a_server_error(site, page, tab, values, encode):
    name, who, params = page
    with rolled_back():
        fields = [(params[index % len(params)], value) for index, value in values]
        response = get_raw(site["clients"][who], _page_url(name, tab), raw_body(fields, encode=encode))
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
    with rolled_back():
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
        ]
    ),
    who=st.sampled_from(["owner", "manager", "anonymous"]),
    method=st.sampled_from(["get", "post"]),
)
def test_any_url_segment_is_a_404_or_a_page_never_a_server_error(site, segment, route, who, method):
    with rolled_back():
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


@pytest.mark.parametrize("form", FORMS, ids=lambda form: form.name)
def test_each_known_troublemaker_in_each_field_of_each_form(site, form):
    complaint = site["complaint"]
    client = site["clients"][form.who]
    for name in list(_fill(form, complaint)) or ["anything"]:
        for value in NASTY_TEXT:
            with rolled_back():
                data = {**_fill(form, complaint), name: value}
                before = row_counts()
                response = client.post(form.url(complaint), data)
                assert response.status_code < 500, (name, value[:50], response.content[:1000])
                if response.status_code >= 400:
                    assert row_counts() == before, (name, value[:50])
                elif row_counts() != before:
                    # What was accepted shows on the case page, to its complainant and to staff.
                    for who, case_page in (("owner", "complaints:detail"), ("manager", "staff:case")):
                        page = site["clients"][who].get(reverse(case_page, args=[complaint.reference]))
                        assert page.status_code == 200, (name, value[:50], who)


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page[0])
def test_each_known_troublemaker_in_each_query_parameter_of_each_page(site, page):
    name, who, params = page
    client = site["clients"][who]
    for param in params:
        for value in NASTY_TEXT:
            with rolled_back():
                response = client.get(_page_url(name, "team"), {param: value})
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
    complaint = site["complaint"]
    before = row_counts()
    response = site["clients"]["owner"].post(form.url(complaint), {**form.fields, **data})
    assert response.status_code == 302
    [message] = [str(m) for m in get_messages(response.wsgi_request)]
    assert message.startswith("No file was added:") and expected in message, message
    assert row_counts() == before
