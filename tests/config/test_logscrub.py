"""Tokens out of the logs (issue 14, point 8: tracking links with valid tokens were written
whole to the access log): gunicorn's access log with the portal's config, Django's log
records (the development server's request lines, "Not Found" warnings), and every URL that
carries a token; and failed look-ups of tracking links and references limited per address."""

from __future__ import annotations

import io
import logging
import urllib.request

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from common.logscrub import REDACTED, ScrubSecrets, scrub
from complaints.tracking import issue_tracking_token
from tests.conftest import ROOT, GunicornProcess, subprocess_env
from tests.factories import make_complaint

TOKEN = "Zm9vYmFyLXNlY3JldC10b2tlbi0xMjM0NTY3ODkw"


def test_the_token_of_a_tracking_link_and_of_a_password_reset_link_is_redacted():
    line = f'"GET /complaints/track/{TOKEN}/?x=1 HTTP/1.1" 302 0 "https://portal/accounts/password/reset/MQ/{TOKEN}/"'

    assert TOKEN not in scrub(line)
    assert scrub(line).count(REDACTED) == 2
    assert scrub("/accounts/password/reset/MQ/set-password/") == "/accounts/password/reset/MQ/set-password/"
    assert scrub("GET /complaints/KN-7F3K-Q9XM/ HTTP/1.1") == "GET /complaints/KN-7F3K-Q9XM/ HTTP/1.1"


def walk(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern


def test_every_url_that_carries_a_token_is_scrubbed():
    with_tokens = [
        (route, pattern) for route, pattern in walk(get_resolver().url_patterns) if "token>" in route
    ]
    assert len(with_tokens) >= 2
    for route, pattern in with_tokens:
        kwargs = {name: TOKEN if "token" in name else "MQ" for name in pattern.pattern.converters}
        namespace = route.split("/")[0]
        url = reverse(f"{namespace}:{pattern.name}", kwargs=kwargs)
        assert TOKEN not in scrub(f"GET {url} HTTP/1.1"), route


@pytest.mark.django_db
def test_djangos_log_lines_pass_through_the_scrubbing_handler(client):
    (console,) = [
        h for h in logging.getLogger().handlers if any(isinstance(f, ScrubSecrets) for f in h.filters)
    ]
    server = logging.getLogger("django.server")
    assert console in server.handlers and not server.propagate
    stream = io.StringIO()
    previous = console.setStream(stream)
    try:
        assert client.get(f"/complaints/track/{TOKEN}/").status_code == 404
        logging.getLogger("django.server").info('"GET /complaints/track/%s/ HTTP/1.1" 302 0', TOKEN)
    finally:
        console.setStream(previous)
    written = stream.getvalue()
    assert f"Not Found: /complaints/track/{REDACTED}/" in written
    assert f'"GET /complaints/track/{REDACTED}/ HTTP/1.1" 302 0' in written
    assert TOKEN not in written


@pytest.mark.django_db(transaction=True)
def test_gunicorns_access_log_holds_no_tracking_token(tmp_path):
    from django.db import connection

    complaint = make_complaint()
    token = issue_tracking_token(complaint=complaint, now=timezone.now())
    env = subprocess_env(
        DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{connection.settings_dict['NAME']}"
    )
    server = GunicornProcess(env, tmp_path / "gunicorn.log", workers=1, access_log=tmp_path / "access.log")
    server.start("--config", str(ROOT / "config" / "gunicorn_conf.py"))
    try:
        opener = urllib.request.build_opener(NoRedirect)
        with opener.open(f"{server.url}/complaints/track/{token}/?from=mail", timeout=30) as response:
            assert response.status == 302
    finally:
        server.stop()
    log = (tmp_path / "access.log").read_text()
    assert f"/complaints/track/{REDACTED}/?from=mail" in log
    assert token not in log


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None

    def http_error_302(self, req, fp, code, msg, headers):
        return fp
