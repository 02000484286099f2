"""The managers' CSV export: csv_safe, RFC 4180 output, filters, access."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.http import StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import Role
from complaints.models import Complaint, Status, Subcategory
from staff.export import COLUMNS, csv_lines, csv_safe, header
from tests.factories import NOW, make_complaint, make_user, sign_in

URL = "/staff/export.csv"


# --- csv_safe: no database ------------------------------------------------------------


@pytest.mark.parametrize("trigger", ["=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20"])
def test_every_formula_trigger_is_neutralised(trigger):
    assert csv_safe(f"{trigger}SUM(A1:A9)") == f"'{trigger}SUM(A1:A9)"
    assert csv_safe(trigger) == f"'{trigger}"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://evil.example","click")', '\'=HYPERLINK("http://evil.example","click")'),
        ("+84 912 345 678", "'+84 912 345 678"),
        ("-2+3", "'-2+3"),
        ("@SUM(1,2)", "'@SUM(1,2)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r\n=1+1", "'\r\n=1+1"),
        # Leading white space: some spreadsheets trim it before deciding.
        (" =1+1", "' =1+1"),
        ("   @cmd", "'   @cmd"),
        ("\n-1", "'\n-1"),
        ("\u00a0+1", "'\u00a0+1"),
    ],
)
def test_formulas_behind_white_space_are_neutralised_too(value, expected):
    assert csv_safe(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "Không đăng nhập được",
        "a=b",
        "mail@example.org",
        "KN-7F3K-Q9XM",
        "100%",
        "",
        "   ",
        "It costs 5-10 đ",
        "'already quoted",
    ],
)
def test_safe_text_is_unchanged(value):
    assert csv_safe(value) == value


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ""),
        (0, "0"),
        (-5, "-5"),  # a number is data, not a formula
        (3.5, "3.5"),
        (Decimal("-1.25"), "-1.25"),
        (True, "True"),
        (date(2026, 3, 2), "2026-03-02"),
        (datetime(2026, 3, 2, 3, 0, tzinfo=UTC), "2026-03-02T03:00:00Z"),
        # An aware time elsewhere is written in UTC.
        (datetime(2026, 3, 2, 10, 0, tzinfo=timezone.get_fixed_timezone(7 * 60)), "2026-03-02T03:00:00Z"),
        (Status.OPEN, "open"),
    ],
)
def test_non_text_values(value, expected):
    assert csv_safe(value) == expected


def test_csv_lines_quote_and_end_lines_as_rfc_4180_says():
    text = "".join(csv_lines(["a", "b"], [["x,y", 'say "hi"'], ["line\nbreak", "cr\rhere"], ["plain", None]]))
    assert text.startswith("\ufeff")
    body = text[1:]
    assert body == 'a,b\r\n"x,y","say ""hi"""\r\n"line\nbreak","cr\rhere"\r\nplain,\r\n'


def test_csv_lines_stream_in_chunks():
    chunks = list(csv_lines(["a"], ([str(i)] for i in range(1200))))
    assert len(chunks) == 1 + 3  # the header, then 500 + 500 + 200 rows
    assert "".join(chunks).count("\r\n") == 1201


# --- The view --------------------------------------------------------------------------


def parse(response) -> list[list[str]]:
    raw = b"".join(response.streaming_content)
    assert raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text, newline="")))


@pytest.fixture
def manager(client):
    sign_in(client, make_user(role=Role.MANAGER, preferred_language="en"))
    client.cookies["django_language"] = "en"
    return client


def test_the_export_url_is_named():
    assert reverse("staff:export") == URL


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "status"), [(None, 404), (Role.AGENT, 404), (Role.TEAM_LEAD, 404), (Role.MANAGER, 200)]
)
def test_only_managers_may_export(client, role, status):
    sign_in(client, make_user(role=role))
    assert client.get(URL).status_code == status


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


@pytest.mark.django_db
def test_the_export_streams_a_utf8_csv_attachment(manager):
    make_complaint()
    response = manager.get(URL)
    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="complaints-{timezone.localdate():%Y%m%d}.csv"'
    )
    raw = b"".join(response.streaming_content)
    assert raw.startswith(b"\xef\xbb\xbf")
    assert raw.count(b"\r\n") == 2 and raw.endswith(b"\r\n")
    assert raw.replace(b"\r\n", b"").count(b"\n") == 0


@pytest.mark.django_db
def test_the_rows_parse_back_to_the_data(manager):
    first = make_complaint(
        subject='Mất tiền, "gấp"\r\nDòng hai',
        contact_email="lan@example.org",
    )
    Complaint.objects.filter(pk=first.pk).update(
        first_responded_at=NOW + timedelta(hours=2), escalation_level=1
    )
    second = make_complaint(now=NOW + timedelta(hours=1), subject="Ứng dụng bị treo")
    rows = parse(manager.get(URL))
    with translation.override("en"):
        assert rows[0] == header()
    assert len(rows) == 3 and len(rows[0]) == len(COLUMNS) == 20
    first.refresh_from_db()
    with translation.override("en"):
        expected = [
            first.reference,
            "2026-03-02T03:00:00Z",
            first.category.name_en,
            first.subcategory.name_en,
            first.get_complexity_display(),
            first.get_status_display(),
            "Team lead",
            "",
            csv_safe(first.first_response_due_at),
            "2026-03-02T05:00:00Z",
            "",
            csv_safe(first.resolution_due_at),
            "",
            "",
            "",
            "",
            "",
            "",
            'Mất tiền, "gấp"\r\nDòng hai',
            "lan@example.org",
        ]
    assert rows[1] == expected
    assert rows[2][0] == second.reference and rows[2][18] == "Ứng dụng bị treo"


@pytest.mark.django_db
def test_formula_injection_is_neutralised_end_to_end(manager):
    make_complaint(subject='=HYPERLINK("http://evil.example","Bấm")', contact_email="x@example.org")
    make_complaint(subject="@SUM(1+1)", now=NOW + timedelta(minutes=1))
    make_complaint(subject="-2+3", now=NOW + timedelta(minutes=2))
    rows = parse(manager.get(URL))
    assert [row[18] for row in rows[1:]] == [
        '\'=HYPERLINK("http://evil.example","Bấm")',
        "'@SUM(1+1)",
        "'-2+3",
    ]


def make_at(at: datetime, sub: str = "cannot-log-in", **fields) -> Complaint:
    category = "account" if sub == "cannot-log-in" else "technical"
    made = make_complaint(now=at, subcategory=Subcategory.objects.get(category__slug=category, slug=sub))
    if fields:
        Complaint.objects.filter(pk=made.pk).update(**fields)
    return made


@pytest.mark.django_db
def test_the_filters_are_applied(manager):
    # 1 March 23:30 and 2 March 00:30 in Ho Chi Minh City.
    late_sunday = make_at(datetime(2026, 3, 1, 16, 30, tzinfo=UTC))
    monday = make_at(datetime(2026, 3, 1, 17, 30, tzinfo=UTC), sub="app", escalation_level=2)
    breached = make_at(NOW + timedelta(days=2), first_response_breached_at=NOW + timedelta(days=3))
    resolved = make_at(NOW + timedelta(days=3), status=Status.RESOLVED, complexity="complex")

    def references(**query) -> set[str]:
        response = manager.get(URL, query)
        assert response.status_code == 200, response.content
        return {row[0] for row in parse(response)[1:]}

    everyone = {late_sunday.reference, monday.reference, breached.reference, resolved.reference}
    assert references() == everyone
    assert references(submitted_to="2026-03-01") == {late_sunday.reference}
    assert references(submitted_from="2026-03-02", submitted_to="2026-03-02") == {monday.reference}
    assert references(submitted_from="2026-03-04") == {breached.reference, resolved.reference}
    assert references(category="technical") == {monday.reference}
    assert references(status="resolved") == {resolved.reference}
    assert references(complexity="complex") == {resolved.reference}
    assert references(level="2") == {monday.reference}
    assert references(breached="on") == {breached.reference}
    assert references(category="account", breached="on", submitted_from="2026-03-05") == set()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"submitted_from": "yesterday"}, "Submitted from: Enter a valid date."),
        ({"submitted_from": "2026-03-05", "submitted_to": "2026-03-01"}, "must not be after"),
        ({"category": "no-such-category"}, "Category: Select a valid choice."),
        ({"status": "lost"}, "Status: Select a valid choice."),
        ({"complexity": "huge"}, "Complexity: Select a valid choice."),
        ({"level": "-1"}, "Level:"),
        ({"level": "two"}, "Level: Enter a whole number."),
    ],
)
def test_an_invalid_filter_is_refused_with_a_clear_message(manager, query, message):
    response = manager.get(URL, query)
    assert response.status_code == 400
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    text = response.content.decode()
    assert "The export was refused because of its filters." in text
    assert message in text


@pytest.mark.django_db
def test_a_resolved_complaint_carries_its_cause_outcome_and_remedy(manager):
    from decimal import Decimal

    from complaints.models import Cause

    made = make_complaint()
    Complaint.objects.filter(pk=made.pk).update(
        status="resolved",
        resolved_at=NOW,
        cause=Cause.objects.get(slug="fraud"),
        outcome="partly_upheld",
        remedy="refund",
        remedy_amount=Decimal("150000"),
        remedy_currency="VND",
    )
    rows = parse(manager.get(URL))
    with translation.override("en"):
        assert rows[0][14:18] == ["Cause", "Outcome", "Remedy", "Refund amount"]
    assert rows[1][14:18] == ["Fraud or account takeover", "Partly upheld", "Refund", "150000.00 VND"]
