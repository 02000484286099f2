"""The real parts: a task goes through Redis to a real worker process and back."""

from __future__ import annotations

import time

import pytest

from config.celery import ping

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_task_round_trips_through_redis_and_a_real_worker(celery_worker_process):
    result = ping.delay()
    assert result.get(timeout=30) == "pong"
    # The worker logs the success just after it stores the result: wait for the line.
    line = f"Task portal.ping[{result.id}] succeeded"
    deadline = time.monotonic() + 10
    while line not in celery_worker_process.output() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert line in celery_worker_process.output()
