"""A broker outage of any length: the worker and beat wait for Redis, saying so in one line
per attempt, and carry on when it is back.

Real processes: a dedicated redis-server (stopped and restarted on its port), a Celery
worker (prefork, as production runs it) and beat on it, PostgreSQL. The retry interval is
lowered (BROKER_RETRY_INTERVAL_MS) so that more attempts than Celery's default budget of
100 fit in a few seconds of outage.
"""

from __future__ import annotations

import logging
import re
import sys
from types import SimpleNamespace

import pytest

from tests.conftest import BeatProcess, WorkerProcess, celery_env, forget_broker_connections, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

OLD_BUDGET = 100  # Celery's default broker_connection_max_retries


def attempts(log: str, process: str) -> int:
    """The lines saying that `process` (worker or beat) could not reach the broker."""
    return len(re.findall(rf"^.*{process}: broker unreachable .*$", log, flags=re.MULTILINE))


def pings_answered(worker: WorkerProcess) -> int:
    return len(re.findall(r"Task portal\.ping\[[^\]]+\] succeeded .*'pong'", worker.output()))


def sweeps_received(worker: WorkerProcess) -> int:
    return worker.output().count("Task escalation.tasks.sweep_sla[")


def ping_works(worker: WorkerProcess, answered: int) -> None:
    from config.celery import ping

    forget_broker_connections()  # this process's pooled connections died with the server
    ping.delay()
    wait_for(lambda: pings_answered(worker) == answered, timeout=60, what="the worker to answer a ping")


def outlast_budget(worker: WorkerProcess, beat: BeatProcess, *, worker_before: int, beat_lines: int) -> None:
    wait_for(
        lambda: (
            attempts(worker.output(), "worker") > worker_before + OLD_BUDGET + 20
            and attempts(beat.output(), "beat") >= beat_lines
        ),
        timeout=120,
        interval=0.5,
        what=f"more than {OLD_BUDGET} attempts to reach the broker",
    )
    assert worker.process.poll() is None, worker.output()[-3000:]
    assert beat.process.poll() is None, beat.output()[-3000:]


def test_worker_and_beat_outlast_outages_longer_than_the_old_retry_budget(redis_server, tmp_path):
    env = celery_env(
        redis_server.url,
        CELERY_RESULT_BACKEND="",
        BROKER_RETRY_INTERVAL_MS="20",
        BROKER_RETRY_MAX_INTERVAL_MS="20",
        SLA_SWEEP_INTERVAL="1",
        VAR_DIR=str(tmp_path / "var"),
    )
    # Started while Redis is down: neither may give up before it comes.
    worker = WorkerProcess(env, tmp_path / "worker.log")
    worker.launch(
        [sys.executable, "-m", "celery", "-A", "config", *worker.ARGS, "--pool=prefork", "--concurrency=1"]
    )
    beat = BeatProcess(env, tmp_path / "beat.log")
    try:
        beat.start("--schedule", str(tmp_path / "beat-schedule"))
        outlast_budget(worker, beat, worker_before=0, beat_lines=OLD_BUDGET + 20)

        redis_server.start()  # both connect by themselves
        wait_for(lambda: b"ready." in worker.log_path.read_bytes(), timeout=60, what="the worker to be ready")
        ping_works(worker, 1)
        wait_for(lambda: sweeps_received(worker) >= 1, timeout=60, what="beat's first sweep")

        # Down again, now that both were connected: the worker retries, beat skips its sends.
        redis_server.stop()
        before = attempts(worker.output(), "worker"), attempts(beat.output(), "beat")
        outlast_budget(worker, beat, worker_before=before[0], beat_lines=before[1] + 3)

        redis_server.start()
        ping_works(worker, 2)
        received = sweeps_received(worker)
        wait_for(lambda: sweeps_received(worker) > received + 1, timeout=60, what="beat's sweeps to resume")
        assert worker.process.poll() is None and beat.process.poll() is None
    finally:
        beat.stop()
        worker.stop()
    for log in (worker.output(), beat.output()):
        assert "Traceback" not in log, log[log.find("Traceback") - 500 :][:3000]
        assert stray_lines(log) == []


def test_an_acknowledgement_lost_with_the_broker_costs_one_line(redis_server, caplog, monkeypatch):
    """A task that ends as the broker goes away cannot be acknowledged (tasks are acknowledged
    late), and kombu logs that as CRITICAL with a traceback. The worker's consumer makes it one
    line like its other attempts. Which of the worker's connections meets the outage first is a
    race, so the acknowledgement is made here, on a real message from a real Redis."""
    from kombu import Connection, Queue

    from config.broker import quiet_lost_acknowledgements

    redis_server.start()
    queue = Queue("held")
    with Connection(redis_server.url, transport_options={"max_retries": 0}) as connection:
        connection.Producer().publish({"n": 1}, routing_key="held", declare=[queue])
        message = queue(connection.channel()).get(no_ack=False)
        assert message is not None
        redis_server.stop()

        requests = logging.getLogger("celery.worker.request")
        monkeypatch.setattr(requests, "filters", [])
        quiet_lost_acknowledgements(tuple(connection.connection_errors))
        with caplog.at_level(logging.INFO, logger="celery.worker.request"):
            message.ack_log_error(requests, connection.connection_errors)

    (record,) = [r for r in caplog.records if r.name == "celery.worker.request"]
    assert record.levelname == "WARNING"
    assert re.fullmatch(
        rf"worker: broker unreachable \(.+\); message {re.escape(message.delivery_tag)} not acknowledged, .+",
        record.getMessage(),
    )
    assert "\n" not in logging.Formatter().format(record), caplog.text  # no traceback
    assert "CRITICAL" not in caplog.text and "Traceback" not in caplog.text


def test_the_workers_consumer_quiets_lost_acknowledgements(monkeypatch):
    from celery.worker.request import logger as requests

    from config.broker import AcknowledgementLog, Consumer
    from config.celery import app

    monkeypatch.setattr(requests, "filters", [])
    consumer = Consumer(
        lambda *args: None,
        app=app,
        hostname="test",
        pool=SimpleNamespace(is_green=False),
        timer=None,
        hub=None,
        controller=SimpleNamespace(use_eventloop=False),
    )
    (installed,) = requests.filters
    assert isinstance(installed, AcknowledgementLog)
    assert installed.errors == tuple(consumer.connection_errors)


def stray_lines(log: str) -> list[str]:
    """Lines after the start-up banner that are not a log record of their own (a record
    spread over several lines: a traceback, a warning's text)."""
    records = log[log.index("\n[20") :].splitlines()
    return [line for line in records if line.strip() and not line.startswith(("[20", "worker: "))]
