"""Header values made safe to store and compare: text, addresses, message ids, dates, references."""

from __future__ import annotations

import contextlib
import re
import unicodedata
from collections.abc import Iterable
from datetime import UTC, datetime
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime

from common.text import single_line

# The form of complaints.models.new_reference ("KN-7F3K-Q9XM"); a test holds the two together.
REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ufffe\uffff]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def clean(text: str) -> str:
    """NFC, LF line ends, no control characters (PostgreSQL refuses NUL), no lone surrogates."""
    if _SURROGATE.search(text):
        # Raw 8-bit bytes kept by the parser as surrogate escapes: read them as UTF-8.
        text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        text = _SURROGATE.sub("\ufffd", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return unicodedata.normalize("NFC", _CONTROL.sub("", text))


def clean_line(text: str) -> str:
    """`clean`, on one line with single spaces, without the invisible characters that make a
    name or a subject read other than it is (bidirectional controls, zero-width spaces)."""
    return single_line(clean(text))


def header(message: Message, name: str) -> str:
    """The first `name` header, decoded; "" when absent."""
    found = headers(message, name)
    return found[0] if found else ""


def headers(message: Message, name: str) -> list[str]:
    """Every `name` header, decoded, topmost first."""
    try:
        return [str(value) for value in message.get_all(name) or ()]
    except Exception:  # noqa: BLE001 - a header the stdlib cannot parse: fall back to its raw text
        return [str(raw) for key, raw in message.raw_items() if key.lower() == name.lower()]


def normalise_address(address: str) -> str:
    """An e-mail address in the one form compared: NFC, case-folded, stripped.

    Angle brackets and a trailing dot are dropped, and an IDNA ("xn--") domain is written
    in Unicode, so the same mailbox spelt two ways compares equal.
    """
    address = unicodedata.normalize("NFC", address).strip().strip("<>").strip().casefold()
    local, at, domain = address.rpartition("@")
    if not at:
        return address
    labels = []
    for label in domain.rstrip(".").split("."):
        readable = label
        if label.startswith("xn--"):
            with contextlib.suppress(UnicodeError):
                readable = label.encode("ascii").decode("idna")
        labels.append(readable)
    return f"{local}@{'.'.join(labels)}"


def addresses(message: Message, name: str) -> list[tuple[str, str]]:
    """(display name, normalised address) for every address in every `name` header."""
    found = []
    for value in headers(message, name):
        for display, address in getaddresses([clean_line(value)]):
            if address or display:
                found.append((clean_line(display), normalise_address(address)))
    return found


def unique(items: Iterable[str]) -> tuple[str, ...]:
    """The items in their first order, each once."""
    return tuple(dict.fromkeys(items))


_ID = re.compile(r"<([^<>]*)>")


def ids(value: str) -> tuple[str, ...]:
    """The message ids in a Message-ID, In-Reply-To or References value, without brackets."""
    value = clean(value)
    found = _ID.findall(value) or value.split()
    return unique("".join(one.split()) for one in found if one.strip())


def date_of(message: Message) -> datetime | None:
    """The Date header as an aware datetime; None when absent or unreadable."""
    for key, raw in message.raw_items():
        if key.lower() == "date":
            try:
                when = parsedate_to_datetime(clean_line(str(raw)))
            except (TypeError, ValueError, IndexError, OverflowError):
                return None
            # "-0000" means "zone unknown": the time is still UTC.
            return when if when.tzinfo else when.replace(tzinfo=UTC)
    return None


_REFERENCE = re.compile(
    rf"\[\s*(KN-[{REFERENCE_ALPHABET}]{{4}}-[{REFERENCE_ALPHABET}]{{4}})\s*\]", re.IGNORECASE
)


def reference_in_subject(subject: str) -> str | None:
    """The complaint reference in brackets anywhere in a subject ("[KN-7F3K-Q9XM]"), upper-case.

    None when there is none, or when the subject names two different complaints: a
    guess would put the message on the wrong case.
    """
    found = {match.upper() for match in _REFERENCE.findall(subject or "")}
    return found.pop() if len(found) == 1 else None
