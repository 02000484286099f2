"""A backlog drains as fast as the mail server takes it: one run sends every notice due,
batch after batch, each batch committed and sent over one SMTP connection.

Real PostgreSQL and a real SMTP server (the `smtp_sink` fixture) throughout.
"""

from __future__ import annotations

import math
import os
import signal
import time
from collections import Counter

import psycopg
import pytest
from django.db import connection, transaction

from accounts.models import Role
from complaints import records
from complaints.models import Notification, NotificationStatus
from complaints.tasks import deliver_notifications
from tests.conftest import WorkerProcess, celery_env, empty_broker, wait_for
from tests.factories import NOW, make_complaint, make_user

pytestmark = pytest.mark.django_db(transaction=True)

TOTAL = 5_000


def queue_backlog(total: int) -> list[str]:
    """`total` due notices, each to an address of its own, as an escalation wave leaves them:
    case updates to guests (each mints a tracking link when sent) and alerts to staff.
    Returns the addresses."""
    complaints = [make_complaint(contact_email=f"guest{n}@example.org") for n in range(10)]
    lead = make_user(role=Role.TEAM_LEAD, preferred_language="en")
    addresses = [complaint.contact_email for complaint in complaints]  # their acknowledgements
    rows = records.NoticeRows()
    for n in range(total - len(complaints)):
        complaint = complaints[n % len(complaints)]
        if n % 2:
            email = f"case{n}@example.org"
            rows.add(
                records.notice_values(
                    complaint_id=complaint.pk,
                    email=email,
                    template="case_update",
                    language=("vi", "en")[n % 4 == 1],
                    context=records.case_update(kind="escalated", guest=True),
                    now=NOW,
                )
            )
        else:
            email = f"lead{n}@example.org"
            (values,) = records.staff_notices(
                [(lead.pk, email, "en")], complaint_id=complaint.pk, kind="escalated", now=NOW
            )
            rows.add(values)
        addresses.append(email)
    with transaction.atomic():
        rows.insert()
    assert Notification.objects.filter(status=NotificationStatus.PENDING).count() == total
    return addresses


def other_connection() -> psycopg.Connection:
    """A second connection to the test database: it sees only what was committed."""
    database = connection.settings_dict
    return psycopg.connect(
        dbname=database["NAME"],
        user=database["USER"] or None,
        host=database["HOST"] or None,
        port=database["PORT"] or None,
        autocommit=True,
    )


def committed_sent(other: psycopg.Connection) -> int:
    return other.execute("SELECT count(*) FROM complaints_notification WHERE status = 'sent'").fetchone()[0]


def worker_sending_to(sink, redis_url: str, tmp_path, *, batch: int) -> WorkerProcess:
    """A real Celery worker whose mail goes to `sink`, NOTIFICATION_BATCH_SIZE `batch`."""
    empty_broker(redis_url)
    env = celery_env(
        redis_url,
        CELERY_RESULT_BACKEND="",
        EMAIL_BACKEND="smtp",
        EMAIL_HOST=sink.host,
        EMAIL_PORT=str(sink.port),
        EMAIL_USE_TLS="false",
        NOTIFICATION_BATCH_SIZE=str(batch),
    )
    # A log of its own: start() waits for "ready." in it, which an earlier worker's log holds.
    return WorkerProcess(env, tmp_path / f"worker-{time.monotonic_ns()}.log").start()


def all_sent() -> bool:
    return not Notification.objects.exclude(status=NotificationStatus.SENT).exists()


def test_one_run_sends_five_thousand_due_notices_each_once_committing_batch_by_batch(
    smtp_sink, redis_url, monkeypatch, tmp_path
):
    monkeypatch.setattr(records, "nudge_delivery", lambda: None)  # one run, sent below
    batch = 200
    addresses = queue_backlog(TOTAL)
    worker = worker_sending_to(smtp_sink, redis_url, tmp_path, batch=batch)

    # Every 250th message, before the sink acknowledges it, count what is committed as sent.
    samples: list[tuple[int, int]] = []
    try:
        with other_connection() as other:
            smtp_sink.on_message = lambda count: (
                samples.append((count, committed_sent(other))) if count % 250 == 0 else None
            )
            started = time.monotonic()
            deliver_notifications.apply_async()  # one run of the task, as beat sends it
            wait_for(lambda: smtp_sink.received >= TOTAL, timeout=180, interval=0.5, what="5,000 e-mails")
            elapsed = time.monotonic() - started
            wait_for(all_sent, timeout=30, what="the last batch to be committed")
    finally:
        worker.stop()

    assert elapsed < 120, f"{TOTAL} notices took {elapsed:.0f} s"
    assert f"outbox: sent {TOTAL}, retried 0, failed 0" in worker.output()  # by one run
    received = Counter(recipients for _message, recipients in smtp_sink.raw)
    assert sorted(received) == sorted(addresses)
    assert set(received.values()) == {1}  # each once
    # Committed batch by batch: while the k-th message was on the wire, exactly the
    # batches before its own were committed; and one SMTP connection per batch.
    assert len(samples) == TOTAL // 250
    assert samples == [(count, (count - 1) // batch * batch) for count, _ in samples]
    assert smtp_sink.sessions == math.ceil(TOTAL / batch)


def test_a_worker_killed_mid_run_loses_nothing_and_resends_only_the_batch_in_flight(
    smtp_sink, redis_url, monkeypatch, tmp_path
):
    monkeypatch.setattr(records, "nudge_delivery", lambda: None)
    total, batch, kill_at = 1_000, 100, 450
    addresses = queue_backlog(total)
    worker = worker_sending_to(smtp_sink, redis_url, tmp_path, batch=batch)
    committed_at_kill: list[int] = []

    def kill_mid_batch(count: int) -> None:
        # The worker dies waiting for the server's answer to the 450th message.
        if count == kill_at:
            os.kill(worker.process.pid, signal.SIGKILL)
            worker.process.wait()
            with other_connection() as other:
                committed_at_kill.append(committed_sent(other))

    smtp_sink.on_message = kill_mid_batch
    try:
        deliver_notifications.apply_async()
        # Until the sink's thread has killed the worker and read what was committed (the
        # worker's exit alone comes before that reading: the assertion below raced it).
        wait_for(lambda: committed_at_kill, timeout=120, what="the worker to reach the kill")
    finally:
        worker.stop()
    assert committed_at_kill == [kill_at // batch * batch]  # the four batches before it
    smtp_sink.on_message = None

    # The next run, on a new worker, sends the rest: the batch the dead one was sending
    # is pending again (once PostgreSQL has rolled its transaction back).
    worker = worker_sending_to(smtp_sink, redis_url, tmp_path, batch=batch)
    try:
        wait_for(
            lambda: deliver_notifications.apply_async() and all_sent(),
            timeout=120,
            interval=2,
            what="the outbox to drain after the kill",
        )
    finally:
        worker.stop()
    received = Counter(message["To"] for message in smtp_sink.messages)
    assert sorted(received) == sorted(addresses)  # nothing lost
    twice = sorted(address for address, times in received.items() if times > 1)
    assert set(received.values()) == {1, 2}
    # Only what the dead worker had handed over in the batch it never committed.
    in_flight = smtp_sink.messages[kill_at - kill_at % batch : kill_at]
    assert twice == sorted(message["To"] for message in in_flight)
