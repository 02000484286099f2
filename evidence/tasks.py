"""Beat entry points of the evidence app; each body is one service call."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from evidence.services import reap_orphans, reap_staged


@shared_task(name="evidence.tasks.reap_orphaned_evidence", ignore_result=True)
def reap_orphaned_evidence() -> int:
    """Remove stored objects left by requests that never committed (older than a day)."""
    return len(reap_orphans(now=timezone.now()))


@shared_task(name="evidence.tasks.reap_staged_uploads", ignore_result=True)
def reap_staged_uploads() -> int:
    """Remove files chosen on a form that was never sent (staged more than a day ago)."""
    return len(reap_staged(now=timezone.now()))
