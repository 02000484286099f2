"""Intake succeeds while Redis is down, and the acknowledgement goes out once it is back.

A dedicated, real redis-server on a free port is stopped and restarted, so the shared
Redis of the rest of the suite is left alone.
"""

from __future__ import annotations

import time

import pytest
from django.urls import reverse

from complaints.models import Complaint, Notification, NotificationStatus
from tests.complaints.conftest import intake_post
from tests.conftest import WorkerProcess, celery_env, port_open, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


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
    env = celery_env(
        redis_server.url,
        CELERY_RESULT_BACKEND="",
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
