"""Delivering the outbox: render each notice in its recipient's language and send it, once.

Notices are written by `complaints.records` in the transaction of the change they
report, and the delivery task is nudged after commit. The nudge swallows broker errors
(with a short connect timeout), so a request never fails or stalls because Redis is
down: beat runs the same delivery every few seconds and catches up once the broker is
back.
"""

from __future__ import annotations

import contextlib
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from common.times import reading_as
from complaints.models import FAR_FUTURE, Notification, NotificationStatus, PrivacyRequestKind, in_language
from complaints.replies import case_root_id, inbound_address_configured, issue_reply_tokens, reply_address
from complaints.tracking import issue_tracking_token, issue_tracking_tokens

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeliveryResult:
    sent: int = 0
    retried: int = 0
    failed: int = 0

    def __add__(self, other: DeliveryResult) -> DeliveryResult:
        return DeliveryResult(
            sent=self.sent + other.sent,
            retried=self.retried + other.retried,
            failed=self.failed + other.failed,
        )


def retry_delay(attempts: int) -> timedelta:
    """Back-off after the n-th failed attempt: 30 s, 1 min, 2 min, ... capped at one hour."""
    return min(timedelta(seconds=30 * 2 ** max(attempts - 1, 0)), timedelta(hours=1))


def deliver_outbox(*, now: datetime, batch_size: int | None = None) -> DeliveryResult:
    """Send every pending notice due at `now`, each exactly once, and return the counts.

    Works batch after batch (NOTIFICATION_BATCH_SIZE notices each) until nothing due is
    left to claim, so a backlog drains in one run as fast as the mail server takes it. A
    notice queued after `now` waits for the next run. Each batch is one transaction: its
    rows are locked `FOR UPDATE SKIP LOCKED` while they are sent over one SMTP connection
    and marked, then committed; concurrent workers take other rows and never send the
    same notice twice. A crash loses nothing: the batch in flight is rolled back and the
    next run sends it again (what had reached the mail server of it goes out twice). A
    failure schedules a retry with back-off; after NOTIFICATION_MAX_ATTEMPTS the row is
    failed. When the mail server cannot be reached the run stops; the rest waits.
    """
    batch_size = batch_size or settings.NOTIFICATION_BATCH_SIZE
    total = DeliveryResult()
    while True:
        result, claimed, reachable = _deliver_batch(now=now, batch_size=batch_size)
        total += result
        if claimed < batch_size or not reachable:
            return total


def _deliver_batch(*, now: datetime, batch_size: int) -> tuple[DeliveryResult, int, bool]:
    """Claim, send and mark one batch in one transaction: (counts, rows claimed, whether
    the mail server could be reached)."""
    sent_ids: list[int] = []
    retried = failed = 0
    reachable = True
    with transaction.atomic():
        batch = list(
            Notification.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("complaint")
            .filter(status=NotificationStatus.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "pk")[:batch_size]
        )
        if not batch:
            return DeliveryResult(), 0, True
        # The batch's tracking links in one INSERT: rendering then reads nothing from the
        # database (each row comes with its complaint), so it needs no savepoint.
        linked = [n for n in batch if n.complaint_id is not None and n.context.get("with_tracking_link")]
        tokens = issue_tracking_tokens(complaint_ids=[n.complaint_id for n in linked], now=now)
        token_of = dict(zip((n.pk for n in linked), tokens, strict=True))
        # Their reply addresses likewise: a token per notice about a case, in one INSERT.
        replyable = [n for n in batch if n.complaint_id is not None] if inbound_address_configured() else []
        reply_tokens = issue_reply_tokens(
            pairs=[(n.complaint_id, n.recipient_id, n.email) for n in replyable], now=now
        )
        reply_token_of = dict(zip((n.pk for n in replyable), reply_tokens, strict=True))
        mailer = get_connection()  # one SMTP connection for the batch
        held: list[int] = []
        try:
            for notification in batch:
                if notification.complaint is not None and notification.complaint.processing_restricted_at:
                    held.append(notification.pk)  # frozen with the case until the restriction is lifted
                    continue
                try:
                    message = render_notification(
                        notification,
                        now=now,
                        tracking_token=token_of.get(notification.pk),
                        reply_token=reply_token_of.get(notification.pk),
                    )
                    try:
                        mailer.open()  # a no-op while the connection is open
                    except Exception:
                        reachable = False
                        raise
                    message.connection = mailer
                    message.send()
                except Undeliverable as exc:  # no retry can fix the address: fail it now, keep the row
                    _give_up(notification, exc)
                    failed += 1
                except Exception as exc:  # noqa: BLE001 - any failure is retried later
                    if _retry_later(notification, exc, now=now):
                        retried += 1
                    else:
                        failed += 1
                    # The server may have dropped the connection: the next notice opens a new one.
                    with contextlib.suppress(Exception):
                        mailer.close()
                    if not reachable:
                        break  # the rest of the batch stays pending, untouched, for the next run
                else:
                    sent_ids.append(notification.pk)
        finally:
            with contextlib.suppress(Exception):
                mailer.close()
        if held:
            Notification.objects.filter(pk__in=held).update(next_attempt_at=FAR_FUTURE)
        if sent_ids:
            Notification.objects.filter(pk__in=sent_ids).update(
                status=NotificationStatus.SENT, sent_at=now, attempts=F("attempts") + 1
            )
    counts = DeliveryResult(sent=len(sent_ids), retried=retried, failed=failed)
    return counts, len(batch), reachable


def _give_up(notification: Notification, exc: Exception) -> None:
    notification.attempts += 1
    notification.last_error = f"{type(exc).__name__}: {exc}"[:2000]
    notification.status = NotificationStatus.FAILED
    logger.error("notification %s cannot be delivered: %s", notification.pk, notification.last_error)
    notification.save(update_fields=["attempts", "last_error", "status"])


def _retry_later(notification: Notification, exc: Exception, *, now: datetime) -> bool:
    """Count the failed attempt; schedule a retry (True) or, out of attempts, fail the row (False)."""
    notification.attempts += 1
    notification.last_error = f"{type(exc).__name__}: {exc}"[:2000]
    retrying = notification.attempts < settings.NOTIFICATION_MAX_ATTEMPTS
    if retrying:
        notification.next_attempt_at = now + retry_delay(notification.attempts)
    else:
        notification.status = NotificationStatus.FAILED
        logger.error("notification %s failed for good: %s", notification.pk, notification.last_error)
    notification.save(update_fields=["attempts", "last_error", "status", "next_attempt_at"])
    return retrying


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


# What a notice says happened, by template and the `kind` in its context (the first
# sentence of the e-mail; a staff alert's subject too). Looked up, not branched on in the
# templates: an e-mail is rendered in three parts, and a wave sends thousands.
NEWS: dict[str, dict[str | None, Any]] = {
    "case_update": {
        "open": _("Your complaint is now being handled by our support team."),
        "awaiting_complainant": _(
            "We need more information from you to continue. Please answer on your complaint's page; "
            "the clock is paused until you do."
        ),
        "reply": _("The support team answered your complaint:"),
        "resolved": _(
            "Your complaint was marked as resolved. If you agree, accept the resolution; if not, you "
            "can dispute it within 14 days."
        ),
        "escalated": _(
            "A deadline for your complaint passed, so it has been passed up to someone with more "
            "authority. You do not need to do anything."
        ),
        "closed": _("Your complaint is closed."),
        "incident_update": _(
            "Your complaint is one of many about the same known problem. There is news on that problem:"
        ),
        "incident_resolved": _(
            "Your complaint is one of many about the same known problem, and that problem is now "
            "solved. Your own case stays open until it is resolved:"
        ),
        None: _("There is news on your complaint."),
    },
    "staff_alert": {
        "complainant_reply": _("The complainant wrote a new message."),
        "reminder": _("The complainant sent a reminder: they are waiting for an answer."),
        "disputed": _("The complainant disputed the resolution; the case is open again."),
        "sla_warning": _("A deadline on this case is close: answer or resolve it soon."),
        "escalated": _("A case was escalated to your level: a deadline was missed."),
        "assigned": _("A case was assigned to you."),
        "withdrawn": _("The complainant withdrew the complaint."),
        "completed": _("The complainant completed the complaint they opened by e-mail."),
        None: _("There is news on a case assigned to you."),
    },
    "privacy_request": {
        "received": _("We received your request about your personal data."),
        "new": _("A request about personal data waits for a privacy officer."),
        "done": _("Your request about your personal data was carried out."),
        "refused": _("Your request about your personal data was refused."),
        None: _("There is news on a request about personal data."),
    },
    "wave_alert": {
        None: _(
            "Many more complaints than usual are coming in about one service: an incident may be behind them."
        ),
    },
    "security_alert": {
        "sign_in_ceiling": _("Sign-ins to one account keep failing: someone may be guessing its password."),
        "second_factor_failure": _(
            "A wrong second-factor code was typed for an account: someone may hold its password."
        ),
        "permission_refused": _("An account reached for a staff page its role does not open."),
        "bulk_download": _("One account downloaded more files, dossiers or exports in an hour than usual."),
        None: _("Something on the portal looks like an attack on an account or on personal data."),
    },
}


# What a notice says happened, where it differs when the recipient can answer by replying.
NEWS_WHEN_REPLIES: dict[str, dict[str, Any]] = {
    "case_update": {
        "awaiting_complainant": _(
            "We need more information from you to continue. Please answer by replying to this e-mail "
            "or on your complaint's page; the clock is paused until you do."
        ),
    },
}

# The last line of every e-mail: how to answer, by (sent to staff, replies reach the portal).
FOOTER: dict[tuple[bool, bool], Any] = {
    (False, True): _(
        "You can answer by replying to this e-mail: your answer and its attachments are added to "
        "your complaint."
    ),
    (True, True): _(
        "You can answer by replying to this e-mail: your reply is posted on the case as a public "
        "reply, which the complainant sees."
    ),
    (False, False): _("To write to us, use your complaint's page."),
    (True, False): _("To answer, open the case in the portal."),
}


# The last line of the e-mails that are about no case.
FOOTER_OF_TEMPLATE: dict[str, Any] = {
    "security_alert": _("You receive this e-mail as a privacy officer of the complaint portal."),
    "wave_alert": _("You receive this e-mail as a manager of the complaint portal."),
}


def render_notification(
    notification: Notification,
    *,
    now: datetime,
    tracking_token: str | None = None,
    reply_token: str | None = None,
) -> EmailMultiAlternatives:
    """Render the notice's e-mail (text and HTML) in the recipient's language and time zone.

    A notice that carries a tracking link gets `tracking_token`, minted for it, or else
    mints one here (a write in the caller's transaction). A notice about a case, when
    INBOUND_EMAIL_ADDRESS is set, is answered at a reply address: with `reply_token`, minted
    for it, or else one minted here the same way. Its Message-ID is its row's, and it names
    the case's thread root in References and In-Reply-To.
    """
    context: dict[str, Any] = {**notification.context, "site_url": settings.SITE_URL}
    if "moves" in context:  # the SLA engine's summary: times are stored as ISO text
        context["moves"] = [{**move, "due_at": parse_datetime(move["due_at"])} for move in context["moves"]]
    complaint = notification.complaint
    to_staff = notification.recipient_id is not None
    headers: dict[str, str] = {}
    if notification.message_id:
        headers["Message-ID"] = notification.message_id
    reply_to: list[str] = []
    if complaint is not None:
        context["complaint"] = complaint
        # Staff are sent to their own case page; the complainant to theirs.
        page = "staff:case" if to_staff else "complaints:detail"
        context["case_url"] = absolute_url(reverse(page, args=[complaint.reference]))
        if notification.context.get("with_tracking_link"):
            # Minted at sending time: the raw token lives only in the e-mail, never in a row.
            token = tracking_token or issue_tracking_token(complaint=complaint, now=now)
            context["tracking_url"] = absolute_url(reverse("complaints:track", args=[token]))
            context["tracking_days"] = settings.TRACKING_LINK_TTL.days
        if inbound_address_configured():
            if reply_token is None:
                (reply_token,) = issue_reply_tokens(
                    pairs=[(complaint.pk, notification.recipient_id, notification.email)], now=now
                )
            reply_to.append(reply_address(reply_token))
        root = case_root_id(complaint.reference)
        headers["References"] = headers["In-Reply-To"] = root
    if "incident_path" in context:  # news on an incident: its public page
        context["incident_url"] = absolute_url(context["incident_path"])
    if notification.template == "wave_alert":  # a wave: its category as the reader reads it, its links
        context["category"] = in_language(
            notification.language, context["category_vi"], context["category_en"]
        )
        context["window_start"] = parse_datetime(context["window_start"])
        context["declare_url"] = absolute_url(
            f"{reverse('staff:incidents')}?{urlencode({'alert': context['alert']})}"
        )
        context["queue_url"] = absolute_url(reverse("staff:queue"))
    replies = bool(reply_to)
    base = f"emails/{notification.template}"
    if "due_at" in notification.context and notification.template == "privacy_request":
        context["due"] = parse_datetime(notification.context["due_at"])
        if "request" in notification.context:  # to a privacy officer: their page for it
            context["request_url"] = absolute_url(reverse("staff:privacy_request", args=[context["request"]]))
    with reading_as(notification.language):
        if "request_kind" in context:
            context["request_label"] = str(PrivacyRequestKind(context["request_kind"]).label)
        if news := NEWS.get(notification.template):
            kind = context.get("kind")
            sentence = replies and NEWS_WHEN_REPLIES.get(notification.template, {}).get(kind)
            context["news"] = str(sentence or news.get(kind, news[None]))
        context["footer"] = str(FOOTER_OF_TEMPLATE.get(notification.template) or FOOTER[to_staff, replies])
        subject = header_text(render_to_string(f"{base}_subject.txt", context))
        text = render_to_string(f"{base}.txt", context)
        html = render_to_string(f"{base}.html", context)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        to=[checked_address(notification.email)],
        reply_to=reply_to,
        headers=headers,
    )
    message.attach_alternative(html, "text/html")
    return message
