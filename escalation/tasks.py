"""Beat entry point of the escalation app; the body is one service call."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from escalation.clock import database_now
from escalation.sweep import sweep

logger = logging.getLogger(__name__)


@shared_task(name="escalation.tasks.sweep_sla", ignore_result=True)
def sweep_sla() -> dict[str, int]:
    """Warn, flag breaches and climb the ladder for everything due (beat, every minute)."""
    result = sweep(
        now=database_now(), batch_size=settings.SLA_SWEEP_BATCH_SIZE, threads=settings.SLA_SWEEP_THREADS
    )
    if result.warned or result.breached or result.escalated or result.failed:
        logger.info("sla sweep: %s", result.as_dict())
    return result.as_dict()
