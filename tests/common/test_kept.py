"""Settings kept in each process (common.kept): the ladder beside the categories, read again as
soon as one changes, here or in another process; a request reads their version once."""

from __future__ import annotations

from unittest import mock

import pytest
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Role
from common import kept
from escalation import standing
from escalation.models import EscalationLevel
from tests.factories import make_user, sign_in

pytestmark = pytest.mark.django_db


def ladder_queries(client, url: str) -> tuple[str, int]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    return response.content.decode(), sum("escalation_escalationlevel" in q["sql"] for q in captured)


@pytest.mark.parametrize("page", ["staff:queue", "staff:manager_queue", "staff:dashboard"])
def test_the_staff_pages_name_the_rungs_from_the_kept_ladder_and_see_a_rename(client, page):
    sign_in(client, make_user(role=Role.MANAGER))
    url = reverse(page)
    client.get(url)  # read once
    _body, queries = ladder_queries(client, url)
    assert queries == 0
    level = EscalationLevel.objects.get(rank=2)
    level.name_en = "Head of complaints"
    level.save()  # the admin's save: post_save
    body, queries = ladder_queries(client, url)
    assert queries == 1
    if page == "staff:dashboard":  # the one of these pages that names every rung
        assert "Head of complaints" in body


def test_a_rung_renamed_in_another_process_is_read_at_the_next_request(client):
    """Another process's change reaches this one through the shared version alone."""
    sign_in(client, make_user(role=Role.MANAGER))
    url = reverse("staff:dashboard")
    client.get(url)
    kept_before = standing._levels.kept
    EscalationLevel.objects.filter(rank=2).update(name_en="Head of complaints")  # no signal
    body, _queries = ladder_queries(client, url)
    assert "Head of complaints" not in body  # this process's copy, within the minute
    caches["default"].set(kept.VERSION_KEY, "changed by another process", timeout=None)
    standing._levels.kept = kept_before
    body, queries = ladder_queries(client, url)
    assert queries == 1
    assert "Head of complaints" in body


def test_a_request_reads_the_version_once_whatever_it_reads():
    backend = caches["default"]
    with mock.patch.object(backend, "get", wraps=backend.get) as get:
        kept.version()
        kept.version()
        assert get.call_count == 2  # outside a request, every read asks
        kept.request_started()  # as the signal does (sent here, it would close the test's connection)
        try:
            kept.version()
            kept.version()
            standing.levels()
            assert get.call_count == 3
            kept.changed()  # a save within the request: read again after it
            assert kept.version() is not None
            assert get.call_count == 4
            kept.version()
            assert get.call_count == 4
        finally:
            kept.request_finished()
        kept.version()
        assert get.call_count == 5


def test_the_queue_reads_the_version_once_for_its_categories_and_its_ladder(client):
    sign_in(client, make_user(role=Role.AGENT))
    url = reverse("staff:queue")
    client.get(url)
    backend = caches["default"]
    with mock.patch.object(backend, "get", wraps=backend.get) as get:
        client.get(url)
    assert [call for call in get.call_args_list if call.args[0] == kept.VERSION_KEY] == [
        mock.call(kept.VERSION_KEY)
    ]
