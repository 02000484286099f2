"""`manage.py seed_demo`: the README's demo accounts, idempotent, DEBUG only."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Role, User

pytestmark = pytest.mark.django_db


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
