"""Security headers on every page, sessions rotated at sign-in, `check --deploy` clean.

The walker builds a concrete URL for every pattern in the URLconf (admin sampled) and
requests it as a visitor, a complainant, a manager and a superuser, over HTTPS: every
answer, redirects and errors included, carries the policy headers, and no HTML page has
inline script or style. A pattern the walker cannot build fails the test: cover it here.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.tokens import default_token_generator
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.models import Role
from complaints import tracking
from complaints.models import Complaint
from complaints.services.inbound import receive_raw
from complaints.services.incidents import declare_incident
from evidence.models import Evidence
from staff.selectors import TABS
from staff.views.mail import TABS as MAIL_TABS
from tests.complaints.conftest import intake_post
from tests.conftest import ROOT, subprocess_env
from tests.evidence.conftest import evidence_post, png
from tests.factories import PASSWORD, make_user, sign_in

# Admin URLs are sampled, not walked: one pattern per model and action.
ADMIN_SAMPLE = (
    "admin:index",
    "admin:complaints_complaint_changelist",
    "admin:accounts_user_changelist",
    "admin:otp_totp_totpdevice_changelist",
    "admin:complaints_accessrecord_changelist",
)


@dataclass(frozen=True)
class Route:
    name: str  # namespaced URL name
    kwargs: tuple[str, ...]  # the names of its parameters


def routes(patterns=None, namespace: str = "") -> Iterator[Route]:
    """Every URL pattern of the URLconf except the admin's, with its namespaced name."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            if entry.namespace == "admin":
                continue
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from routes(entry.url_patterns, inner)
        else:
            assert isinstance(entry, URLPattern)
            assert entry.name, f"the URL pattern {entry.pattern} has no name; name it to cover it"
            yield Route(f"{namespace}{entry.name}", tuple(entry.pattern.regex.groupindex))


@pytest.fixture
def world(client, django_user_model, tmp_path) -> dict:
    """Real objects for every URL parameter: a complaint with an image, users, tokens."""
    complainant = make_user(username="lan", email="lan@example.org")
    sign_in(client, complainant)
    data = intake_post()
    data.update(evidence_post([("shot.png", png())]))
    response = client.post(reverse("complaints:create"), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    client.logout()
    complaint = Complaint.objects.get()
    evidence = Evidence.objects.get()
    assert evidence.thumbnail_key  # so the preview <img> is on the case page
    manager = make_user(username="manager", role=Role.MANAGER)
    superuser = make_user(username="root", is_staff=True, is_superuser=True)
    mail = receive_raw((ROOT / "tests" / "mail_corpus" / "gmail_reply_vi.eml").read_bytes())
    incident = declare_incident(
        title_vi="Không đăng nhập được",
        title_en="Sign-in fails",
        note_vi="Chúng tôi đang xử lý.",
        note_en="We are working on it.",
        category=complaint.category,
        provider_name=complaint.provider_name,
        started_at=timezone.now(),
        by=manager,
        now=timezone.now(),
    )
    return {
        "mail": mail,
        "incident": incident,
        "complainant": complainant,
        "manager": manager,
        "superuser": superuser,
        "complaint": complaint,
        "evidence": evidence,
    }


def kwargs_for(route: Route, world: dict) -> list[dict[str, str]]:
    """Concrete parameters for a route; fails for a parameter nobody taught the walker."""
    complaint, user = world["complaint"], world["complainant"]
    values: dict[str, list[str]] = {
        "reference": [complaint.reference],
        "public_id": [str(world["evidence"].public_id)],
        "variant": ["thumb", "view", "original"],
        "tab": list(TABS),
        "uidb64": [urlsafe_base64_encode(force_bytes(user.pk))],
        "pk": [str(world["mail"].pk)],
        "slug": [world["incident"].slug],
    }
    if route.name == "staff:mail_review_tab":
        values["tab"] = list(MAIL_TABS)
    if route.name == "complaints:track":
        values["token"] = [tracking.issue_tracking_token(complaint=complaint, now=timezone.now())]
    elif route.name == "accounts:password_reset_confirm":
        values["token"] = [default_token_generator.make_token(user)]
    missing = [name for name in route.kwargs if name not in values]
    assert not missing, f"the header walker cannot build {route.name}: teach it {missing} (tests/config)"
    combos: list[dict[str, str]] = [{}]
    for name in route.kwargs:
        combos = [{**combo, name: value} for combo in combos for value in values[name]]
    return combos


def urls(world: dict) -> list[str]:
    found = [reverse(route.name, kwargs=kwargs) for route in routes() for kwargs in kwargs_for(route, world)]
    return found + [reverse(name) for name in ADMIN_SAMPLE]


def directives(policy: str) -> dict[str, list[str]]:
    parsed: dict[str, list[str]] = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            parsed[words[0].lower()] = words[1:]
    return parsed


INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc\s*=)[^>]*>", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"<[^>]+\sstyle\s*=", re.IGNORECASE)
STYLE_ELEMENT = re.compile(r"<style\b", re.IGNORECASE)
REFERRER_POLICIES = ("same-origin", "no-referrer", "strict-origin-when-cross-origin")
EVENT_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)


def header_problems(url: str, response) -> list[str]:
    problems = []
    policy = response.get("Content-Security-Policy", "")
    if not policy:
        problems.append("no Content-Security-Policy")
    csp = directives(policy)
    script_src = csp.get("script-src", csp.get("default-src", []))
    if not script_src or {"'unsafe-inline'", "'unsafe-eval'", "*"} & set(script_src):
        problems.append(f"script-src allows inline, eval or anything: {policy!r}")
    style_src = csp.get("style-src", csp.get("default-src", []))
    if {"'unsafe-inline'", "*"} & set(style_src):
        problems.append(f"style-src allows inline styles: {policy!r}")
    if response.get("X-Frame-Options") != "DENY" and csp.get("frame-ancestors") != ["'none'"]:
        problems.append("framing is not denied")
    if response.get("X-Content-Type-Options") != "nosniff":
        problems.append("no X-Content-Type-Options: nosniff")
    if response.get("Referrer-Policy") not in (
        "same-origin",
        "no-referrer",
        "strict-origin-when-cross-origin",
    ):
        problems.append(f"Referrer-Policy is {response.get('Referrer-Policy')!r}")
    permissions = response.get("Permissions-Policy", "")
    for feature in ("camera=()", "microphone=()", "geolocation=()", "payment=()", "usb=()"):
        if feature not in permissions:
            problems.append(f"Permissions-Policy lacks {feature}")
    hsts = response.get("Strict-Transport-Security", "")
    if not re.fullmatch(r"max-age=\d+.*", hsts) or int(hsts.split("=")[1].split(";")[0]) <= 0:
        problems.append(f"Strict-Transport-Security is {hsts!r}")
    return [f"{url} ({response.status_code}): {problem}" for problem in problems]


def body_problems(url: str, response) -> list[str]:
    if response.streaming or not response.get("Content-Type", "").startswith("text/html"):
        return []
    page = response.content.decode()
    problems = []
    for name, pattern in (
        ("inline <script>", INLINE_SCRIPT),
        ("style attribute", STYLE_ATTRIBUTE),
        ("<style> element", STYLE_ELEMENT),
        ("inline event handler", EVENT_HANDLER),
    ):
        match = pattern.search(page)
        if match:
            problems.append(f"{url} ({response.status_code}): {name}: {match.group(0)[:120]}")
    return problems


class FakePage:
    streaming = False

    def __init__(self, html: str) -> None:
        self.content, self.status_code = html.encode(), 200

    def get(self, name: str, default: str = "") -> str:
        return "text/html; charset=utf-8" if name == "Content-Type" else default


@pytest.mark.parametrize(
    "html",
    [
        "<script>alert(1)</script>",
        '<script type="module">x()</script>',
        '<p style="color:red">',
        "<style>p{}</style>",
        '<button onclick="go()">',
        '<svg><rect\n style="fill:red"/></svg>',
    ],
)
def test_the_inline_code_detectors_catch_what_they_look_for(html):
    assert body_problems("/x", FakePage(html))
    assert not body_problems("/x", FakePage('<script src="/static/js/a.js" defer></script><p class="x">'))


@pytest.fixture
def visitors(world) -> dict[str, Client]:
    clients = {"anonymous": Client()}
    for role in ("complainant", "manager", "superuser"):
        clients[role] = Client()
        sign_in(clients[role], world[role])
    return clients


@pytest.mark.django_db
def test_every_url_answers_every_visitor_with_the_security_headers_and_no_inline_code(world, visitors):
    assert django_settings.SECURE_HSTS_SECONDS > 0  # production's value: DEBUG is off in tests
    all_urls = urls(world)
    assert len(all_urls) > 40
    problems: list[str] = []
    statuses: dict[str, set[int]] = {}
    for who, client in visitors.items():
        for url in all_urls:
            response = client.get(url, secure=True)
            statuses.setdefault(url, set()).add(response.status_code)
            problems += [f"[{who}] {p}" for p in header_problems(url, response)]
            problems += [f"[{who}] {p}" for p in body_problems(url, response)]
    assert not problems, "\n".join(problems)
    # The walk reached real pages, not just redirects and 404s.
    assert statuses[reverse("complaints:detail", args=[world["complaint"].reference])] >= {200}
    assert 200 in statuses[reverse("admin:complaints_complaint_changelist")]
    assert 200 in statuses[reverse("staff:dashboard")]
    assert 200 in statuses[reverse("staff:case_access", args=[world["complaint"].reference])]
    assert 200 in statuses[reverse("admin:complaints_accessrecord_changelist")]


@pytest.mark.django_db
def test_the_policy_allows_only_the_portals_own_scripts_styles_and_forms(client):
    response = client.get(reverse("home"))
    csp = directives(response["Content-Security-Policy"])
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"]
    assert csp["style-src"] == ["'self'"]
    assert csp["img-src"] == ["'self'", "data:"]  # local storage: previews come from the portal
    assert csp["object-src"] == ["'none'"]
    assert csp["base-uri"] == ["'none'"]
    assert csp["form-action"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    # Plain HTTP (a DEBUG run or a proxy without X-Forwarded-Proto) gets no HSTS.
    assert "Strict-Transport-Security" not in response


@pytest.mark.django_db
def test_an_unknown_url_and_a_refused_post_carry_the_headers_too(client):
    for response in (
        client.get("/no/such/page/", secure=True),
        client.get(reverse("accounts:logout"), secure=True),  # POST only: 405
    ):
        assert response.status_code in (404, 405)
        assert not header_problems(response.request["PATH_INFO"], response)


# --- Sessions --------------------------------------------------------------------------------------


def session_key(client: Client) -> str:
    return client.cookies[django_settings.SESSION_COOKIE_NAME].value


def start_anonymous_session(client: Client) -> str:
    session = client.session
    session["probe"] = "before sign-in"
    session.save()
    client.cookies[django_settings.SESSION_COOKIE_NAME] = session.session_key
    return session.session_key


@pytest.mark.django_db
def test_signing_in_rotates_the_session_key(client):
    from django.contrib.sessions.models import Session

    make_user(username="lan")
    before = start_anonymous_session(client)
    response = client.post(reverse("accounts:login"), {"username": "lan", "password": PASSWORD})
    assert response.status_code == 302
    after = session_key(client)
    assert after != before
    assert not Session.objects.filter(session_key=before).exists()  # a fixed key is worthless
    assert client.session["_auth_user_id"]


@pytest.mark.django_db
def test_signing_up_rotates_the_session_key(client):
    before = start_anonymous_session(client)
    response = client.post(
        reverse("accounts:signup"),
        {
            "full_name": "Mai",
            "email": "mai@example.org",
            "password1": "a long and unusual passphrase",
            "password2": "a long and unusual passphrase",
            "preferred_language": "vi",
        },
    )
    assert response.status_code == 302
    assert session_key(client) != before
    assert client.session["_auth_user_id"]


# --- Production settings ----------------------------------------------------------------------------


def production_env(tmp_path, **overrides: str) -> dict[str, str]:
    """The environment of a production process: config.settings itself, DEBUG off."""
    env = subprocess_env(
        DJANGO_SETTINGS_MODULE="config.settings",
        DEBUG="false",
        SECRET_KEY="k7Qp2-vX9!rT4#mZ8wLc6$hN1@yB3%dF5^gJ0&sA-uE7*iO9(pK2)qW4_xR6+zV8",
        ALLOWED_HOSTS="portal.example.org",
        VAR_DIR=str(tmp_path / "var"),
    )
    # The test process's own services, and the browser fixture's async override, are not production's.
    for name in (
        "DATABASE_URL",
        "CACHE_URL",
        "CELERY_BROKER_URL",
        "CELERY_RESULT_BACKEND",
        "EMAIL_BACKEND",
        "DJANGO_ALLOW_ASYNC_UNSAFE",
    ):
        env.pop(name, None)
    for name in [n for n in env if n.startswith(("SECURE_", "SESSION_", "CSRF_", "AWS_", "EVIDENCE_"))]:
        env.pop(name)
    env.update(overrides)
    return env


def run_django(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    result = run_django(production_env(tmp_path), "manage.py", "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout, result.stdout + result.stderr


PRINT_SETTINGS = """
import json, django
django.setup()
from django.conf import settings as s
print(json.dumps({name: getattr(s, name) for name in (
    "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "LANGUAGE_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY",
    "SESSION_COOKIE_SAMESITE", "CSRF_COOKIE_SAMESITE", "X_FRAME_OPTIONS", "SECURE_HSTS_SECONDS",
    "SECURE_SSL_REDIRECT", "SECURE_CONTENT_TYPE_NOSNIFF", "SECURE_REFERRER_POLICY")}))
"""


def test_production_cookies_are_secure_http_only_and_same_site(tmp_path):
    result = run_django(production_env(tmp_path), "-c", PRINT_SETTINGS)
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values == {
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "LANGUAGE_COOKIE_SECURE": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "CSRF_COOKIE_SAMESITE": "Lax",
        "X_FRAME_OPTIONS": "DENY",
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_SSL_REDIRECT": True,
        "SECURE_CONTENT_TYPE_NOSNIFF": True,
        "SECURE_REFERRER_POLICY": "same-origin",
    }


S3_PREVIEW_URL = """
import json, django
django.setup()
from django.conf import settings
from django.core.files.storage import default_storage
url = default_storage.url("evidence/x/preview.webp", expire=300)
print(json.dumps({"url": url, "csp": settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]}))
"""


@pytest.mark.parametrize(
    "storage_env",
    [
        {"AWS_S3_REGION_NAME": "ap-southeast-1"},
        {"AWS_S3_REGION_NAME": "us-east-1"},
        {"AWS_S3_REGION_NAME": "us-east-1", "AWS_S3_ENDPOINT_URL": "http://127.0.0.1:9000"},
        {"AWS_S3_ENDPOINT_URL": "https://s3.storage.example.net"},
    ],
)
def test_evidence_previews_on_s3_are_allowed_by_the_policy(tmp_path, storage_env):
    """On S3 the preview <img> redirects to a signed link: its origin must be in img-src."""
    env = production_env(
        tmp_path,
        EVIDENCE_STORAGE="s3",
        AWS_STORAGE_BUCKET_NAME="portal-evidence",
        AWS_ACCESS_KEY_ID="AKIAEXAMPLE",
        AWS_SECRET_ACCESS_KEY="example-secret",
        **storage_env,
    )
    result = run_django(env, "-c", S3_PREVIEW_URL)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout.strip().splitlines()[-1])
    parts = urlsplit(found["url"])
    origin = f"{parts.scheme}://{parts.netloc}"
    assert origin in found["csp"]["img-src"], (origin, found["csp"]["img-src"])
    assert origin in found["csp"]["media-src"]
    assert "'unsafe-inline'" not in found["csp"]["script-src"]


def test_the_permissions_policy_header_is_built_from_the_setting():
    from config.middleware import permissions_policy

    assert permissions_policy({"camera": [], "geolocation": ["self", "https://maps.example"]}) == (
        'camera=(), geolocation=(self "https://maps.example")'
    )


def test_debug_runs_keep_working_over_plain_http(tmp_path):
    env = production_env(tmp_path, DEBUG="true")
    env.pop("SECRET_KEY")
    result = run_django(env, "-c", PRINT_SETTINGS)
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values["SESSION_COOKIE_SECURE"] is False
    assert values["SECURE_HSTS_SECONDS"] == 0
    assert os.environ.get("DEBUG", "") != "true"  # the test process itself is untouched
