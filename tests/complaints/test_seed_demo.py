"""`manage.py seed_demo`: the README's demo accounts, idempotent, DEBUG only."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts import second_factor
from accounts.models import Role, User
from complaints.models import Complaint, EventKind, Incident, IncidentStatus
from tests.conftest import ROOT
from tests.factories import totp_code

pytestmark = pytest.mark.django_db

STAFF = ("agent", "lead", "manager", "admin")


def test_seed_demo_creates_each_demo_account_once_with_its_role(settings):
    settings.DEBUG = True
    call_command("seed_demo")
    call_command("seed_demo")
    users = {u.username: u for u in User.objects.all()}
    assert sorted(users) == ["admin", "agent", "complainant", "lead", "manager"]
    assert all(u.is_demo and u.check_password("demo") for u in users.values())
    assert users["agent"].has_role(Role.AGENT) and not users["agent"].is_lead
    assert users["lead"].has_role(Role.TEAM_LEAD) and not users["lead"].is_manager
    assert users["manager"].is_manager
    assert not users["complainant"].is_agent
    assert users["admin"].is_superuser and users["admin"].is_staff
    complaints = users["complainant"].complaints.order_by("submitted_at")
    assert [c.status for c in complaints] == ["resolved", "awaiting_complainant", "new"]


def test_seed_demo_refuses_to_run_without_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError):
        call_command("seed_demo")
    assert not User.objects.exists()


def test_the_demo_staff_share_the_authenticator_secret_the_readme_shows(settings):
    settings.DEBUG = True
    readme = (ROOT / "README.md").read_text()
    secret = re.search(r"authenticator\s+secret `([A-Z2-7 ]+)`", readme).group(1)
    call_command("seed_demo")
    devices = {name: second_factor.authenticator(User.objects.get(username=name)) for name in STAFF}
    call_command("seed_demo")
    for name, device in devices.items():
        assert second_factor.authenticator(User.objects.get(username=name)) == device  # kept
        # A code an app computes from the README's secret signs the account in.
        check = second_factor.check_code(user=device.user, code=totp_code(secret))
        assert check.device == device, name
    assert second_factor.authenticator(User.objects.get(username="complainant")) is None


def test_the_demos_undelivered_goods_are_under_the_consumer_law_and_say_how_their_deadline_falls(settings):
    settings.DEBUG = True
    call_command("seed_demo", stdout=StringIO())
    complaint = Complaint.objects.get(subcategory__slug="not-received", complainant__username="complainant")
    assert complaint.regime.code == "vn-consumer-2023"
    assert complaint.accept_due_at is not None and complaint.accepted_at is not None  # staff opened it


def test_the_demo_has_an_open_incident_the_filing_form_shows_and_one_case_linked(settings, client):
    settings.DEBUG = True
    call_command("seed_demo", stdout=StringIO())
    call_command("seed_demo", stdout=StringIO())
    incident = Incident.objects.get()
    assert incident.status == IncidentStatus.OPEN and incident.updates.count() == 1
    linked = Complaint.objects.get(incident=incident)
    assert linked.complainant.username == "complainant" and linked.subcategory.slug == "cannot-log-in"
    assert linked.events.filter(kind=EventKind.INCIDENT_UPDATE).count() == 1
    shown = client.get(
        "/complaints/new/incidents/", {"subcategory": linked.subcategory_id, "provider_name": "shopnhanh"}
    )
    assert incident.title_vi in shown.content.decode()
