"""The sweep through a real Celery worker on Redis: killed mid-sweep, nothing is lost or doubled."""

from __future__ import annotations

import signal
import time
from datetime import timedelta

import pytest

from complaints.models import Complaint
from escalation import clock
from escalation import sweep as sweeping
from escalation.models import Escalation
from tests.conftest import WorkerProcess, celery_env, empty_broker, wait_for
from tests.factories import make_complaint

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_worker_killed_mid_sweep_loses_nothing_and_the_next_sweep_finishes_exactly(redis_url, tmp_path):
    from escalation.tasks import sweep_sla

    db_now = clock.database_now()
    total = 400
    for _ in range(total):
        make_complaint(now=db_now - timedelta(hours=25))  # first response overdue by an hour
    env = celery_env(
        redis_url,
        SLA_SWEEP_BATCH_SIZE="5",
    )
    empty_broker(redis_url)
    worker = WorkerProcess(env, tmp_path / "worker.log").start()
    try:
        sweep_sla.delay()
        wait_for(
            lambda: Escalation.objects.exists(), timeout=60, interval=0.005, what="the first batch to commit"
        )
        worker.process.send_signal(signal.SIGKILL)
        worker.process.wait(timeout=30)
    finally:
        worker.stop()
    done_when_killed = Escalation.objects.count()
    assert 0 < done_when_killed < total, "the worker should have died mid-sweep"
    time.sleep(0.2)
    result = sweeping.sweep(now=clock.database_now())
    assert result.escalated == total - done_when_killed
    assert Escalation.objects.count() == total
    assert Escalation.objects.values("complaint").distinct().count() == total
    assert set(Complaint.objects.values_list("escalation_level", flat=True)) == {1}


def test_after_an_outage_the_first_sweep_catches_everything_that_fell_due():
    db_now = clock.database_now()
    # Deadlines that passed at different moments while no sweep ran (broker down).
    for hours_late in (1, 5, 30, 70):
        make_complaint(now=db_now - timedelta(hours=24 + hours_late))
    result = sweeping.sweep(now=db_now)
    assert result.breached >= 4
    assert set(Complaint.objects.values_list("escalation_level", flat=True)) >= {1}
    assert Complaint.objects.filter(first_response_breached_at__isnull=True).count() == 0
