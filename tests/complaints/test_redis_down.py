"""Intake succeeds while Redis is down, and the acknowledgement goes out once it is back.

A dedicated, real redis-server on a free port is stopped and restarted, so the shared
Redis of the rest of the suite is left alone.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest
from django.urls import reverse

from complaints.models import Complaint, Notification, NotificationStatus
from config.celery import app as celery_app
from tests.complaints.conftest import intake_post
from tests.conftest import IN_CI, WorkerProcess, free_port, port_open, require, subprocess_env, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


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


def test_intake_succeeds_with_redis_down_and_the_email_goes_out_when_it_returns(
    client, redis_server, tmp_path, caplog
):
    # Redis is down: never started here.
    assert not port_open("127.0.0.1", redis_server.port)
    started = time.monotonic()
    response = client.post(reverse("complaints:create"), intake_post())
    elapsed = time.monotonic() - started
    assert response.status_code == 302
    # The on-commit nudge met the dead broker, logged it and let the request succeed.
    assert "could not nudge notification delivery" in caplog.text
    assert elapsed < 5, f"a dead broker stalled intake for {elapsed:.1f} s"
    complaint = Complaint.objects.get()
    notice = Notification.objects.get()
    assert notice.status == NotificationStatus.PENDING

    # Redis comes back; a real worker starts; beat's next delivery run goes through it.
    redis_server.start()
    mail_dir = tmp_path / "var" / "mail"
    from django.db import connection

    env = subprocess_env(
        CELERY_BROKER_URL=redis_server.url,
        CELERY_RESULT_BACKEND="",
        DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{connection.settings_dict['NAME']}",
        EMAIL_BACKEND="file",
        VAR_DIR=str(tmp_path / "var"),
    )
    worker = WorkerProcess(env, tmp_path / "worker.log").start()
    try:
        from complaints.tasks import deliver_notifications

        deliver_notifications.apply_async()
        wait_for(
            lambda: Notification.objects.get(pk=notice.pk).status == NotificationStatus.SENT,
            timeout=60,
            what="the outbox to be delivered",
        )
    finally:
        worker.stop()
    sent = "".join(p.read_text() for p in mail_dir.glob("*.log"))
    assert complaint.reference in sent
    assert sent.count("\nSubject: ") == 1  # sent once
