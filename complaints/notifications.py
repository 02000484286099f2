"""Delivering the outbox: render each notice in its recipient's language and send it, once.

Notices are written by `complaints.records` in the transaction of the change they
report, and the delivery task is nudged after commit. The nudge swallows broker errors
(with a short connect timeout), so a request never fails or stalls because Redis is
down: beat runs the same delivery every few seconds and catches up once the broker is
back.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.dateparse import parse_datetime

from common.times import reading_as
from complaints.models import Notification, NotificationStatus
from complaints.tracking import issue_tracking_token

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeliveryResult:
    sent: int = 0
    retried: int = 0
    failed: int = 0


def retry_delay(attempts: int) -> timedelta:
    """Back-off after the n-th failed attempt: 30 s, 1 min, 2 min, ... capped at one hour."""
    return min(timedelta(seconds=30 * 2 ** max(attempts - 1, 0)), timedelta(hours=1))


def deliver_outbox(*, now: datetime, batch_size: int = 50) -> DeliveryResult:
    """Send the pending notices due at `now`, each exactly once, and return the counts.

    Each row is locked (`FOR UPDATE SKIP LOCKED`) in its own transaction while it is
    sent and marked, so concurrent workers never send the same notice twice. A failure
    schedules a retry with back-off; after NOTIFICATION_MAX_ATTEMPTS the row is failed.
    """
    sent = retried = failed = 0
    due_ids = list(
        Notification.objects.filter(status=NotificationStatus.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:batch_size]
    )
    for pk in due_ids:
        with transaction.atomic():
            notification = (
                Notification.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("complaint")
                .filter(pk=pk, status=NotificationStatus.PENDING)
                .first()
            )
            if notification is None:
                continue  # another worker has it, or sent it meanwhile
            try:
                # A savepoint, so a database error while rendering leaves the row usable.
                with transaction.atomic():
                    render_notification(notification, now=now).send()
            except Undeliverable as exc:  # no retry can fix the address: fail it now, keep the row
                notification.attempts += 1
                notification.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                notification.status = NotificationStatus.FAILED
                failed += 1
                logger.error(
                    "notification %s cannot be delivered: %s", notification.pk, notification.last_error
                )
                notification.save(update_fields=["attempts", "last_error", "status"])
            except Exception as exc:  # noqa: BLE001 - any failure is retried later
                notification.attempts += 1
                notification.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                if notification.attempts >= settings.NOTIFICATION_MAX_ATTEMPTS:
                    notification.status = NotificationStatus.FAILED
                    failed += 1
                    logger.error(
                        "notification %s failed for good: %s", notification.pk, notification.last_error
                    )
                else:
                    notification.next_attempt_at = now + retry_delay(notification.attempts)
                    retried += 1
                notification.save(update_fields=["attempts", "last_error", "status", "next_attempt_at"])
            else:
                notification.status = NotificationStatus.SENT
                notification.sent_at = now
                notification.attempts += 1
                notification.save(update_fields=["status", "sent_at", "attempts"])
                sent += 1
    return DeliveryResult(sent=sent, retried=retried, failed=failed)


class Undeliverable(ValueError):
    """The notice's address is not one a message can be sent to (e.g. it holds a line break)."""


# Line breaks of every kind (CR, LF, NEL, VT, FF, U+2028/9) and other control characters:
# in a header they would start a new header (an injected Bcc:) or make Django refuse it.
_HEADER_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
SUBJECT_MAX_LENGTH = 250


def header_text(value: str, *, max_length: int = SUBJECT_MAX_LENGTH) -> str:
    """`value` as one line fit for an e-mail header: controls become spaces, runs of white
    space one space, and it is cut to `max_length` characters."""
    return " ".join(_HEADER_UNSAFE.sub(" ", value).split())[:max_length].strip()


def checked_address(address: str) -> str:
    """The recipient address, stripped; raises Undeliverable unless it is one valid address."""
    address = (address or "").strip()
    try:
        if _HEADER_UNSAFE.search(address):
            raise ValidationError("control character")
        validate_email(address)
    except ValidationError as exc:
        raise Undeliverable(f"invalid recipient address {address[:80]!r}") from exc
    return address


def absolute_url(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def render_notification(notification: Notification, *, now: datetime) -> EmailMultiAlternatives:
    """Render the notice's e-mail (text and HTML) in the recipient's language and time zone."""
    context: dict[str, Any] = {**notification.context, "site_url": settings.SITE_URL}
    if "moves" in context:  # the SLA engine's summary: times are stored as ISO text
        context["moves"] = [{**move, "due_at": parse_datetime(move["due_at"])} for move in context["moves"]]
    complaint = notification.complaint
    if complaint is not None:
        context["complaint"] = complaint
        # Staff are sent to their own case page; the complainant to theirs.
        page = "staff:case" if notification.recipient_id is not None else "complaints:detail"
        context["case_url"] = absolute_url(reverse(page, args=[complaint.reference]))
        if notification.context.get("with_tracking_link"):
            # Minted at sending time: the raw token lives only in the e-mail, never in a row.
            token = issue_tracking_token(complaint=complaint, now=now)
            context["tracking_url"] = absolute_url(reverse("complaints:track", args=[token]))
            context["tracking_days"] = settings.TRACKING_LINK_TTL.days
    base = f"emails/{notification.template}"
    with reading_as(notification.language):
        subject = header_text(render_to_string(f"{base}_subject.txt", context))
        text = render_to_string(f"{base}.txt", context)
        html = render_to_string(f"{base}.html", context)
    message = EmailMultiAlternatives(subject=subject, body=text, to=[checked_address(notification.email)])
    message.attach_alternative(html, "text/html")
    return message
