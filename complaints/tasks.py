"""Beat and on-commit entry points of the complaints app; each body is one service call."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

from complaints import report_tallies, services, tallies
from complaints.mailbox import imap_settings, poll_doors
from complaints.notifications import deliver_outbox
from complaints.services.retention import anonymise_expired
from escalation.clock import database_now

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


@shared_task(name="complaints.tasks.anonymise_expired_complaints", ignore_result=True)
def anonymise_expired_complaints() -> int:
    """Erase the personal data of ended cases past their category's retention (daily)."""
    done = anonymise_expired(now=timezone.now())
    if done.complaints:
        logger.info(
            "retention: %s complaints anonymised, %s stored objects deleted", done.complaints, done.objects
        )
    return done.complaints


@shared_task(name="complaints.tasks.compact_tallies", ignore_result=True)
def compact_tallies() -> int:
    """Fold the dashboard's and the compliance report's tallies into one row per key (beat,
    every ten minutes); returns how many rows were folded."""
    return tallies.compact() + report_tallies.compact() if tallies.kept() else 0


@shared_task(name="complaints.tasks.poll_inbound_mail", ignore_result=True)
def poll_inbound_mail() -> dict[str, int]:
    """Take the mail waiting at the IMAP door and the folder door, whichever are configured (beat),
    handing each message to the inbound pipeline, settings.INBOUND_HANDLER (resolved at each poll)."""
    receive = import_string(settings.INBOUND_HANDLER)
    result = poll_doors(receive, mailbox=imap_settings(), folder=settings.INBOUND_FOLDER)
    if result.taken or result.failed:
        logger.info("inbound mail: taken %s, failed %s", result.taken, result.failed)
    return {"taken": result.taken, "failed": result.failed}


@shared_task(name="complaints.tasks.detect_waves", ignore_result=True)
def detect_waves() -> dict[str, int]:
    """Look for waves of complaints and alert the managers of each new one (beat, every
    WAVE_CHECK_INTERVAL seconds); the time is the database's, as the sweep's is."""
    result = services.detect_waves(now=database_now())
    if result.alerted or result.ongoing or result.covered:
        logger.info("waves: %s", result.as_dict())
    return result.as_dict()
