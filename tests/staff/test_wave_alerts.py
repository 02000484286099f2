"""A wave on the staff queues: team leads and managers see its banner until one of them dismisses it
or declares the incident from it (the declare form comes filled in from the wave)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from complaints import services
from complaints.models import Category, Incident, WaveAlert, WaveAlertState
from tests.factories import NOW, file_copies, make_user, sign_in

pytestmark = pytest.mark.django_db

BANNER = 'data-testid="wave-alert"'


@pytest.fixture
def alert() -> WaveAlert:
    """ShopNhanh's log-in complaints: 12 in the hour before NOW, none before: a wave."""
    file_copies([NOW - timedelta(minutes=50 - 4 * n) for n in range(12)], provider_name="ShopNhanh")
    assert services.detect_waves(now=NOW, minimum=10).alerted == 1
    # The pages read the real clock: the last check saw the wave a moment ago.
    WaveAlert.objects.update(last_seen_at=timezone.now())
    return WaveAlert.objects.get()


def signed_in(client: Client, role: str, **fields):
    user = make_user(role=role, **fields)
    sign_in(client, user)
    return user


def declare_form(alert: WaveAlert | None = None, **overrides) -> dict[str, object]:
    return {
        "title_vi": "ShopNhanh không đăng nhập được",
        "title_en": "ShopNhanh log-in down",
        "note_vi": "Đang xử lý.",
        "note_en": "Being worked on.",
        "category": Category.objects.get(slug="account").pk,
        "provider_name": "ShopNhanh",
        "started_at": "2026-03-02T09:00",
        "alert": str(alert.public_id) if alert else "",
        **overrides,
    }


# --- the banner ----------------------------------------------------------------------------------


def test_team_leads_see_the_banner_on_the_queue(client, alert):
    signed_in(client, Role.TEAM_LEAD)
    page = client.get(reverse("staff:queue"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert page.count(BANNER) == 1
    assert "12 complaints about ShopNhanh (Account) in the hour from 2 Mar 2026, 09:00; usually 0" in page
    assert f'href="{reverse("staff:incidents")}?alert={alert.public_id}"' in page
    assert f'action="{reverse("staff:wave_dismiss", args=[alert.public_id])}"' in page


def test_managers_see_it_on_the_escalated_queue_too_in_vietnamese(client, alert):
    signed_in(client, Role.MANAGER)
    for url in (reverse("staff:queue"), reverse("staff:manager_queue")):
        page = client.get(url).content.decode()
        assert page.count(BANNER) == 1
        assert "12 khiếu nại về ShopNhanh (Tài khoản) trong giờ từ 09:00 ngày 02/03/2026" in page
        assert "Công bố một sự cố" in page and "Bỏ qua" in page


@pytest.mark.parametrize(
    ("seen_ago", "shown"), [(timedelta(hours=23, minutes=59), True), (timedelta(days=1, minutes=1), False)]
)
def test_an_open_alert_whose_wave_was_last_seen_over_a_day_ago_leaves_the_banner(
    client, alert, seen_ago, shown
):
    WaveAlert.objects.update(last_seen_at=timezone.now() - seen_ago)
    signed_in(client, Role.TEAM_LEAD)
    page = client.get(reverse("staff:queue"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert page.count(BANNER) == int(shown)
    assert WaveAlert.objects.get().state == WaveAlertState.OPEN  # left as it is: only not shown


def test_agents_do_not_see_it(client, alert):
    signed_in(client, Role.AGENT)
    page = client.get(reverse("staff:queue")).content.decode()
    assert BANNER not in page and str(alert.public_id) not in page


def test_the_banner_costs_leads_one_small_query_and_agents_none(client, alert):
    file_copies([NOW - timedelta(minutes=30)] * 12, provider_name="MoMoney")
    services.detect_waves(now=NOW, minimum=10)  # a second wave
    WaveAlert.objects.update(last_seen_at=timezone.now())
    url = reverse("staff:queue")
    for role, expected in ((Role.TEAM_LEAD, 1), (Role.AGENT, 0)):
        signed_in(client, role)
        client.get(url)  # warm this process's copies
        with CaptureQueriesContext(connection) as captured:
            page = client.get(url).content.decode()
        assert page.count(BANNER) == 2 * expected
        reads = [q["sql"] for q in captured if "complaints_wavealert" in q["sql"]]
        assert len(reads) == expected and not [sql for sql in reads if "complaints_category" in sql]


# --- dismissing --------------------------------------------------------------------------------


def test_a_lead_dismisses_it_and_the_wave_stays_quiet(client, alert):
    lead = signed_in(client, Role.TEAM_LEAD)
    here = reverse("staff:queue_tab", args=["unassigned"])
    response = client.post(reverse("staff:wave_dismiss", args=[alert.public_id]), {"next": here})
    assert response.status_code == 302 and response.url == here
    alert.refresh_from_db()
    assert alert.state == WaveAlertState.DISMISSED and alert.handled_by == lead and alert.handled_at
    assert BANNER not in client.get(here).content.decode()
    assert services.detect_waves(now=NOW + timedelta(minutes=15), minimum=10).ongoing == 1
    assert WaveAlert.objects.count() == 1


def test_dismissing_is_a_post_with_its_csrf_token(alert):
    client = Client(enforce_csrf_checks=True)
    signed_in(client, Role.MANAGER)
    url = reverse("staff:wave_dismiss", args=[alert.public_id])
    assert client.get(url).status_code == 405
    assert client.post(url).status_code == 403
    assert WaveAlert.objects.get().is_open


def test_agents_cannot_dismiss_it(client, alert):
    signed_in(client, Role.AGENT)
    assert client.post(reverse("staff:wave_dismiss", args=[alert.public_id])).status_code == 404
    assert WaveAlert.objects.get().is_open


def test_an_alert_handled_already_is_refused_and_an_unknown_one_is_not_found(client, alert):
    lead = signed_in(client, Role.TEAM_LEAD)
    services.dismiss_wave_alert(alert=alert, by=lead, now=NOW)
    response = client.post(
        reverse("staff:wave_dismiss", args=[alert.public_id]), follow=True, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert "This alert was dismissed already" in response.content.decode()
    unknown = reverse("staff:wave_dismiss", args=["00000000-0000-4000-8000-000000000000"])
    assert client.post(unknown).status_code == 404


def test_after_dismissing_it_goes_back_only_to_a_page_of_the_portal(client, alert):
    signed_in(client, Role.TEAM_LEAD)
    url = reverse("staff:wave_dismiss", args=[alert.public_id])
    response = client.post(url, {"next": "https://attacker.example/queue/"})
    assert response.url == reverse("staff:queue")


@pytest.mark.parametrize("back", ["me", "staff:case", "a\x00b", '"><img src=x>'])
def test_a_next_that_is_no_address_is_not_taken_for_a_page_name(client, alert, back):
    """Found by tests/test_hostile_input.py: `next` went to redirect(), which reversed it as a
    view name first and failed with a 500 for any word without a slash or a dot."""
    signed_in(client, Role.TEAM_LEAD)
    response = client.post(reverse("staff:wave_dismiss", args=[alert.public_id]), {"next": back})
    assert response.status_code == 302
    assert WaveAlert.objects.get().state == WaveAlertState.DISMISSED


# --- declaring the incident from it ----------------------------------------------------------


def test_declare_opens_the_form_filled_in_from_the_wave(client, alert):
    signed_in(client, Role.TEAM_LEAD)
    page = client.get(reverse("staff:incidents"), {"alert": str(alert.public_id)}).content.decode()
    account = Category.objects.get(slug="account").pk
    assert f'<option value="{account}" selected>' in page
    assert 'name="provider_name" value="ShopNhanh"' in page
    assert 'name="started_at" value="2026-03-02T09:00"' in page  # the wave's first hour, local time
    assert f'name="alert" value="{alert.public_id}"' in page
    assert 'data-testid="from-alert"' in page
    plain = client.get(reverse("staff:incidents"), {"alert": "not-an-alert"})
    assert plain.status_code == 200 and 'data-testid="from-alert"' not in plain.content.decode()


def test_declaring_from_the_alert_marks_it_and_links_the_incident(client, alert):
    manager = signed_in(client, Role.MANAGER)
    url = f"{reverse('staff:incidents')}?alert={alert.public_id}"
    response = client.post(url, declare_form(alert))
    incident = Incident.objects.get()
    assert response.status_code == 302 and response.url == reverse("staff:incident", args=[incident.slug])
    alert.refresh_from_db()
    assert (alert.state, alert.incident, alert.handled_by) == (WaveAlertState.DECLARED, incident, manager)
    assert BANNER not in client.get(reverse("staff:queue")).content.decode()
    # The wave is the incident's now: the next check leaves it alone.
    assert services.detect_waves(now=NOW + timedelta(minutes=15), minimum=10).covered == 1


def test_an_invalid_declaration_keeps_the_wave_it_came_from(client, alert):
    signed_in(client, Role.MANAGER)
    url = f"{reverse('staff:incidents')}?alert={alert.public_id}"
    response = client.post(url, declare_form(alert, title_en=""))
    assert response.status_code == 400 and 'data-testid="from-alert"' in response.content.decode()
    assert WaveAlert.objects.get().is_open and not Incident.objects.exists()


@pytest.mark.parametrize("sent", ["\x00", "not-an-alert", "1"])
def test_a_declaration_with_an_alert_that_is_no_id_says_so_on_the_form(client, alert, sent):
    """Found by tests/test_hostile_input.py: the hidden field's error was not shown, so the form came
    back (400) saying nothing about why."""
    signed_in(client, Role.MANAGER)
    response = client.post(
        reverse("staff:incidents"), {**declare_form(alert), "alert": sent}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 400
    assert "This form is incomplete. Reload the page, then retry." in response.content.decode()
    assert WaveAlert.objects.get().is_open and not Incident.objects.exists()


def test_declaring_another_provider_from_the_alert_still_marks_it(client, alert):
    """The lead corrected the provider's name: the alert was acted on all the same."""
    signed_in(client, Role.MANAGER)
    client.post(reverse("staff:incidents"), declare_form(alert, provider_name="Shop Nhanh Việt Nam"))
    assert WaveAlert.objects.get().state == WaveAlertState.DECLARED


def test_an_incident_declared_for_the_same_category_and_provider_marks_the_open_alert(client, alert):
    manager = signed_in(client, Role.MANAGER)
    client.post(reverse("staff:incidents"), declare_form(provider_name="Ví MoMoney"))  # another provider
    assert WaveAlert.objects.get().is_open
    client.post(reverse("staff:incidents"), declare_form(provider_name="SHOPNHANH"))
    alert.refresh_from_db()
    assert alert.state == WaveAlertState.DECLARED and alert.handled_by == manager
    assert alert.incident == Incident.objects.get(provider_key="shopnhanh")


def test_an_alert_declared_already_keeps_its_incident(client, alert):
    signed_in(client, Role.MANAGER)
    client.post(reverse("staff:incidents"), declare_form(alert))
    first = Incident.objects.get()
    client.post(reverse("staff:incidents"), declare_form(alert, title_en="Again"))
    assert WaveAlert.objects.get().incident == first


def test_the_admin_lists_and_reads_the_alerts_without_changing_them(client, alert):
    signed_in(client, None, is_superuser=True, is_staff=True)
    assert (
        alert.provider_name in client.get(reverse("admin:complaints_wavealert_changelist")).content.decode()
    )
    page = client.get(reverse("admin:complaints_wavealert_change", args=[alert.pk]))
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert client.get(reverse("admin:complaints_wavealert_add")).status_code == 403
