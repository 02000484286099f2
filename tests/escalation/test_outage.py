"""Redis down for a while: beat cannot start a sweep, and the first one after it returns catches up.

Real processes throughout: a dedicated redis-server (stopped and restarted on its port),
a Celery worker and Celery beat on it with a one-second sweep interval, PostgreSQL.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from complaints.models import Complaint
from escalation import clock
from escalation import sweep as sweeping
from escalation.models import Escalation, Reason
from tests.conftest import BeatProcess, WorkerProcess, celery_env, wait_for
from tests.factories import make_complaint

pytestmark = pytest.mark.django_db(transaction=True)


def sweeps_run(worker: WorkerProcess) -> int:
    return worker.output().count("Task escalation.tasks.sweep_sla[")  # received, one line per run


def test_no_sweep_runs_while_redis_is_down_and_the_first_after_catches_every_due_complaint(
    redis_server, tmp_path
):
    redis_server.start()
    env = celery_env(
        redis_server.url,
        CELERY_RESULT_BACKEND="",
        SLA_SWEEP_INTERVAL="1",
        VAR_DIR=str(tmp_path / "var"),
    )
    worker = WorkerProcess(env, tmp_path / "worker.log").start()
    beat = BeatProcess(env, tmp_path / "beat.log").start("--schedule", str(tmp_path / "beat-schedule"))
    try:
        wait_for(lambda: sweeps_run(worker) >= 1, timeout=60, what="beat's first sweep to run")

        db_now = clock.database_now()
        # First-response deadlines that pass while Redis is down, in 5 to 6 seconds.
        complaints = [
            make_complaint(now=db_now - timedelta(hours=24) + timedelta(seconds=5, milliseconds=50 * i))
            for i in range(20)
        ]
        redis_server.stop()
        time.sleep(1.5)  # let a sweep received just before the stop finish
        ran_before = sweeps_run(worker)
        time.sleep(6)  # six beat intervals without a broker; the deadlines pass meanwhile
        assert clock.database_now() > db_now + timedelta(seconds=6)  # all due now
        assert sweeps_run(worker) == ran_before, "no sweep may run while the broker is down"
        assert not Escalation.objects.exists()
        assert beat.process.poll() is None and worker.process.poll() is None  # both rode it out

        redis_server.start()  # same port: beat and the worker reconnect by themselves
        wait_for(
            lambda: Escalation.objects.values("complaint").distinct().count() == len(complaints),
            timeout=90,
            what="the first sweep after the outage",
        )
        time.sleep(2.5)  # two more sweeps: they must find nothing left to do
    finally:
        beat.stop()
        worker.stop()
    assert sweeps_run(worker) > ran_before + 1
    # Every first response missed during the outage was caught, once.
    breached = Escalation.objects.filter(reason=Reason.FIRST_RESPONSE_BREACHED)
    assert Escalation.objects.count() == breached.count() == len(complaints)
    assert breached.values("complaint").distinct().count() == len(complaints)
    assert sweeping.sweep(now=clock.database_now()).escalated == 0  # nothing was left behind
    assert Complaint.objects.filter(first_response_breached_at__isnull=True).count() == 0
    assert set(Complaint.objects.values_list("escalation_level", flat=True)) == {1}
