"""Shared fixtures: service checks, a real Celery worker, a Chromium browser, an IMAP server."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.utils import translation

from accounts.second_factor import authenticator
from tests.factories import enrol, fresh_totp_code

# The process helpers live in tests.processes (bench uses them too); the tests may import
# them from here as well.
from tests.processes import ROOT as ROOT
from tests.processes import BeatProcess as BeatProcess
from tests.processes import GunicornProcess as GunicornProcess
from tests.processes import ImapServer as ImapServer
from tests.processes import SmtpSink as SmtpSink
from tests.processes import WorkerProcess as WorkerProcess
from tests.processes import celery_env as celery_env
from tests.processes import empty_broker as empty_broker
from tests.processes import free_port as free_port
from tests.processes import port_open as port_open
from tests.processes import subprocess_env as subprocess_env
from tests.processes import wait_for as wait_for

IN_CI = os.environ.get("CI", "").lower() == "true"
# The code step of signing in (accounts.second_factor), where a browser test lands after the password.
CODE_STEP = re.compile(r"/accounts/second-factor/code/")
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))


def authenticator_for(user):
    """The person's authenticator app, as a browser test signs them in with it: set up (with the
    real service) for a staff member who has none, as it is before anyone reaches a staff page;
    None for a complainant who never set one up."""
    device = authenticator(user)
    if device is None and user.holds_staff_role:
        device = enrol(user)
    return device


def type_code(page, device) -> None:
    """The code step of the real sign-in in Chromium: the page that follows the password asks
    for a code; the one `device` shows now is computed here (RFC 6238 by hand) and sent."""
    page.wait_for_url(CODE_STEP)
    page.locator("main input[name=code]").fill(fresh_totp_code(device))
    page.locator("main form[method=post] [type=submit]").click()


def require(condition: bool, what: str) -> None:
    """Skip a test whose service is missing; in CI (CI=true) fail loudly instead."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"{what} is required in CI but is not available", pytrace=False)
    pytest.skip(f"{what} is not available")


@pytest.fixture
def redis_url(settings) -> str:
    url = settings.CELERY_BROKER_URL
    require(url.startswith("redis://") and port_open("127.0.0.1", 6379), "Redis on 127.0.0.1:6379")
    return url


@pytest.fixture
def celery_worker_process(redis_url, tmp_path) -> Iterator[WorkerProcess]:
    """A real Celery worker on the test Redis, using the test database."""
    env = celery_env(
        redis_url,
    )
    empty_broker(redis_url)
    worker = WorkerProcess(env, tmp_path / "worker.log").start()
    try:
        yield worker
    finally:
        worker.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Debian's Chromium driven by Playwright (its own browser download does not work here)."""
    require(CHROMIUM.exists(), f"Chromium at {CHROMIUM}")
    # Playwright's sync API runs an event loop in this thread; Django's ORM calls from the
    # test body are still synchronous, so allow them.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import expect, sync_playwright

    # An expectation waits 5 s by default, an action 30 s. At this machine's slow hours a
    # POST, its redirect and the next page have taken longer than 5 s (the language switch
    # failed CI so once), so an expectation is given the same patience as a click.
    expect.set_options(timeout=30_000)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        try:
            yield browser
        finally:
            browser.close()


# Data the migrations seed (role groups, categories and causes, the ladder, policies, the
# calendars, the regimes and their letters). A transactional test flushes the database
# afterwards, so the next one gets it back from the same seed functions.
SEEDS = (
    ("accounts.migrations.0002_staff_groups", "create_groups"),
    ("accounts.migrations.0003_privacy_officers", "create_group"),
    ("complaints.migrations.0002_seed_categories", "seed"),
    ("escalation.migrations.0002_seed_ladder_policies_calendar", "seed"),
    ("escalation.migrations.0005_calendar_and_holiday_names_in_both_languages", "seed"),
    ("complaints.migrations.0012_incomplete_complaints", "seed_unclassified"),
    ("escalation.migrations.0006_policy_for_unclassified", "seed"),
    ("escalation.migrations.0008_seed_regimes", "seed"),
    ("escalation.migrations.0011_seed_letters", "seed"),
    ("complaints.migrations.0025_seed_causes", "seed"),
)


@pytest.fixture(autouse=True)
def _default_language_after() -> Iterator[None]:
    """Each test leaves the default language active: a request through the test client keeps
    the language LocaleMiddleware chose for it active in the thread afterwards, and a later
    test reading a lazy message would get it in that language."""
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _reseed_after_flush(request) -> None:
    marker = request.node.get_closest_marker("django_db")
    if marker is None or not marker.kwargs.get("transaction"):
        return
    request.getfixturevalue("transactional_db")
    from importlib import import_module

    from django.apps import apps

    for module, function in SEEDS:
        getattr(import_module(module), function)(apps, None)


@pytest.fixture(autouse=True)
def _private_file_storage(request, tmp_path_factory) -> None:
    """Each test that touches the database gets an empty evidence folder of its own."""
    if request.node.get_closest_marker("django_db") is None:
        return
    settings = request.getfixturevalue("settings")
    if settings.STORAGES["default"]["BACKEND"].endswith("FileSystemStorage"):
        location = tmp_path_factory.mktemp("files")
        settings.STORAGES = {
            **settings.STORAGES,
            "default": {**settings.STORAGES["default"], "OPTIONS": {"location": location, "base_url": None}},
        }


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    """Each test starts with empty caches: no rate-limit counts left by an earlier one, no page
    fragment rendered from an earlier test's data, and no settings kept from it (common.kept)."""
    from django.core.cache import cache, caches

    from common import kept

    # A test about a dead cache starts without one.
    with contextlib.suppress(Exception):
        cache.clear()
    caches["template_fragments"].clear()
    kept.forget()


@pytest.fixture(autouse=True)
def _fresh_policy_cache() -> None:
    """SLA policies are cached per process; each test reads the ones in its database."""
    from escalation.policies import forget_policies

    forget_policies()


# A dedicated, real redis-server on a free port, to stop and restart: the shared Redis of
# the rest of the suite is left alone.
class RedisServer:
    def __init__(self, port: int, workdir: Path) -> None:
        self.port, self.workdir, self.process = port, workdir, None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(lambda: port_open("127.0.0.1", self.port), timeout=20, what="redis-server to listen")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        wait_for(lambda: not port_open("127.0.0.1", self.port), timeout=20, what="redis-server to stop")


def forget_broker_connections() -> None:
    # Celery caches its connection and producer pools; drop them after switching brokers.
    from config.celery import app as celery_app

    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def redis_server(tmp_path, monkeypatch):
    require(shutil.which("redis-server") is not None or not IN_CI, "redis-server")
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = RedisServer(free_port(), tmp_path)
    # Celery reads CELERY_BROKER_URL from the environment before its own settings.
    monkeypatch.setenv("CELERY_BROKER_URL", server.url)
    forget_broker_connections()
    yield server
    server.stop()
    monkeypatch.undo()
    forget_broker_connections()


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    """An SMTP server in this process that records every message delivered to it."""
    with SmtpSink() as sink:
        yield sink


@pytest.fixture(scope="session")
def _dovecot() -> Iterator[ImapServer]:
    require(shutil.which("dovecot") is not None, "Dovecot (Debian's dovecot-imapd; `make system-packages`)")
    with ImapServer() as server:
        yield server


@pytest.fixture
def imap_server(_dovecot) -> ImapServer:
    """A real Dovecot IMAP server (one per session), its mailbox emptied for each test."""
    _dovecot.clear()
    return _dovecot
