"""What the headers say about a message: sent by a machine, a failed delivery, failed authentication."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from email import policy
from email.message import Message
from email.parser import HeaderParser

from complaints.mailparse.body import decode_part
from complaints.mailparse.headers import clean_line, header, headers, ids, normalise_address, unique


@dataclass(frozen=True)
class Bounce:
    """A delivery failure report (multipart/report; report-type=delivery-status)."""

    original_message_id: str | None  # of the message that failed, from the returned headers
    recipients: tuple[str, ...]  # the Final-Recipient addresses whose Action is failed
    status: str  # e.g. "5.1.1"
    diagnostic: str


_AUTO_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}
_NOT_A_PERSON = {"mailer-daemon", "postmaster"}
# At the start of the subject, after any "Re:"/"TL:"/"Fwd:" prefixes.
_OUT_OF_OFFICE = re.compile(
    r"^\s*(?:(?:re|aw|tl|trl|fw|fwd|tr|chuyển tiếp)\s*:\s*)*"
    r"(?:out of (?:the )?office|automatic reply|auto[- ]?reply|auto[- ]?response|autoresponse|"
    r"trả lời tự động|phản hồi tự động|thư trả lời tự động|vắng mặt|thông báo vắng mặt)\b",
    re.IGNORECASE,
)


def auto_reply_reason(message: Message, *, subject: str, from_address: str, report_type: str) -> str:
    """Why the message was sent by a machine rather than a person; "" when it was not.

    In order: RFC 3834's Auto-Submitted, the vendors' X-Autoreply and X-Autorespond,
    Precedence bulk/junk/list/auto_reply, Exchange's X-Auto-Response-Suppress (OOF or
    All), a report that is not a delivery failure (a delay notice, a read receipt), an
    out-of-office subject, a mailer-daemon sender, a null return path.
    """
    auto_submitted = header(message, "Auto-Submitted").split(";")[0].strip().lower()
    if auto_submitted and auto_submitted != "no":
        return "auto-submitted"
    for name in ("X-Autoreply", "X-Autorespond"):
        value = headers(message, name)
        if value and value[0].strip().lower() not in {"no", "false", "0"}:
            return name.lower()
    precedence = header(message, "Precedence").strip().lower()
    if precedence in _AUTO_PRECEDENCE:
        return f"precedence:{precedence}"
    suppress = {token.strip().lower() for token in header(message, "X-Auto-Response-Suppress").split(",")}
    if suppress & {"oof", "all"}:
        return "x-auto-response-suppress"
    if report_type:
        return f"report:{report_type}"
    if _OUT_OF_OFFICE.match(subject):
        return "out-of-office"
    if from_address.partition("@")[0] in _NOT_A_PERSON:
        return "mailer-daemon"
    if header(message, "Return-Path").strip() == "<>":
        return "null-sender"
    return ""


_COMMENT = re.compile(r"\([^()]*\)")
_RESULT = re.compile(r"^\s*([a-z0-9_-]+)\s*=\s*([a-z]+)", re.IGNORECASE)


def auth_failure(message: Message) -> str:
    """The failed DMARC and SPF checks of the topmost Authentication-Results (RFC 8601).

    The receiving server writes its header above everything the sender sent, so only the
    first one counts. An SPF softfail is not a failure. "" when nothing failed.
    """
    found = headers(message, "Authentication-Results")
    if not found:
        return ""
    value = clean_line(found[0])
    for _depth in range(3):  # comments may nest; rarely deeper than this
        value = _COMMENT.sub(" ", value)
    failures = set()
    for statement in value.split(";")[1:]:  # the first part names the server
        match = _RESULT.match(statement)
        if match and match[1].lower() in {"dmarc", "spf"} and match[2].lower() == "fail":
            failures.add(f"{match[1].lower()}=fail")
    return ", ".join(sorted(failures))


def bounce_of(message: Message) -> Bounce | None:
    """The failed recipients of a delivery status report (RFC 3464); None when none failed."""
    recipients, statuses, diagnostics = [], [], []
    original_id = None
    for part in message.iter_parts():
        ctype = part.get_content_type()
        if ctype in {"message/delivery-status", "message/global-delivery-status"}:
            for fields in _status_blocks(part):
                if header(fields, "Action").strip().lower() != "failed":
                    continue
                recipient = header(fields, "Final-Recipient") or header(fields, "Original-Recipient")
                recipients.append(normalise_address(recipient.partition(";")[2] or recipient))
                statuses.append(clean_line(header(fields, "Status")))
                diagnostic = clean_line(header(fields, "Diagnostic-Code"))
                diagnostics.append(diagnostic.partition(";")[2].strip() or diagnostic)
        elif ctype in {"message/rfc822", "message/global"} and part.is_multipart():
            original_id = next(iter(ids(header(part.get_payload(0), "Message-ID"))), None)
        elif ctype in {"text/rfc822-headers", "message/global-headers"}:
            returned = HeaderParser(policy=policy.default).parsestr(decode_part(part))
            original_id = next(iter(ids(header(returned, "Message-ID"))), None)
    if not recipients:
        return None
    return Bounce(
        original_message_id=original_id,
        recipients=unique(recipients),
        status=statuses[0],
        diagnostic=diagnostics[0],
    )


def _status_blocks(part: Message) -> Iterator[Message]:
    """The field blocks of a message/delivery-status part: the message's, then each recipient's."""
    payload = part.get_payload()
    if isinstance(payload, list):
        yield from payload
        return
    for block in re.split(r"\n\s*\n", decode_part(part)):
        yield HeaderParser(policy=policy.default).parsestr(block.strip() + "\n")
