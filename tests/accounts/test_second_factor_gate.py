"""A person who owes the second factor reaches no page but its own: every URL pattern of the
portal (built by the header walker of tests/config) and every pattern of the admin, by GET
and by POST, sends them to enrolment (no authenticator yet) or to the code step.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import URLPattern, URLResolver, resolve, reverse

from accounts.middleware import OPEN_BEFORE_SECOND_FACTOR
from accounts.models import Role
from tests.config.test_headers import kwargs_for, routes
from tests.config.test_headers import world as world  # the walker's objects, a fixture
from tests.factories import enrol, make_user, sign_in

pytestmark = pytest.mark.django_db

SETUP = reverse("accounts:second_factor_setup")
VERIFY = reverse("accounts:second_factor_verify")

# Concrete values for the admin's parameters: the gate answers before any object is looked up.
ADMIN_PARAMETERS = {
    r"<path:object_id>": "1",
    r"<path:content_type_id>": "1",
    r"<int:pk>": "1",
    r"<id>": "1",
    r"(?P<url>.*)$": "no/such/page/",
}


def admin_patterns(patterns=None, prefix: str = "") -> Iterator[str]:
    for entry in admin.site.urls[0] if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            yield from admin_patterns(entry.url_patterns, prefix + str(entry.pattern))
        else:
            assert isinstance(entry, URLPattern)
            yield prefix + str(entry.pattern)


def admin_urls() -> list[str]:
    """One URL for every pattern of the admin (each app for the app index)."""
    found = []
    for pattern in admin_patterns():
        labels = re.fullmatch(r"\^\(\?P<app_label>([^)]*)\)/\$", pattern)
        if labels:
            found += [f"/admin/{label}/" for label in labels.group(1).split("|")]
            continue
        for parameter, value in ADMIN_PARAMETERS.items():
            pattern = pattern.replace(parameter, value)
        assert "<" not in pattern and "(?P" not in pattern, f"teach the gate's walker {pattern}"
        found.append(f"/admin/{pattern}")
    return found


def every_url(world: dict) -> list[str]:
    portal = [reverse(route.name, kwargs=kwargs) for route in routes() for kwargs in kwargs_for(route, world)]
    return portal + admin_urls()


@pytest.fixture
def owing(world) -> dict[str, tuple[Client, str]]:
    """Signed in with the password only (force_login), each with the step they owe."""
    people = {
        "superuser, no app": (world["superuser"], SETUP),
        "staff flag alone, no app": (make_user(is_staff=True), SETUP),
        "privacy officer, no app": (make_user(role=Role.PRIVACY_OFFICER), SETUP),
        "manager with an app": (world["manager"], VERIFY),
        "complainant with an app": (world["complainant"], VERIFY),
    }
    enrol(world["manager"])
    enrol(world["complainant"])
    clients = {}
    for who, (user, step) in people.items():
        client = Client()
        client.force_login(user)
        clients[who] = (client, step)
    return clients


def test_the_walk_covers_every_staff_and_admin_page(world):
    urls = every_url(world)
    names = {resolve(url.split("?")[0]).view_name for url in urls}
    staff_names = {name for name in names if name.startswith("staff:")}
    assert len(staff_names) >= 15, staff_names
    assert len([url for url in urls if url.startswith("/admin/")]) >= 100


def test_no_page_opens_before_the_second_factor(world, owing):
    urls = every_url(world)
    problems = []
    for who, (client, step) in owing.items():
        for url in urls:
            match = resolve(url)
            if match.view_name in OPEN_BEFORE_SECOND_FACTOR:
                continue
            for method in ("get", "post"):
                response = getattr(client, method)(url)
                location = response.get("Location", "")
                if response.status_code != 302 or not location.startswith(f"{step}?next="):
                    problems.append(f"[{who}] {method.upper()} {url}: {response.status_code} {location}")
    assert not problems, "\n".join(problems)


def test_what_stays_open_before_the_second_factor_is_no_staff_or_admin_page():
    assert {name.split(":")[0] for name in OPEN_BEFORE_SECOND_FACTOR if ":" in name} == {"accounts"}
    assert not any(name.startswith(("staff", "admin")) for name in OPEN_BEFORE_SECOND_FACTOR)


def test_after_the_code_the_same_people_reach_their_pages(world, client):
    manager = world["manager"]
    sign_in(client, manager)
    assert client.get(reverse("staff:dashboard")).status_code == 200
    root = world["superuser"]
    sign_in(client, root)
    assert client.get(reverse("admin:index")).status_code == 200
    assert client.get(reverse("admin:accounts_user_changelist")).status_code == 200
