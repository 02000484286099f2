"""Staff sessions end after STAFF_SESSION_IDLE_MINUTES without a request (issue 14, point 8:
they lasted Django's fourteen days); complainants' sessions keep their usual age."""

from __future__ import annotations

import time

import pytest
from django.urls import reverse

from accounts.models import Role
from accounts.sessions import RENEW_SECONDS, SEEN
from tests.factories import make_user, sign_in

pytestmark = pytest.mark.django_db


def idle_for(client, seconds: int) -> None:
    """As if the session's last request came `seconds` ago."""
    session = client.session
    session[SEEN] = int(time.time()) - seconds
    session.save()


@pytest.fixture
def agent_client(client):
    sign_in(client, make_user(role=Role.AGENT))
    assert client.get(reverse("staff:queue")).status_code == 200
    return client


def test_a_staff_session_idle_past_the_limit_ends_and_the_sign_in_page_says_why(agent_client, settings):
    settings.STAFF_SESSION_IDLE_MINUTES = 30
    idle_for(agent_client, 30 * 60 + 5)

    response = agent_client.get(reverse("staff:queue"), HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('accounts:login')}?next={reverse('staff:queue')}"
    assert "_auth_user_id" not in agent_client.session
    page = agent_client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "You were signed out after 30 minutes without activity." in page
    assert agent_client.get(reverse("staff:queue")).status_code == 302


def test_the_notice_comes_in_vietnamese(agent_client):
    idle_for(agent_client, 480 * 60 + 5)

    response = agent_client.get(reverse("staff:queue"), HTTP_ACCEPT_LANGUAGE="vi", follow=True)

    assert "Bạn đã được đăng xuất sau 480 phút không hoạt động." in response.content.decode()


def test_a_staff_session_in_use_goes_on_and_expires_in_the_store_after_the_idle_time(agent_client, settings):
    settings.STAFF_SESSION_IDLE_MINUTES = 30
    idle_for(agent_client, 29 * 60)

    assert agent_client.get(reverse("staff:queue")).status_code == 200

    session = agent_client.session
    assert int(time.time()) - session[SEEN] < RENEW_SECONDS  # renewed by that request
    assert session.get_expiry_age() == 30 * 60


def test_a_complainants_session_keeps_its_usual_age(client, settings):
    settings.STAFF_SESSION_IDLE_MINUTES = 1
    sign_in(client, make_user())
    idle_for(client, 3600)

    assert client.get(reverse("complaints:mine")).status_code == 200
    assert client.session.get_expiry_age() == settings.SESSION_COOKIE_AGE


def test_the_admins_session_ends_the_same_way(client, settings):
    settings.STAFF_SESSION_IDLE_MINUTES = 10
    sign_in(client, make_user(is_staff=True, is_superuser=True))
    idle_for(client, 10 * 60 + 1)

    response = client.get(reverse("admin:index"))

    assert response.status_code == 302 and "_auth_user_id" not in client.session
