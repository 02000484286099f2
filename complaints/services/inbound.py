"""Inbound e-mail: one pipeline behind every door (an IMAP mailbox, mail providers'
webhooks, a folder for `make run`).

`receive_raw` records each message once before anything else (by its Message-ID, else
by the SHA-256 of its bytes) and keeps the raw bytes in storage, then decides:

1. a delivery failure report marks the notice it returns as bounced and tells staff on
   the case; an automatic reply is recorded and goes no further. Neither is answered.
2. threading: the reply token in a recipient address; else `In-Reply-To`/`References`
   naming a notice the portal sent; else a reference `[KN-XXXX-XXXX]` in the subject.
   Mail sent to the intake address itself (INBOUND_EMAIL_ADDRESS, no token) that matches
   no case is a new complaint: `intake.file_complaint_from_mail` files it incomplete, its
   clock running from receipt, and answers with a link to complete the dossier (only when
   the sender passed DMARC/SPF, is within the limit, wrote some text and is not the
   portal itself; else it waits for review).
3. who may speak: only a live token whose address is the message's `From` lands on the
   case, and only when the receiving server did not fail the sender's DMARC or SPF and
   the sender is within the hourly limit. Anything else waits for a person in review,
   with the case it seems to be about, and why.
4. what lands: the new text (quotes and signature stripped by `complaints.mailparse`),
   the message sealed as `.eml` evidence, the attachments through the vault's checks
   (a refused one is named on the entry with why), applied through the same service a
   page calls: the complainant's reply (answering a request for information resumes the
   clock) or a staff member's public reply (it counts as the first response).

The record, the stored objects and the effects commit together or not at all, so a
door hands a message over again after any failure, and a message handed over twice is
recorded once: a door may deliver at least once.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from datetime import datetime, timedelta
from email.utils import parseaddr
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from complaints.mailparse import (
    Bounce,
    Limits,
    MalformedMail,
    ParsedMail,
    normalise_address,
    parse,
    reference_in_subject,
)
from complaints.models import (
    INBOUND_PREFIX,
    ActorRole,
    Complaint,
    EventKind,
    InboundDoor,
    InboundMessage,
    InboundStatus,
    Notification,
    NotificationStatus,
    ReviewReason,
)
from complaints.records import record_event
from complaints.refusals import ActionRefused
from complaints.replies import (
    notice_for_message_ids,
    redeem_reply_token,
    reference_in_root_id,
    token_in_address,
)
from complaints.rules import check_open
from complaints.services.complainant import reply_as_complainant
from complaints.services.intake import file_complaint_from_mail, file_mail, unclassified_subcategory
from complaints.services.staff import reply_as_staff
from evidence.services import StoredObjects, atomic_with_files

logger = logging.getLogger(__name__)

SENDER_WINDOW = timedelta(hours=1)
ALREADY_HANDLED = _("Someone has already dealt with this message.")
NO_SENDER_TO_ANSWER = _(
    "Its sender's address is not one the portal can write to (or it is the portal's own)."
)
NO_UNCLASSIFIED = _(
    "The category of complaints not yet classified was deleted; an administrator can restore it."
)


def limits() -> Limits:
    return Limits(
        max_bytes=settings.INBOUND_MAX_BYTES,
        max_attachments=settings.INBOUND_MAX_ATTACHMENTS,
        max_depth=settings.INBOUND_MAX_DEPTH,
    )


def receive_raw(raw: bytes, *, door: str = InboundDoor.FOLDER, now: datetime | None = None) -> InboundMessage:
    """Record one received message and apply what it says; return its record (the earlier
    one when the same message came before). Raises only when nothing could be recorded
    (the database or the storage is down): the door keeps the message and tries again."""
    now = now or timezone.now()
    digest = hashlib.sha256(raw).hexdigest()
    if known := InboundMessage.objects.filter(sha256=digest).first():
        return known
    try:
        mail, problem = parse(raw, limits=limits()), None
    except MalformedMail as exc:
        mail, problem = None, exc
    message_id = mail.message_id[:255] if mail is not None else ""
    if message_id and (known := InboundMessage.objects.filter(message_id=message_id).first()):
        return known
    try:
        with atomic_with_files() as stored:
            inbound = InboundMessage(
                door=door,
                message_id=message_id,
                sha256=digest,
                size=len(raw),
                received_at=now,
                raw_key=stored.save(f"{INBOUND_PREFIX}/{now:%Y/%m}/{uuid.uuid4().hex}.eml", ContentFile(raw)),
                status=InboundStatus.REVIEW,
            )
            if mail is None:
                inbound.reason = ReviewReason.MALFORMED
                inbound.problem = {"code": problem.code, "params": problem.params}
                inbound.save(force_insert=True)
            else:
                inbound.from_address = mail.from_address[:254]
                inbound.subject = mail.subject[:255]
                inbound.text = mail.text
                inbound.save(force_insert=True)
                _decide(inbound, mail, stored=stored, now=now)
    except IntegrityError:
        # The same message, handed over by another door or worker at the same moment.
        twin = Q(sha256=digest) | Q(message_id=message_id) if message_id else Q(sha256=digest)
        if known := InboundMessage.objects.filter(twin).first():
            return known
        raise
    logger.info(
        "inbound mail %s from %s: %s %s", inbound.pk, inbound.from_address, inbound.status, inbound.reason
    )
    return inbound


def _decide(inbound: InboundMessage, mail: ParsedMail, *, stored: StoredObjects, now: datetime) -> None:
    if mail.bounce is not None:
        _bounced(inbound, mail.bounce, now=now)
        return
    token_seen, token = False, None
    for address in mail.recipients:
        if raw_token := token_in_address(address):
            token_seen, token = True, redeem_reply_token(raw_token)
            break
    complaint = token.complaint if token is not None else _threaded(mail)
    inbound.complaint = complaint
    if mail.auto_reply:
        _settle(inbound, InboundStatus.AUTO_REPLY, detail=mail.auto_reply)
    elif token_seen and token is None:
        _review(inbound, ReviewReason.UNKNOWN_TOKEN)
    elif complaint is None and not token_seen and _to_intake_address(mail):
        _intake(inbound, mail, stored=stored, now=now)
    elif complaint is None:
        _review(inbound, ReviewReason.NO_MATCH)
    elif token is None:
        _review(inbound, ReviewReason.NO_TOKEN)
    elif normalise_address(token.email) != mail.from_address:
        _review(inbound, ReviewReason.WRONG_SENDER, detail=mail.from_address)
    elif not _held_back(inbound, mail, now=now, text_required=False):
        speaker = token.recipient if token.recipient_id is not None else None
        if speaker is not None and not (speaker.is_active and speaker.is_agent):
            _review(inbound, ReviewReason.WRONG_SENDER, detail=mail.from_address)
            return
        try:
            land(inbound, mail, complaint=complaint, staff=speaker, stored=stored, now=now)
        except ActionRefused as exc:
            _review(inbound, ReviewReason.REFUSED, detail=" ".join(exc.messages))


def _held_back(inbound: InboundMessage, mail: ParsedMail, *, now: datetime, text_required: bool) -> bool:
    """Send to review (and say True) a message that found its case or the intake but may
    not act: its sender failed DMARC/SPF or is over the hourly limit, or it says nothing
    (no new text, and no file unless `text_required`)."""
    if mail.auth_failure:
        _review(inbound, ReviewReason.AUTH_FAILED, detail=mail.auth_failure)
    elif _over_sender_limit(inbound, now=now):
        _review(inbound, ReviewReason.RATE_LIMITED)
    elif not mail.text.strip() and (text_required or not mail.attachments):
        _review(inbound, ReviewReason.EMPTY)
    else:
        return False
    return True


def _to_intake_address(mail: ParsedMail) -> bool:
    """Whether the message was sent to the intake address itself (case and IDNA aside)."""
    intake = settings.INBOUND_EMAIL_ADDRESS
    return bool(intake) and normalise_address(intake) in mail.recipients


def _intake(inbound: InboundMessage, mail: ParsedMail, *, stored: StoredObjects, now: datetime) -> None:
    """New mail to the intake address: a new complaint, unless the sender is not to be trusted
    or answered (failed DMARC/SPF, over the limit) or said nothing: those wait for review."""
    if _held_back(inbound, mail, now=now, text_required=True):
        return
    if (subcategory := unclassified_subcategory()) is None or not _acceptable_sender(mail):
        _review(inbound, ReviewReason.NO_MATCH)
    else:
        complaint = file_complaint_from_mail(
            inbound=inbound, mail=mail, subcategory=subcategory, stored=stored, now=now
        )
        inbound.complaint = complaint
        inbound.event = complaint.events.get(kind=EventKind.SUBMITTED)
        _settle(inbound, InboundStatus.LANDED)


def _acceptable_sender(mail: ParsedMail) -> bool:
    """Whether a new complaint may be filed for, and answered to, the message's sender: an
    address that can be written to, and not one of the portal's own (answering that would
    have the portal write to itself, perhaps for ever)."""
    try:
        validate_email(mail.from_address)
    except ValidationError:
        return False
    if len(mail.from_address) > Complaint._meta.get_field("contact_email").max_length:
        return False
    own = {settings.INBOUND_EMAIL_ADDRESS, settings.DEFAULT_FROM_EMAIL, settings.SERVER_EMAIL}
    return mail.from_address not in {normalise_address(parseaddr(address)[1]) for address in own if address}


def land(
    inbound: InboundMessage,
    mail: ParsedMail,
    *,
    complaint: Complaint,
    staff: Any,
    stored: StoredObjects,
    now: datetime,
    reviewed_by: Any = None,
) -> None:
    """Put the message on the case as a reply: by `staff` (a public reply) or else by the
    complainant. Raises ActionRefused (nothing kept) when the case takes no replies."""
    with transaction.atomic():
        complaint = Complaint.objects.select_for_update().get(pk=complaint.pk)
        check_open(complaint)
        by = staff if staff is not None else complaint.complainant
        role = ActorRole.STAFF if staff is not None else ActorRole.COMPLAINANT
        payload = file_mail(
            inbound=inbound,
            mail=mail,
            complaint=complaint,
            by=by,
            role=role,
            stored=stored,
            now=now,
            language=complaint.language,
        )
        if reviewed_by is not None:
            payload["reviewed_by"] = reviewed_by.pk
        complaint.refresh_from_db(fields=["version"])
        if staff is not None:
            reply_as_staff(
                complaint=complaint,
                body=mail.text,
                by=staff,
                now=now,
                version=complaint.version,
                payload=payload,
            )
        else:
            reply_as_complainant(complaint=complaint, body=mail.text, by=by, now=now, payload=payload)
        event = complaint.events.filter(kind=EventKind.REPLY).order_by("-created_at", "-pk").first()
        inbound.complaint, inbound.event = complaint, event
        _settle(
            inbound,
            InboundStatus.ATTACHED if reviewed_by is not None else InboundStatus.LANDED,
            handled_by=reviewed_by,
            now=now if reviewed_by is not None else None,
        )


def _threaded(mail: ParsedMail) -> Complaint | None:
    """The case a message without a reply token seems to be about (for review only)."""
    named = [*mail.in_reply_to, *mail.references]
    if notice := notice_for_message_ids(named):
        return notice.complaint
    # A reply to the case's thread root (every notice names it in References).
    roots = [reference for message_id in named if (reference := reference_in_root_id(message_id))]
    if reference := roots[0] if roots else reference_in_subject(mail.subject):
        return Complaint.objects.filter(reference=reference).first()
    return None


def _bounced(inbound: InboundMessage, bounce: Bounce, *, now: datetime) -> None:
    """A delivery failure report: the notice it returns is marked bounced, and staff see
    on the case that the complainant's address does not receive mail."""
    notice = notice_for_message_ids([bounce.original_message_id]) if bounce.original_message_id else None
    if notice is not None:
        Notification.objects.filter(pk=notice.pk).update(
            status=NotificationStatus.BOUNCED, last_error=bounce.diagnostic[:2000]
        )
        inbound.complaint = notice.complaint
        if notice.complaint is not None and notice.recipient_id is None:
            record_event(
                complaint=notice.complaint,
                kind=EventKind.MAIL_BOUNCED,
                by=None,
                now=now,
                public=False,
                payload={
                    "email": notice.email,
                    "status": bounce.status,
                    "diagnostic": bounce.diagnostic[:500],
                    "inbound": inbound.pk,
                },
            )
    _settle(inbound, InboundStatus.BOUNCE, detail=f"{bounce.status} {bounce.diagnostic}".strip())


def _over_sender_limit(inbound: InboundMessage, *, now: datetime) -> bool:
    recent = InboundMessage.objects.filter(
        from_address=inbound.from_address, received_at__gt=now - SENDER_WINDOW
    ).exclude(pk=inbound.pk)
    return recent.count() >= settings.INBOUND_LIMIT_PER_SENDER


def _review(inbound: InboundMessage, reason: str, *, detail: str = "") -> None:
    inbound.reason = reason
    _settle(inbound, InboundStatus.REVIEW, detail=detail)


def _settle(
    inbound: InboundMessage,
    status: str,
    *,
    detail: str = "",
    handled_by: Any = None,
    now: datetime | None = None,
) -> None:
    inbound.status = status
    if detail:
        inbound.detail = detail
    if handled_by is not None:
        inbound.handled_by, inbound.handled_at = handled_by, now
    inbound.save(
        update_fields=["status", "reason", "detail", "complaint", "event", "handled_by", "handled_at"]
    )


# --- Review: mail that waits for a person ------------------------------------------------


def _waiting(inbound: InboundMessage) -> tuple[InboundMessage, ParsedMail]:
    """The message, locked and still waiting for review, read again as it was received.
    Raises ActionRefused if someone dealt with it meanwhile or it cannot be read."""
    inbound = InboundMessage.objects.select_for_update().get(pk=inbound.pk)
    if inbound.status != InboundStatus.REVIEW:
        raise ActionRefused(ALREADY_HANDLED)
    with default_storage.open(inbound.raw_key, "rb") as handle:
        raw = handle.read()
    try:
        return inbound, parse(raw, limits=limits())
    except MalformedMail as exc:
        raise ActionRefused(str(exc.reason)) from exc


def attach_to_case(
    *, inbound: InboundMessage, complaint: Complaint, by: Any, now: datetime
) -> InboundMessage:
    """A reviewer puts a waiting message on `complaint` as the complainant's reply (its
    sealed message and files with it). Raises ActionRefused if the message is no longer
    waiting, cannot be read, or the case takes no replies."""
    with atomic_with_files() as stored:
        inbound, mail = _waiting(inbound)
        land(inbound, mail, complaint=complaint, staff=None, stored=stored, now=now, reviewed_by=by)
    return inbound


def open_as_complaint(*, inbound: InboundMessage, by: Any, now: datetime) -> InboundMessage:
    """A reviewer opens a waiting message as a new complaint, as if it had come to the
    intake address (say, one held back by a failed DMARC check): incomplete, filed and its
    clock started when the message was received, its sender sent a link to complete it.
    Raises ActionRefused if the message is no longer waiting, cannot be read, its sender
    cannot be written to, or the "not yet classified" category is gone."""
    with atomic_with_files() as stored:
        inbound, mail = _waiting(inbound)
        if not _acceptable_sender(mail):
            raise ActionRefused(NO_SENDER_TO_ANSWER)
        if (subcategory := unclassified_subcategory()) is None:
            raise ActionRefused(NO_UNCLASSIFIED)
        complaint = file_complaint_from_mail(
            inbound=inbound, mail=mail, subcategory=subcategory, stored=stored, now=inbound.received_at
        )
        inbound.complaint = complaint
        inbound.event = complaint.events.get(kind=EventKind.SUBMITTED)
        _settle(inbound, InboundStatus.ATTACHED, handled_by=by, now=now)
    return inbound


def discard(*, inbound: InboundMessage, by: Any, now: datetime) -> InboundMessage:
    """A reviewer discards a waiting message (it stays on record as discarded, by whom)."""
    with transaction.atomic():
        inbound = InboundMessage.objects.select_for_update().get(pk=inbound.pk)
        if inbound.status != InboundStatus.REVIEW:
            raise ActionRefused(ALREADY_HANDLED)
        _settle(inbound, InboundStatus.DISCARDED, handled_by=by, now=now)
    return inbound
