"""The managers' compliance report: its figures against a hand-built month, who sees it, its
filters' refusals, its CSV and its Vietnamese."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pytest
from django.urls import reverse

from accounts.models import Role
from complaints.models import Complaint, Notification, NotificationStatus, Outcome, Status
from complaints.records import notice_values, record_event
from escalation.letters import LETTER_NOTICE, Letter, letter_event
from escalation.models import BusinessCalendar, Holiday, LetterKind, Regime, RegimeDeadline
from escalation.policies import forget_policies, regime_rules
from staff import compliance
from tests.factories import NOW, make_complaint, make_user, sign_in

pytestmark = pytest.mark.django_db

URL = "/staff/compliance/"
CSV_URL = "/staff/compliance.csv"
# February 2026 in Ho Chi Minh City (UTC+7): from 31 January 17:00 UTC to 28 February 17:00 UTC.
FEBRUARY = compliance.month(2026, 2)
START = datetime(2026, 1, 31, 17, 0, tzinfo=UTC)
END = datetime(2026, 2, 28, 17, 0, tzinfo=UTC)
SECOND = datetime(2026, 1, 1, 0, 0, 1, tzinfo=UTC) - datetime(2026, 1, 1, tzinfo=UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def under(regime: Regime, *, submitted: datetime, status: str = Status.OPEN, **fields) -> Complaint:
    """A complaint filed through intake, then put under `regime` with its dates set as given."""
    made = make_complaint(now=submitted)
    Complaint.objects.filter(pk=made.pk).update(
        regime=regime, submitted_at=submitted, status=status, **fields
    )
    return Complaint.objects.get(pk=made.pk)


def letter(complaint: Complaint, kind: str, *, recorded: datetime, sent: datetime | None) -> None:
    """A letter as the letter services record it: its e-mail in the outbox, then the event."""
    notice = Notification.objects.create(
        **notice_values(
            complaint_id=complaint.pk,
            email=complaint.contact_email,
            template=LETTER_NOTICE,
            language="en",
            now=recorded,
        ),
        status=NotificationStatus.SENT if sent else NotificationStatus.PENDING,
        sent_at=sent,
    )
    written = Letter(kind=kind, language="en", subject="Letter", body="Dear Ann,")
    record_event(
        complaint=complaint, by=None, now=recorded, **letter_event(written, message_id=notice.message_id)
    )


@pytest.fixture
def regimes() -> tuple[Regime, Regime]:
    """The FCA's general regime, given an acknowledgement deadline (one working day) beside its
    eight weeks, on English business days; and Vietnam's Law on Complaints (acceptance in 10
    working days, final response), on the Vietnamese office calendar, whose Tết falls on
    16-20 February 2026."""
    fca = Regime.objects.get(code="fca-disp")
    RegimeDeadline.objects.create(regime=fca, kind="acknowledge", days=1, unit="working")
    vn = Regime.objects.get(code="vn-complaints-2011")
    office = BusinessCalendar.objects.get(pk=vn.calendar_id)
    for day in range(16, 21):
        Holiday.objects.get_or_create(
            calendar=office, date=date(2026, 2, day), defaults={"name_vi": "Tết", "name_en": "Tết"}
        )
    forget_policies()
    assert date(2026, 2, 17) in regime_rules(vn.pk).calendar.holidays
    return fca, vn


@pytest.fixture
def february(regimes) -> dict[str, Complaint]:
    """Complaints on both sides of February's edges and of the 3-business-day cut-off (see the
    expectations in the tests below, worked out by hand)."""
    fca, vn = regimes
    made: dict[str, Complaint] = {}
    # --- FCA (London is on UTC in February) ---
    # Monday 2nd: acknowledged in time; closed Thursday, the third business day: prompt; upheld.
    made["a1"] = under(
        fca,
        submitted=utc(2026, 2, 2, 10),
        status=Status.CLOSED,
        acknowledge_due_at=utc(2026, 2, 4),
        acknowledged_at=utc(2026, 2, 2, 10, 5),
        final_response_due_at=utc(2026, 3, 31),
        final_response_at=utc(2026, 2, 5, 23, 59),
        outcome=Outcome.UPHELD,
    )
    # Friday 6th: acknowledged late (no breach recorded); the cut-off is the end of Wednesday
    # 11th (the weekend does not count): closed Thursday 12th, not prompt; not upheld.
    made["a2"] = under(
        fca,
        submitted=utc(2026, 2, 6, 12),
        status=Status.RESOLVED,
        acknowledge_due_at=utc(2026, 2, 10),
        acknowledged_at=utc(2026, 2, 10, 8),
        final_response_due_at=utc(2026, 4, 4),
        final_response_at=utc(2026, 2, 12, 9),
        outcome=Outcome.NOT_UPHELD,
    )
    # Friday 6th too: never acknowledged (late); closed at 23:30 on Wednesday 11th: prompt;
    # partly upheld.
    made["a3"] = under(
        fca,
        submitted=utc(2026, 2, 6, 13),
        status=Status.RESOLVED,
        acknowledge_due_at=utc(2026, 2, 10),
        final_response_due_at=utc(2026, 4, 4),
        final_response_at=utc(2026, 2, 11, 23, 30),
        outcome=Outcome.PARTLY_UPHELD,
    )
    # A second before February (23:59:59 on 31 January in Ho Chi Minh City, a Saturday in
    # London): not received in it; closed in it, on the third business day: prompt; no outcome.
    made["a4"] = under(
        fca,
        submitted=START - SECOND,
        status=Status.CLOSED,
        final_response_due_at=utc(2026, 3, 28),
        final_response_at=utc(2026, 2, 4, 10),
    )
    # At February's first moment: received; no acknowledgement deadline.
    made["a5"] = under(fca, submitted=START)
    # From January: its final response deadline missed a second before February ends.
    made["a6"] = under(
        fca,
        submitted=utc(2026, 1, 3, 9),
        final_response_due_at=END - SECOND,
        final_response_breached_at=END - SECOND,
        escalation_level=1,
    )
    # From January: missed at the moment February ends (a March breach).
    made["a7"] = under(
        fca, submitted=utc(2026, 1, 3, 10), final_response_due_at=END, final_response_breached_at=END
    )
    # From December: answered in February after its deadline, which the sweep never flagged:
    # missed; closed in February, not within the deadline; upheld.
    made["a8"] = under(
        fca,
        submitted=utc(2025, 12, 1, 9),
        status=Status.CLOSED,
        final_response_due_at=utc(2026, 1, 26),
        final_response_at=utc(2026, 2, 10, 9),
        outcome=Outcome.UPHELD,
    )
    # Received on the 27th, its acknowledgement due after NOW: pending.
    made["a9"] = under(fca, submitted=utc(2026, 2, 27, 9), acknowledge_due_at=utc(2026, 3, 3))
    # Received a second before February ends, but under no regime: in no figure.
    made["none"] = make_complaint(now=END - SECOND)
    Complaint.objects.filter(pk=made["none"].pk).update(
        submitted_at=END - SECOND, final_response_at=END - SECOND
    )

    # --- Vietnam (UTC+7), Tết from Monday 16th to Friday 20th ---
    # Friday 13th, 10:00: the third working day after it is Wednesday 25th (the weekends and Tết
    # do not count). Accepted in time; closed at 23:59 local on the 25th: prompt; upheld.
    made["b1"] = under(
        vn,
        submitted=utc(2026, 2, 13, 3),
        status=Status.CLOSED,
        accept_due_at=utc(2026, 2, 26, 17),
        accepted_at=utc(2026, 2, 13, 4),
        final_response_due_at=utc(2026, 3, 15, 17),
        final_response_at=utc(2026, 2, 25, 16, 59),
        outcome=Outcome.UPHELD,
    )
    # Friday 13th, 11:00: its acceptance missed on the 27th; closed at 00:00 local on the 26th:
    # not prompt, though within the final response deadline; not upheld.
    made["b2"] = under(
        vn,
        submitted=utc(2026, 2, 13, 4),
        status=Status.RESOLVED,
        accept_due_at=utc(2026, 2, 26, 17),
        accept_breached_at=utc(2026, 2, 26, 17),
        accepted_at=utc(2026, 2, 27, 2),
        final_response_due_at=utc(2026, 3, 20, 17),
        final_response_at=utc(2026, 2, 25, 17),
        outcome=Outcome.NOT_UPHELD,
    )
    # Received at the end of February's last day: nothing else yet.
    made["b3"] = under(vn, submitted=END - SECOND)
    # Received in March, its acceptance missed in March: in no February figure.
    made["b4"] = under(vn, submitted=END, accept_due_at=END, accept_breached_at=END)

    # --- Letters ---
    letter(
        made["a1"], LetterKind.ACKNOWLEDGEMENT, recorded=utc(2026, 2, 2, 10, 5), sent=utc(2026, 2, 2, 10, 6)
    )
    # Recorded in time, but its e-mail left after the acknowledgement deadline: late.
    letter(
        made["a2"], LetterKind.ACKNOWLEDGEMENT, recorded=utc(2026, 2, 9, 23, 59), sent=utc(2026, 2, 10, 0, 1)
    )
    # A holding letter still unsent, its final response deadline passed: late.
    letter(made["a6"], LetterKind.HOLDING, recorded=utc(2026, 2, 20), sent=None)
    # A final response sent after its deadline: late.
    letter(made["a8"], LetterKind.FINAL_RESPONSE, recorded=utc(2026, 2, 10, 9), sent=utc(2026, 2, 10, 9, 1))
    # A holding letter unsent, but its deadline is still ahead: not late (yet).
    letter(made["a9"], LetterKind.HOLDING, recorded=utc(2026, 2, 27, 9), sent=None)
    Complaint.objects.filter(pk=made["a9"].pk).update(final_response_due_at=utc(2026, 4, 24))
    # Late, but recorded when February had ended: not in it.
    letter(made["a7"], LetterKind.HOLDING, recorded=END, sent=None)
    # Sent at its final response deadline exactly: in time.
    letter(
        made["b1"], LetterKind.FINAL_RESPONSE, recorded=utc(2026, 2, 25, 16, 59), sent=utc(2026, 3, 15, 17)
    )
    return made


def report(regime: Regime | None = None) -> compliance.ComplianceReport:
    return compliance.build_report(period=FEBRUARY, regime=regime, now=NOW)


def table(built: compliance.ComplianceReport, code: str) -> compliance.RegimeFigures:
    (found,) = [each for each in built.regimes if each.regime.code == code]
    return found


def deadlines(figures: compliance.RegimeFigures) -> dict[str, tuple[int, int]]:
    return {each.kind: (each.met, each.missed) for each in figures.deadlines}


def test_february_is_counted_in_the_portal_time_zone():
    assert (FEBRUARY.start, FEBRUARY.end) == (START, END)


def test_the_fca_table_counts_every_figure_of_the_month(february):
    fca = table(report(), "fca-disp")
    assert fca.received == 5  # a1, a2, a3, a5, a9
    assert (
        fca.acknowledge_due,
        fca.acknowledged_in_time,
        fca.acknowledged_late,
        fca.acknowledge_pending,
    ) == (
        4,
        1,
        2,
        1,
    )
    # acknowledge: a1 met, a2 late; final response: a1-a4 met, a6 breached, a8 answered late
    assert deadlines(fca) == {"acknowledge": (1, 1), "final_response": (4, 2)}
    assert (fca.closed, fca.closed_promptly, fca.closed_in_deadline) == (5, 3, 4)
    assert (fca.closed_with_outcome, fca.upheld) == (4, 3)
    assert fca.breaches == 1
    assert fca.late_letters == 3
    assert fca.upheld_share.percent == 75.0
    assert fca.prompt_share.percent == 60.0


def test_the_vietnamese_table_skips_tet_for_the_three_business_days(february):
    vn = table(report(), "vn-complaints-2011")
    assert vn.received == 3  # b1, b2, b3
    assert (vn.acknowledge_due, vn.acknowledged_in_time) == (0, 0)
    assert deadlines(vn) == {"accept": (1, 1), "final_response": (2, 0)}
    assert (vn.closed, vn.closed_promptly, vn.closed_in_deadline) == (2, 1, 2)
    assert (vn.closed_with_outcome, vn.upheld) == (2, 1)
    assert vn.breaches == 1
    assert vn.late_letters == 0


def test_breaches_are_listed_with_their_references_oldest_first(february):
    built = report()
    assert built.breach_total == 2
    assert [(b.reference, b.kind, b.due_at, b.breached_at, b.status) for b in built.breaches] == [
        (february["b2"].reference, "accept", utc(2026, 2, 26, 17), utc(2026, 2, 26, 17), Status.RESOLVED),
        (february["a6"].reference, "final_response", END - SECOND, END - SECOND, Status.OPEN),
    ]


def test_letters_sent_late_are_listed_with_their_references(february):
    built = report()
    assert built.late_letter_total == 3
    assert [(x.reference, x.letter, x.due_at, x.sent_at) for x in built.late_letters] == [
        (february["a2"].reference, "acknowledgement", utc(2026, 2, 10), utc(2026, 2, 10, 0, 1)),
        (february["a8"].reference, "final_response", utc(2026, 1, 26), utc(2026, 2, 10, 9, 1)),
        (february["a6"].reference, "holding", END - SECOND, None),
    ]


def test_one_regime_chosen_gives_its_table_alone(february, regimes):
    _fca, vn = regimes
    built = report(vn)
    assert [each.regime.code for each in built.regimes] == ["vn-complaints-2011"]
    assert built.breach_total == 1
    assert [b.reference for b in built.breaches] == [february["b2"].reference]
    assert built.late_letter_total == 0


def test_a_regime_with_nothing_in_the_period_has_no_table_among_all(february):
    codes = [each.regime.code for each in report().regimes]
    assert codes == ["fca-disp", "vn-complaints-2011"]


def test_the_quarter_holds_the_month(february):
    built = compliance.build_report(period=compliance.quarter(2026, 1), regime=None, now=NOW)
    fca = table(built, "fca-disp")
    # January adds a6 and a7 (received), a4 (received a second before February)
    assert fca.received == 8
    assert (fca.closed, fca.closed_promptly) == (5, 3)


# --- Periods ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "first", "last"),
    [
        ("2026-02", date(2026, 2, 1), date(2026, 2, 28)),
        ("2024-02", date(2024, 2, 1), date(2024, 2, 29)),
        ("2025-12", date(2025, 12, 1), date(2025, 12, 31)),
        ("2026-Q1", date(2026, 1, 1), date(2026, 3, 31)),
        ("2026-q4", date(2026, 10, 1), date(2026, 12, 31)),
        ("2025", date(2025, 1, 1), date(2025, 12, 31)),
    ],
)
def test_a_period_code_names_its_days(code, first, last):
    period = compliance.parse_period(code)
    assert (period.first, period.last) == (first, last)


@pytest.mark.parametrize(
    "code", ["2026-13", "2026-00", "2026-Q5", "1999", "26-02", "February", "2026-02-01", ""]
)
def test_a_code_naming_no_period_is_refused(code):
    assert compliance.parse_period(code) is None


def test_the_default_period_is_the_last_full_month():
    assert compliance.last_full_month(date(2026, 3, 2)) == FEBRUARY
    assert compliance.last_full_month(date(2026, 1, 31)).code == "2025-12"


# --- The page and the CSV --------------------------------------------------------------------


def test_the_report_urls_are_named():
    assert reverse("staff:compliance") == URL
    assert reverse("staff:compliance_csv") == CSV_URL


@pytest.mark.parametrize(
    ("role", "status"),
    [(None, 404), (Role.AGENT, 404), (Role.TEAM_LEAD, 404), (Role.MANAGER, 200), ("superuser", 200)],
)
@pytest.mark.parametrize("url", [URL, CSV_URL])
def test_only_managers_see_the_report(client, role, status, url):
    user = make_user(is_superuser=True) if role == "superuser" else make_user(role=role)
    sign_in(client, user)
    assert client.get(url).status_code == status


@pytest.mark.parametrize("url", [URL, CSV_URL])
def test_anonymous_visitors_are_sent_to_sign_in(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


@pytest.fixture
def manager(client):
    sign_in(client, make_user(role=Role.MANAGER))
    return client


def test_managers_find_the_report_in_the_staff_menu(manager):
    page = manager.get("/staff/dashboard/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f'href="{URL}"' in page


def test_the_page_shows_the_tables_lists_and_links(manager, february):
    page = manager.get(URL, {"period": "2026-02"}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-testid="figures-fca-disp"' in page
    assert 'data-testid="figures-vn-complaints-2011"' in page
    assert f'href="/staff/cases/{february["a6"].reference}/"' in page
    assert f'href="/staff/cases/{february["a2"].reference}/"' in page
    assert "Within 3 business days" in page or "Closed within 3 business days" in page
    assert "compliance.csv?period=2026-02" in page


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"period": "2026-13"}, "Choose a month (2026-02), a quarter (2026-Q1) or a year (2026)"),
        ({"period": "x" * 5000}, "Choose a month"),
        ({"period": "2999"}, "This period has not begun yet."),
        ({"regime": "nobody"}, "Choose a regime from the list."),
        ({"period": "2026-02", "regime": "'; DROP TABLE"}, "Choose a regime from the list."),
    ],
)
def test_bad_filters_are_refused_with_a_message(manager, query, message):
    response = manager.get(URL, query, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert message in response.content.decode()
    refused = manager.get(CSV_URL, query, HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 400
    assert message in refused.content.decode()


def test_the_page_and_its_refusals_read_in_vietnamese(manager, february):
    page = manager.get(URL, {"period": "2026-02"}, HTTP_ACCEPT_LANGUAGE="vi").content.decode()
    assert "Báo cáo tuân thủ" in page
    assert "Đóng trong vòng 3 ngày làm việc" in page
    assert "Tháng 2/2026" in page
    refused = manager.get(URL, {"period": "2026-13"}, HTTP_ACCEPT_LANGUAGE="vi").content.decode()
    assert "Hãy chọn một tháng" in refused


def rows_of(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def test_the_csv_carries_the_figures_and_every_breach_and_late_letter(manager, february):
    response = manager.get(CSV_URL, {"period": "2026-02"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response["Content-Disposition"] == 'attachment; filename="compliance-2026-02.csv"'
    rows = rows_of(response)
    name = Regime.objects.get(code="fca-disp").name_en
    figures = {(row[0], row[1]): row[2:] for row in rows if len(row) == 5}
    assert figures[(name, "Complaints received")] == ["5", "", ""]
    assert figures[(name, "Closed within 3 business days")] == ["3", "5", "60.0"]
    assert figures[(name, "Upheld (in full or in part)")] == ["3", "4", "75.0"]
    assert figures[(name, "Final response: missed")] == ["2", "6", ""]
    references = {row[0] for row in rows if len(row) == 6}
    assert {february["a6"].reference, february["b2"].reference} <= references
    assert {february["a2"].reference, february["a8"].reference} <= references


def test_the_csv_lists_every_breach_beyond_the_page_cap(manager, regimes, monkeypatch):
    fca, _vn = regimes
    for n in range(3):
        under(
            fca,
            submitted=utc(2026, 1, 5),
            final_response_due_at=utc(2026, 2, 10, n),
            final_response_breached_at=utc(2026, 2, 10, n),
        )
    monkeypatch.setattr(compliance, "LIST_CAP", 2)
    built = report()
    assert (built.breach_total, len(built.breaches)) == (3, 2)
    page = manager.get(URL, {"period": "2026-02"}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "The first 2 are listed" in page
    rows = rows_of(manager.get(CSV_URL, {"period": "2026-02"}, HTTP_ACCEPT_LANGUAGE="en"))
    assert len([row for row in rows if len(row) == 6 and row[0].startswith("KN-")]) == 3


def test_the_csv_runs_no_formula_a_regime_name_holds(manager, february):
    Regime.objects.filter(code="fca-disp").update(name_en='=HYPERLINK("http://evil")')
    forget_policies()
    rows = rows_of(
        manager.get(CSV_URL, {"period": "2026-02", "regime": "fca-disp"}, HTTP_ACCEPT_LANGUAGE="en")
    )
    assert ['\'=HYPERLINK("http://evil")', "Complaints received", "5", "", ""] in rows
