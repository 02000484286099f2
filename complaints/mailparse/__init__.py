"""Reading an inbound e-mail: who sent it, to whom, what is new in it, and whether to trust it.

Pure: `parse` takes the raw bytes as they came off the wire and returns a `ParsedMail`;
no ORM, no settings, no clock (the caller passes the caps as `Limits`). It never raises
anything but `MalformedMail`, whose `reason` tells staff why the message waits for review.

- `headers`: header text, addresses, ids and dates, decoded (RFC 2047, raw UTF-8) and
  normalised; the complaint reference in a subject.
- `body`: the text (text/plain preferred; HTML-only mail reduced to plain text by nh3,
  never rendered) and the files, through quoted-printable, base64, RFC 2231 names and
  any charset Python knows (windows-1258 writes Vietnamese with combining tone marks, so
  all text is normalised to NFC); an unknown or lying charset falls back to UTF-8, then
  to replacement characters.
- `replies`: the new text, cut from quoted history and signatures by mail-parser-reply
  taught the Vietnamese reply headers.
- `detection`: auto-replies, delivery failure reports, the receiving server's DMARC/SPF verdict.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import Message
from email.parser import BytesParser
from email.policy import EmailPolicy
from typing import Any

from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from complaints.mailparse.body import Attachment, Body, param
from complaints.mailparse.detection import Bounce, auth_failure, auto_reply_reason, bounce_of
from complaints.mailparse.headers import (
    REFERENCE_ALPHABET,
    addresses,
    clean_line,
    date_of,
    header,
    ids,
    normalise_address,
    reference_in_subject,
    unique,
)
from complaints.mailparse.replies import new_text

__all__ = [
    "REFERENCE_ALPHABET",
    "Attachment",
    "Bounce",
    "Limits",
    "MalformedMail",
    "ParsedMail",
    "TooDeep",
    "TooLarge",
    "TooManyAttachments",
    "new_text",
    "normalise_address",
    "parse",
    "reason_for",
    "reference_in_subject",
]


@dataclass(frozen=True)
class Limits:
    """The caps on one message; the caller passes them from settings."""

    max_bytes: int = 25 * 1024 * 1024
    max_attachments: int = 10
    max_depth: int = 8  # MIME nesting: parts inside parts


@dataclass(frozen=True)
class ParsedMail:
    message_id: str  # without angle brackets; "" when missing
    sha256: str  # of the raw bytes
    from_address: str  # normalised (see normalise_address)
    from_name: str
    recipients: tuple[str, ...]  # To, Cc, Delivered-To, X-Original-To, Envelope-To; normalised
    subject: str
    in_reply_to: tuple[str, ...]  # ids without angle brackets
    references: tuple[str, ...]
    date: datetime | None  # aware
    auto_reply: str  # "" or why it is automatic: "auto-submitted", "precedence:bulk", "out-of-office", ...
    bounce: Bounce | None
    auth_failure: str  # "" or what failed: "dmarc=fail", "spf=fail", or "dmarc=fail, spf=fail"
    text: str  # the new text only: quoted history, forwarded messages and signature cut
    full_text: str  # the whole body as text, for a reviewer
    attachments: tuple[Attachment, ...]  # inline images included (inline=True)


# --- refusals ---------------------------------------------------------------------------


def _interpolate(message: Any, params: dict[str, Any]) -> str:
    return str(message % params) if params else str(message)


# Translated when shown, in the reader's language, not when the message was refused.
_lazy_reason = lazy(_interpolate, str)


class MalformedMail(ValueError):
    """The message cannot be taken in as it is.

    `reason` is a plain sentence for staff, translated when shown; `code` names the
    refusal for code and logs ("too_large", "no_sender", ...); `params` holds its numbers.
    """

    code = "unreadable"
    message: Any = _("The message could not be read as an e-mail.")

    def __init__(self, message: Any = None, *, code: str | None = None, **params: Any) -> None:
        if message is not None:
            self.message = message
        if code is not None:
            self.code = code
        self.params = params
        self.reason = _lazy_reason(self.message, params)
        super().__init__(self.code, params)

    def __str__(self) -> str:
        return str(self.reason)


class TooLarge(MalformedMail):
    code = "too_large"
    message = _("The message is %(size)s MB, more than the %(limit)s MB accepted.")


class TooManyAttachments(MalformedMail):
    code = "too_many_attachments"
    message = ngettext_lazy(
        "The message has %(count)d attachment, more than the %(limit)d accepted.",
        "The message has %(count)d attachments, more than the %(limit)d accepted.",
        "count",
    )


class TooDeep(MalformedMail):
    code = "too_deep"
    message = ngettext_lazy(
        "The message's parts are nested more than %(limit)d level deep.",
        "The message's parts are nested more than %(limit)d levels deep.",
        "limit",
    )


EMPTY = _("The message is empty.")
NO_HEADERS = _("The message has no headers, so it is not an e-mail.")
NO_SENDER = _("The message has no sender address (From).")


def reason_for(code: str, params: dict[str, Any]) -> Any:
    """The reason of a refusal stored as its `code` and `params`, translated when shown.

    For the review list: store what `MalformedMail` carried, show it in the reader's
    language later. An unknown code reads as the generic "could not be read".
    """
    messages = {
        refusal.code: refusal.message for refusal in (MalformedMail, TooLarge, TooManyAttachments, TooDeep)
    }
    messages.update({"empty": EMPTY, "no_headers": NO_HEADERS, "no_sender": NO_SENDER})
    message = messages.get(code, MalformedMail.message)
    return MalformedMail(message, code=code, **(params if code in messages else {})).reason


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}".removesuffix(".0")


# --- the whole message ------------------------------------------------------------------


class _RememberingPolicy(EmailPolicy):
    """policy.default, whose headers are parsed once: the standard library parses a header
    again at every read (a part's Content-Type several times per part), which was most of
    the time taken to read a reply. Parsed headers are immutable, so one object may serve
    every read of the same name and value."""

    def header_fetch_parse(self, name: str, value: Any) -> Any:
        if hasattr(value, "name") or len(value) > _REMEMBERED_LENGTH:
            return super().header_fetch_parse(name, value)
        return _parsed_header(name, value)


_REMEMBERED_LENGTH = 1000  # a long References header is read once or twice: not worth keeping


@functools.lru_cache(maxsize=4096)
def _parsed_header(name: str, value: str) -> Any:
    return policy.default.header_fetch_parse(name, value)


_PARSER = BytesParser(policy=_RememberingPolicy())


def parse(raw: bytes, *, limits: Limits = Limits()) -> ParsedMail:
    """Read one raw message (the bytes as received, CRLF or LF line ends).

    Returns everything the inbound pipeline decides on. Raises `TooLarge` before parsing
    anything, `TooDeep` and `TooManyAttachments` for the other caps, and `MalformedMail`
    for a message that is empty, has no headers or no sender address, or trips the
    standard library's parser; never anything else.
    """
    if len(raw) > limits.max_bytes:
        raise TooLarge(size=_megabytes(len(raw)), limit=_megabytes(limits.max_bytes))
    if not raw.strip():
        raise MalformedMail(EMPTY, code="empty")
    try:
        return _parse(raw, limits)
    except MalformedMail:
        raise
    except RecursionError as exc:  # the stdlib parser recurses once per nested part
        raise TooDeep(limit=limits.max_depth) from exc
    except Exception as exc:  # nothing else may escape: a message that trips the parser goes to review
        raise MalformedMail() from exc


def _parse(raw: bytes, limits: Limits) -> ParsedMail:
    message = _PARSER.parsebytes(raw)
    if not message.keys():
        raise MalformedMail(NO_HEADERS, code="no_headers")
    _check_depth(message, limits.max_depth)
    senders = [pair for pair in addresses(message, "From") if pair[1]]
    if not senders:
        raise MalformedMail(NO_SENDER, code="no_sender")
    from_name, from_address = senders[0]

    report_type = param(message, "report-type") if message.get_content_type() == "multipart/report" else ""
    bounce = bounce_of(message) if report_type == "delivery-status" else None
    body = Body()
    body.gather(message)
    if len(body.attachments) > limits.max_attachments:
        raise TooManyAttachments(count=len(body.attachments), limit=limits.max_attachments)

    subject = clean_line(header(message, "Subject"))
    return ParsedMail(
        message_id=next(iter(ids(header(message, "Message-ID"))), ""),
        sha256=hashlib.sha256(raw).hexdigest(),
        from_address=from_address,
        from_name=from_name,
        recipients=unique(
            address
            for name in ("To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To")
            for _display, address in addresses(message, name)
            if address
        ),
        subject=subject,
        in_reply_to=ids(header(message, "In-Reply-To")),
        references=ids(header(message, "References")),
        date=date_of(message),
        # A failure report has its own field: it is not an auto-reply.
        auto_reply=""
        if bounce
        else auto_reply_reason(message, subject=subject, from_address=from_address, report_type=report_type),
        bounce=bounce,
        auth_failure=auth_failure(message),
        text=new_text(body.reply_text()),
        full_text=body.full_text(),
        attachments=tuple(body.attachments),
    )


def _check_depth(message: Message, max_depth: int) -> None:
    """Raise TooDeep when any part sits more than `max_depth` parts deep (the root is 0)."""
    stack = [(message, 0)]
    while stack:
        part, depth = stack.pop()
        if depth > max_depth:
            raise TooDeep(limit=max_depth)
        if part.is_multipart():
            stack.extend((sub, depth + 1) for sub in part.get_payload())
