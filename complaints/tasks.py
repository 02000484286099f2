"""Beat and on-commit entry points of the complaints app; each body is one service call."""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils import timezone

from complaints import services
from complaints.notifications import deliver_outbox

logger = logging.getLogger(__name__)


@shared_task(name="complaints.tasks.deliver_notifications", ignore_result=True)
def deliver_notifications() -> dict[str, int]:
    """Drain the notification outbox (beat every few seconds, plus an on-commit nudge)."""
    result = deliver_outbox(now=timezone.now())
    if result.sent or result.retried or result.failed:
        logger.info("outbox: sent %s, retried %s, failed %s", result.sent, result.retried, result.failed)
    return {"sent": result.sent, "retried": result.retried, "failed": result.failed}


@shared_task(name="complaints.tasks.close_resolved_complaints", ignore_result=True)
def close_resolved_complaints() -> int:
    """Close resolved complaints whose dispute window has ended."""
    return services.close_expired_resolutions(now=timezone.now())
