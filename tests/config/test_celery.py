"""The real parts: a task goes through Redis to a real worker process and back."""

from __future__ import annotations

import pytest

from config.celery import ping

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_task_round_trips_through_redis_and_a_real_worker(celery_worker_process):
    result = ping.delay()
    assert result.get(timeout=30) == "pong"
    assert f"Task portal.ping[{result.id}] succeeded" in celery_worker_process.output()
