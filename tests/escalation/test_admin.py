"""The ladder's and the policies' lengths of time, as administrators read them in the lists."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from tests.factories import make_user, sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    sign_in(client, make_user(is_staff=True, is_superuser=True))
    return client


@pytest.mark.parametrize(
    ("model", "language", "words"),
    [
        ("slapolicy", "en", ["1\xa0day", "3\xa0days", "10\xa0days"]),
        ("slapolicy", "vi", ["1\xa0ngày", "3\xa0ngày", "10\xa0ngày"]),
        ("escalationlevel", "en", ["\xa0day"]),
    ],
)
def test_lengths_of_time_read_as_the_portal_writes_them(admin_client, model, language, words):
    response = admin_client.get(
        reverse(f"admin:escalation_{model}_changelist"), HTTP_ACCEPT_LANGUAGE=language
    )
    page = response.content.decode()
    assert response.status_code == 200
    for word in words:
        assert word in page, word
    assert not re.search(r"\d:\d{2}:\d{2}", page)  # str(timedelta): "3 days, 0:00:00"
