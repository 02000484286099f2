"""Regimes as data: the seeded laws and regulators, each deadline at its boundary on its own
calendar (Tết, weekends, bank holidays), the rules the table keeps, and the admin."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, transaction
from django.db.models.deletion import ProtectedError
from django.urls import reverse

from complaints.models import Category
from escalation.models import Regime, RegimeDeadline
from tests.factories import make_user, sign_in

pytestmark = pytest.mark.django_db

HCMC = ZoneInfo("Asia/Ho_Chi_Minh")
LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")


def end_of(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)


def deadline(code: str, kind: str) -> RegimeDeadline:
    return RegimeDeadline.objects.select_related("regime__calendar").get(regime__code=code, kind=kind)


# (regime, deadline, start, complex case, its last day, the calendar's zone, why)
BOUNDARIES = [
    # 7 working days from Monday 1 February 2027: Tết (4-10 February) and two weekends skipped.
    ("vn-consumer-2023", "accept", datetime(2027, 2, 1, 10, tzinfo=HCMC), False, date(2027, 2, 17), HCMC),
    # 10 working days from Friday 29 January 2027: 1, 2, 3, then 11 to 19 February.
    ("vn-complaints-2011", "accept", datetime(2027, 1, 29, 16, tzinfo=HCMC), False, date(2027, 2, 19), HCMC),
    # 30 days from acceptance on 7 January 2027 end on Saturday 6 February, in Tết: rolled to the 11th.
    (
        "vn-complaints-2011",
        "final_response",
        datetime(2027, 1, 7, 9, tzinfo=HCMC),
        False,
        date(2027, 2, 11),
        HCMC,
    ),
    # 45 days for a complex case end on Sunday 21 February: rolled to Monday 22.
    (
        "vn-complaints-2011",
        "final_response",
        datetime(2027, 1, 7, 9, tzinfo=HCMC),
        True,
        date(2027, 2, 22),
        HCMC,
    ),
    # Eight weeks from Christmas Eve 2026 in London: calendar days, not rolled.
    (
        "fca-disp",
        "final_response",
        datetime(2026, 12, 24, 16, tzinfo=LONDON),
        False,
        date(2027, 2, 18),
        LONDON,
    ),
    # 15 business days from Monday 21 December 2026: Christmas, Boxing Day (28th) and New Year skipped.
    (
        "fca-disp-payments",
        "final_response",
        datetime(2026, 12, 21, 11, tzinfo=LONDON),
        False,
        date(2027, 1, 14),
        LONDON,
    ),
    # ... and 35 in exceptional circumstances.
    (
        "fca-disp-payments",
        "final_response",
        datetime(2026, 12, 21, 11, tzinfo=LONDON),
        True,
        date(2027, 2, 11),
        LONDON,
    ),
    # The CFPB's 15 days, and 60 at most, from Sunday 20 December 2026 in New York.
    (
        "cfpb",
        "final_response",
        datetime(2026, 12, 20, 20, tzinfo=NEW_YORK),
        False,
        date(2027, 1, 4),
        NEW_YORK,
    ),
    (
        "cfpb",
        "final_response",
        datetime(2026, 12, 20, 20, tzinfo=NEW_YORK),
        True,
        date(2027, 2, 18),
        NEW_YORK,
    ),
]


@pytest.mark.parametrize(("code", "kind", "start", "complex_case", "last_day", "zone"), BOUNDARIES)
def test_each_seeded_deadline_falls_at_the_end_of_its_last_day(
    code, kind, start, complex_case, last_day, zone
):
    rule = deadline(code, kind)
    calendar = rule.regime.calendar.as_sla_calendar()
    period = rule.period(start, calendar, complex_case=complex_case)
    assert period.last_day == last_day
    assert period.due_at == end_of(last_day, zone)
    # A second before the start's local midnight counts from the same day; at midnight, from the
    # next (which may end on the same day, past a weekend or a roll).
    midnight = datetime.combine(start.astimezone(zone).date() + timedelta(days=1), time(0), tzinfo=zone)
    assert rule.period(midnight - timedelta(seconds=1), calendar, complex_case=complex_case) == period
    assert rule.period(midnight, calendar, complex_case=complex_case).last_day >= last_day


def test_the_seeded_regimes_say_what_they_require_in_both_languages_and_count_on_their_calendars():
    regimes = {regime.code: regime for regime in Regime.objects.select_related("calendar")}
    assert set(regimes) == {"vn-consumer-2023", "vn-complaints-2011", "fca-disp", "fca-disp-payments", "cfpb"}
    for regime in regimes.values():
        assert regime.name_vi and regime.name_en and regime.requirement_vi and regime.requirement_en
        assert regime.deadlines.exists()
    assert {regimes[code].calendar.time_zone for code in ("vn-consumer-2023", "vn-complaints-2011")} == {
        "Asia/Ho_Chi_Minh"
    }
    assert regimes["fca-disp"].calendar.time_zone == "Europe/London"
    assert regimes["cfpb"].calendar.time_zone == "America/New_York"
    # Vietnamese law rolls a period ending on a day off; the FCA's and the CFPB's do not.
    assert [code for code, regime in sorted(regimes.items()) if regime.rolls_to_working_day] == [
        "vn-complaints-2011",
        "vn-consumer-2023",
    ]
    # The calendars abroad have their public holidays.
    london = regimes["fca-disp"].calendar.holidays.values_list("date", flat=True)
    assert {date(2026, 12, 25), date(2026, 12, 28), date(2027, 1, 1)} <= set(london)
    assert date(2026, 11, 26) in set(regimes["cfpb"].calendar.holidays.values_list("date", flat=True))
    # No category is attached by the seed: which law applies is the operator's choice.
    assert not Category.objects.filter(regime__isnull=False).exists()


def test_the_table_refuses_a_second_deadline_of_a_kind_a_shorter_complex_one_and_no_days():
    regime = Regime.objects.get(code="fca-disp")
    for values in (
        {"kind": "final_response", "days": 10, "unit": "calendar"},
        {"kind": "accept", "days": 10, "days_if_complex": 9, "unit": "calendar"},
        {"kind": "accept", "days": 0, "unit": "calendar"},
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            RegimeDeadline.objects.create(regime=regime, **values)


def test_a_regime_attached_to_a_category_cannot_be_deleted():
    regime = Regime.objects.get(code="vn-consumer-2023")
    Category.objects.filter(slug__in=Category.objects.values("slug")[:1]).update(regime=regime)
    with pytest.raises(ProtectedError):
        regime.delete()


@pytest.fixture
def admin_client(client):
    sign_in(client, make_user(is_staff=True, is_superuser=True))
    return client


def regime_post(page, regime: Regime, rows: list[dict], **fields) -> dict:
    """The regime change page's form as posted: its fields as shown (with `fields` changed),
    and its deadlines inline, the first row being the regime's existing deadline."""
    form = page.context["adminform"].form
    inline = page.context["inline_admin_formsets"][0].formset
    data = {name: value for name, value in form.initial.items() if value is not None}
    data.update(calendar=regime.calendar_id, **fields)
    data[f"{inline.prefix}-TOTAL_FORMS"] = str(len(rows))
    data[f"{inline.prefix}-INITIAL_FORMS"] = "1"
    data[f"{inline.prefix}-0-id"] = inline.forms[0].instance.pk
    for number, row in enumerate(rows):
        data[f"{inline.prefix}-{number}-regime"] = regime.pk
        data.update({f"{inline.prefix}-{number}-{name}": value for name, value in row.items()})
    # Its letters, posted back as shown.
    letters = page.context["inline_admin_formsets"][1].formset
    data[f"{letters.prefix}-TOTAL_FORMS"] = data[f"{letters.prefix}-INITIAL_FORMS"] = str(len(letters.forms))
    for number, letter in enumerate(letters.forms):
        values = {**letter.initial, "id": letter.instance.pk, "regime": regime.pk}
        data.update(
            {f"{letters.prefix}-{number}-{name}": values[name] for name in letter.fields if name in values}
        )
    return data


def test_an_administrator_edits_a_regime_and_its_deadlines_and_attaches_it_to_a_category(admin_client):
    regime = Regime.objects.get(code="vn-consumer-2023")
    url = reverse("admin:escalation_regime_change", args=[regime.pk])
    page = admin_client.get(url, HTTP_ACCEPT_LANGUAGE="vi")
    assert page.status_code == 200
    assert "Luật Bảo vệ quyền lợi người tiêu dùng 2023" in page.content.decode()
    rows = [
        {"kind": "accept", "days": "7", "unit": "working", "counted_from": "receipt"},
        {"kind": "acknowledge", "days": "2", "unit": "working", "counted_from": "receipt"},
    ]
    data = regime_post(page, regime, rows, rolls_to_working_day="on", requirement_en="Seven working days.")
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    regime.refresh_from_db()
    assert regime.requirement_en == "Seven working days."
    assert sorted(regime.deadlines.values_list("kind", "days")) == [("accept", 7), ("acknowledge", 2)]

    category = Category.objects.filter(is_active=True).first()
    change = admin_client.get(
        reverse("admin:complaints_category_change", args=[category.pk]), HTTP_ACCEPT_LANGUAGE="en"
    )
    assert change.status_code == 200
    assert "Vietnam: Consumer Protection Law 2023 (No. 19/2023/QH15)" in change.content.decode()
    listing = admin_client.get(reverse("admin:escalation_regime_changelist"), HTTP_ACCEPT_LANGUAGE="en")
    assert listing.status_code == 200
    Category.objects.filter(pk=category.pk).update(regime=regime)
    listing = admin_client.get(reverse("admin:escalation_regime_changelist"), HTTP_ACCEPT_LANGUAGE="en")
    assert category.name_en in listing.content.decode()


def test_an_administrator_is_told_why_a_complex_deadline_shorter_than_the_plain_one_is_refused(admin_client):
    regime = Regime.objects.get(code="cfpb")
    url = reverse("admin:escalation_regime_change", args=[regime.pk])
    page = admin_client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    row = {"kind": "final_response", "days": "15", "days_if_complex": "10", "unit": "calendar"}
    data = regime_post(page, regime, [{**row, "counted_from": "receipt"}])
    response = admin_client.post(url, data, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200  # the form again, with the error; nothing saved
    assert "A complex case cannot have fewer days than a plain one." in response.content.decode()
    assert deadline("cfpb", "final_response").days_if_complex == 60


def test_an_administrator_is_told_a_final_response_letter_lacks_its_remedy(admin_client):
    from escalation.models import LetterTemplate

    regime = Regime.objects.get(code="fca-disp")
    url = reverse("admin:escalation_regime_change", args=[regime.pk])
    page = admin_client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    data = regime_post(
        page,
        regime,
        [{"kind": "final_response", "days": "56", "unit": "calendar", "counted_from": "receipt"}],
    )
    letters = page.context["inline_admin_formsets"][1].formset
    final = next(
        number
        for number, letter in enumerate(letters.forms)
        if (letter.instance.kind, letter.instance.language) == ("final_response", "en")
    )
    before = LetterTemplate.objects.get(regime=regime, kind="final_response", language="en").body
    data[f"{letters.prefix}-{final}-body"] = before.replace("{remedy}", "what we decided")
    response = admin_client.post(url, data, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200  # the form again, nothing saved
    assert "This letter must contain {remedy}." in response.content.decode()
    assert LetterTemplate.objects.get(regime=regime, kind="final_response", language="en").body == before
    data[f"{letters.prefix}-{final}-body"] = before + "\n\nRef. {reference}"
    assert admin_client.post(url, data, HTTP_ACCEPT_LANGUAGE="en").status_code == 302
    assert LetterTemplate.objects.get(regime=regime, kind="final_response", language="en").body.endswith(
        "Ref. {reference}"
    )
