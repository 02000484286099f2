"""Whom a case can go to (accounts.active_staff): the active staff and superusers, by name,
each once, found without reading the complainants' accounts."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Role, active_staff
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def test_active_staff_are_the_active_members_of_a_staff_group_and_the_superusers_by_name():
    agent = make_user(username="an", first_name="Zung", role=Role.AGENT)
    lead = make_user(username="binh", first_name="An", role=Role.TEAM_LEAD)
    lead.groups.add(Group.objects.get(name=Role.MANAGER))  # two staff groups: listed once
    root = make_user(username="root", first_name="Minh", is_superuser=True)
    make_user(username="gone", role=Role.AGENT, is_active=False)
    make_user(username="gone-root", is_superuser=True, is_active=False)
    make_user(username="officer", role=Role.PRIVACY_OFFICER)  # handles no cases
    make_user(username="complainant")
    assert list(active_staff()) == [lead, root, agent]


def test_active_staff_are_found_from_the_memberships_and_the_superusers_index():
    """As an OR on accounts, PostgreSQL read every account, complainants' included (10 ms at
    10,000 accounts on the managers' queue and every team lead's page); the ids now come
    from a UNION of the memberships and the superusers' partial index."""
    make_user(role=Role.AGENT)
    with CaptureQueriesContext(connection) as captured:
        list(active_staff())
    [sql] = [query["sql"] for query in captured]
    assert "UNION" in sql
    assert " OR " not in sql
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'accounts_user_superuser_idx'")
        assert "WHERE is_superuser" in cursor.fetchone()[0]
