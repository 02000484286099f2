"""Riding out a broker outage of any length: the worker's consumer and beat's scheduler.

Celery's own retry loop gives up after `broker_connection_max_retries` attempts (the
worker then exits) and logs each attempt over several lines; beat logs a full stack and
traceback for every task it cannot send. Settings name these classes
(CELERY_WORKER_CONSUMER, CELERY_BEAT_SCHEDULER); with CELERY_BROKER_CONNECTION_MAX_RETRIES
None they wait for ever, at the intervals BROKER_RETRY_INTERVAL_MS and
BROKER_RETRY_MAX_INTERVAL_MS set, and say so in one line per attempt. Only worker and beat
processes import this module.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

from celery.beat import PersistentScheduler, SchedulingError
from celery.exceptions import CPendingDeprecationWarning
from celery.worker.consumer import Consumer as CeleryConsumer
from django.conf import settings
from kombu import Connection
from kombu.exceptions import OperationalError

logger = logging.getLogger(__name__)

# Ten lines on every lost connection while worker_cancel_long_running_tasks_on_connection_loss
# is False, which settings.py chose on purpose (a running task finishes; each is safe to rerun).
warnings.filterwarnings(
    "ignore",
    message=r"\s*In Celery 5\.1 we introduced an optional breaking change",
    category=CPendingDeprecationWarning,
)


def retry_intervals() -> dict[str, float]:
    """kombu's waits between attempts: one interval more each time, up to the maximum."""
    step = settings.BROKER_RETRY_INTERVAL_MS / 1000
    return {
        "interval_start": step,
        "interval_step": step,
        "interval_max": max(settings.BROKER_RETRY_MAX_INTERVAL_MS / 1000, step),
    }


class AttemptLog:
    """kombu's errback: one line per failed attempt to reach the broker, without a traceback."""

    def __init__(self, process: str) -> None:
        self.process = process
        self.attempts = 0

    def __call__(self, exc: BaseException, interval: float) -> None:
        self.attempts += 1
        logger.warning(
            "%s: broker unreachable (%s), attempt %d; trying again in %.2f s",
            self.process,
            " ".join(str(exc).split()) or type(exc).__name__,
            self.attempts,
            interval,
        )


class AcknowledgementLog(logging.Filter):
    """kombu's CRITICAL record and traceback for a message that could not be acknowledged or
    rejected because the broker went away, made one line like the other attempts.

    Nothing is lost: tasks are acknowledged late (CELERY_TASK_ACKS_LATE), so a message whose
    acknowledgement failed stays on the broker, which delivers it again once its visibility
    timeout has passed; every task is safe to run twice. Any other failure keeps its record.
    """

    MESSAGES = {"Couldn't ack %r, reason:%r": "acknowledged", "Couldn't reject %r, reason: %r": "rejected"}

    def __init__(self, errors: tuple[type[BaseException], ...]) -> None:
        super().__init__()
        self.errors = errors

    def filter(self, record: logging.LogRecord) -> bool:
        done = self.MESSAGES.get(str(record.msg))
        exc = record.exc_info[1] if record.exc_info else None
        if done and isinstance(exc, self.errors):
            record.levelno, record.levelname = logging.WARNING, logging.getLevelName(logging.WARNING)
            record.msg = "worker: broker unreachable (%s); message %s not %s, the broker delivers it again"
            record.args = (" ".join(str(exc).split()) or type(exc).__name__, record.args[0], done)
            record.exc_info = record.exc_text = None
        return True


def quiet_lost_acknowledgements(errors: tuple[type[BaseException], ...]) -> None:
    """Installs AcknowledgementLog once on the logger through which the worker's requests
    acknowledge their messages (late, from the main process, where the consumer runs)."""
    requests = logging.getLogger("celery.worker.request")
    if not any(isinstance(f, AcknowledgementLog) for f in requests.filters):
        requests.addFilter(AcknowledgementLog(errors))


class Consumer(CeleryConsumer):
    """The worker's consumer, connecting at our intervals and logging one line per attempt."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        quiet_lost_acknowledgements(tuple(self.connection_errors))

    def ensure_connected(self, conn: Connection) -> Connection:
        # Celery decides whether to retry and how often (broker_connection_max_retries);
        # the connection it is handed waits our intervals and logs our way.
        ensure = conn.ensure_connection
        log = AttemptLog("worker")

        def ensure_connection(errback: Any = None, max_retries: int | None = None, **options: Any) -> Any:
            return ensure(log, max_retries, **{**options, **retry_intervals()})

        conn.ensure_connection = ensure_connection
        return super().ensure_connected(conn)


class Scheduler(PersistentScheduler):
    """Beat's scheduler: waits for the broker like the worker, and a task it cannot send
    while the broker is down costs one line (the next run is sent at its next time)."""

    def _ensure_connected(self) -> Connection:
        return self.connection.ensure_connection(
            AttemptLog("beat"), self.app.conf.broker_connection_max_retries, **retry_intervals()
        )

    def apply_entry(self, entry: Any, producer: Any = None) -> None:
        logger.info("Scheduler: Sending due task %s (%s)", entry.name, entry.task)
        try:
            self.apply_async(entry, producer=producer, advance=False)
        except SchedulingError as exc:
            cause = exc.__cause__ or exc.__context__
            if isinstance(cause, (OperationalError, ConnectionError, *self.connection.connection_errors)):
                logger.warning(
                    "beat: broker unreachable (%s); %s not sent, next at its next time",
                    " ".join(str(cause).split()),
                    entry.name,
                )
            else:
                logger.error("beat: could not send %s", entry.name, exc_info=True)
