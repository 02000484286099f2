"""Without the database a page answers 503 with Retry-After, in the visitor's language.

A real gunicorn whose DATABASE_URL names a port where no PostgreSQL listens: every
connection attempt is refused, as while PostgreSQL restarts. The shared server is left
alone.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from django.db import OperationalError
from django.test import RequestFactory

from config import views
from tests.conftest import GunicornProcess, free_port, subprocess_env

PAGES = ("/complaints/new/", "/complaints/find/", "/accounts/login/")


def fetch(url: str, **headers: str) -> tuple[int, dict[str, str], str]:
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - http only
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - http only
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


@pytest.fixture(scope="module")
def portal_without_database(tmp_path_factory):
    folder = tmp_path_factory.mktemp("no-database")
    env = subprocess_env(DATABASE_URL=f"postgres://postgres@127.0.0.1:{free_port()}/portal")
    server = GunicornProcess(env, folder / "gunicorn.log", workers=1).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize("path", PAGES)
def test_a_page_without_the_database_is_503_with_retry_after_in_vietnamese(portal_without_database, path):
    # A session cookie (a well-formed key): finding who is signed in needs the database.
    status, headers, body = fetch(
        portal_without_database.url + path,
        **{"Accept-Language": "vi", "Cookie": "sessionid=0123456789abcdefghijklmnopqrstuv"},
    )
    assert status == 503, body[:2000]
    assert int(headers["Retry-After"]) > 0
    assert '<html lang="vi">' in body
    assert "Cổng khiếu nại tạm thời không truy cập được" in body
    assert "Server error" not in body and "Lỗi máy chủ" not in body  # not the 500 page


def test_the_language_cookie_chooses_english_over_the_browser(portal_without_database):
    status, headers, body = fetch(
        portal_without_database.url + "/complaints/new/",
        **{
            "Accept-Language": "vi",
            "Cookie": "django_language=en; sessionid=0123456789abcdefghijklmnopqrstuv",
        },
    )
    assert status == 503
    assert int(headers["Retry-After"]) > 0
    assert '<html lang="en">' in body
    assert "The portal is briefly unavailable" in body
    assert "Cổng khiếu nại" not in body


def test_healthz_still_answers_json_503_naming_the_database(portal_without_database):
    status, _headers, body = fetch(portal_without_database.url + "/healthz")
    assert status == 503
    answer = json.loads(body)
    assert answer["status"] == "down" and "database" in answer["failing"]


def test_an_error_outside_any_view_is_503_too_when_it_is_the_database(settings):
    # What Django's handler500 gets when a middleware (not a view) met the dead database.
    settings.LANGUAGE_CODE = "vi"
    request = RequestFactory().get("/", HTTP_ACCEPT_LANGUAGE="en")
    try:
        raise OperationalError("connection refused")
    except OperationalError:
        response = views.server_error(request)
    assert response.status_code == 503 and int(response["Retry-After"]) > 0
    assert "The portal is briefly unavailable" in response.content.decode()
    try:
        raise ValueError("a bug")
    except ValueError:
        assert views.server_error(request).status_code == 500
