"""The body of a message: its text (plain preferred, HTML reduced to text) and its files."""

from __future__ import annotations

import html
import mimetypes
import re
from collections.abc import Iterable
from dataclasses import dataclass
from email import policy
from email.message import Message
from email.utils import collapse_rfc2231_value

import nh3

from complaints.mailparse.headers import clean, clean_line, header


@dataclass(frozen=True)
class Attachment:
    name: str  # decoded and made safe; never empty (made from the type when the sender gave none)
    content_type: str
    data: bytes
    inline: bool  # an image shown in the body (Content-ID or disposition inline)


_SIGNATURE_TYPES = {
    "application/pgp-signature",
    "application/pkcs7-signature",
    "application/x-pkcs7-signature",
}


def decode_bytes(data: bytes, charset: str) -> str:
    """Text in its declared charset; UTF-8 when that is unknown or lies; never raises."""
    for codec in (charset, "utf-8"):
        if not codec:
            continue
        try:
            return data.decode(codec)
        except (LookupError, UnicodeError, ValueError):
            continue
    try:
        return data.decode(charset or "utf-8", "replace")
    except (LookupError, UnicodeError, ValueError):
        return data.decode("utf-8", "replace")


def param(part: Message, name: str) -> str:
    """A Content-Type parameter, lower-case; "" when absent."""
    return str(collapse_rfc2231_value(part.get_param(name, ""))).strip().lower()


def decode_part(part: Message) -> str:
    """A leaf part's text: transfer encoding and charset undone, format=flowed joined."""
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):  # a multipart where a leaf was expected
        data = b""
    text = clean(decode_bytes(data, part.get_content_charset() or ""))
    if param(part, "format") == "flowed":
        text = _unflow(text, delete_space=param(part, "delsp") == "yes")
    return text


def _unflow(text: str, *, delete_space: bool) -> str:
    """Join the soft-wrapped lines of format=flowed text (RFC 3676)."""
    lines: list[str] = []
    pending: tuple[int, str] | None = None
    for line in text.split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        content = line[depth:].removeprefix(" ")  # space-stuffing
        if pending is not None:
            if pending[0] == depth:
                content = pending[1] + content
            else:
                lines.append(_quoted(*pending))
            pending = None
        if content.endswith(" ") and content != "-- ":
            pending = (depth, content[:-1] if delete_space else content)
        else:
            lines.append(_quoted(depth, content))
    if pending is not None:
        lines.append(_quoted(*pending))
    return "\n".join(lines)


def _quoted(depth: int, content: str) -> str:
    return ">" * depth + (" " if depth and content else "") + content


def _is_body_text(part: Message) -> bool:
    return (
        part.get_content_type() in {"text/plain", "text/html"}
        and part.get_content_disposition() != "attachment"
        and not part.get_filename()
    )


class Body:
    """The text parts and the files of one message, gathered in order."""

    def __init__(self) -> None:
        self.parts: list[tuple[str, str]] = []  # (content type, decoded text)
        self.attachments: list[Attachment] = []
        self._seen: set[tuple[str, bytes]] = set()

    def gather(self, part: Message, *, want_text: bool = True) -> None:
        """Walk `part` (already checked for depth): keep its text if wanted, and its files."""
        ctype = part.get_content_type()
        if ctype == "multipart/report":
            # The human-readable explanation only: the status and the returned message
            # are machine parts, read by detection.bounce_of.
            first = next(part.iter_parts(), None)
            if first is not None:
                self.gather(first, want_text=want_text)
            return
        if ctype == "multipart/alternative":
            alternatives = list(part.iter_parts())
            chosen = _preferred(alternatives)
            for alternative in alternatives:
                # The images of an HTML alternative are kept even when its text is not.
                self.gather(alternative, want_text=want_text and alternative is chosen)
            return
        if part.get_content_maintype() == "multipart" and part.is_multipart():
            for sub in part.iter_parts():
                self.gather(sub, want_text=want_text)
            return
        if ctype in _SIGNATURE_TYPES:
            return
        # A multipart whose boundary never comes is read as the text it is.
        if _is_body_text(part) or part.get_content_maintype() == "multipart":
            if want_text:
                self.parts.append((ctype, decode_part(part)))
            return
        self._attach(part)

    def _attach(self, part: Message) -> None:
        if part.is_multipart():  # message/rfc822: the attached message, as an .eml
            data = part.get_payload(0).as_bytes(policy=policy.SMTP)
        else:
            data = part.get_payload(decode=True) or b""
        name = _file_name(part, index=len(self.attachments) + 1)
        if (name, data) in self._seen:  # one image in both alternatives
            return
        self._seen.add((name, data))
        inline = part.get_content_maintype() == "image" and (
            part.get_content_disposition() == "inline" or "Content-ID" in part
        )
        self.attachments.append(
            Attachment(name=name, content_type=part.get_content_type(), data=data, inline=inline)
        )

    def full_text(self) -> str:
        """Every text part, HTML reduced to text, quoted history included."""
        return _join(html_to_text(text) if ctype == "text/html" else text for ctype, text in self.parts)

    def reply_text(self) -> str:
        """As `full_text`, less HTML blockquotes (quoted history); the input of replies.new_text."""
        return _join(
            html_to_text(text, quotes=False) if ctype == "text/html" else text for ctype, text in self.parts
        )


def _preferred(alternatives: list[Message]) -> Message | None:
    """The alternative to read: plain text with something in it, else HTML, else the last."""
    for wanted in ("text/plain", "text/html"):
        for alternative in alternatives:
            if alternative.get_content_type() == wanted and _is_body_text(alternative):
                data = alternative.get_payload(decode=True)
                if isinstance(data, bytes) and data.strip():
                    return alternative
    return alternatives[-1] if alternatives else None


def _join(texts: Iterable[str]) -> str:
    return tidy("\n\n".join(text for text in texts if text.strip()))


def tidy(text: str) -> str:
    """Lines without trailing blanks, at most one empty line in a row, no blank ends."""
    lines = [line.rstrip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")


# Path and shell characters, and the bidirectional controls that make "fdp.exe" read "exe.pdf".
_UNSAFE_NAME = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*\u200e\u200f\u202a-\u202e\u2066-\u2069]')


def _file_name(part: Message, *, index: int) -> str:
    """The sender's file name, safe to show and store; one made from the type without it."""
    try:
        name = part.get_filename() or ""
    except Exception:  # noqa: BLE001 - a parameter the stdlib cannot decode counts as no name
        name = ""
    if not name and part.get_content_type() in {"message/rfc822", "message/global"} and part.is_multipart():
        subject = clean_line(header(part.get_payload(0), "Subject"))
        name = f"{subject}.eml" if subject else ""
    name = clean_line(name).replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE_NAME.sub("_", name).strip(" .")
    if len(name.encode()) > 200:  # file systems allow 255 bytes; keep the extension
        stem, dot, extension = name.rpartition(".")
        extension = extension[:16] if dot else ""
        stem = (stem if dot else name).encode()[: 200 - len(extension)].decode("utf-8", "ignore")
        name = f"{stem}.{extension}" if extension else stem
    if name.strip("._ "):
        return name
    extension = mimetypes.guess_extension(part.get_content_type()) or ".bin"
    kind = "image" if part.get_content_maintype() == "image" else "attachment"
    return f"{kind}-{index}{extension}"


# --- HTML to text ---------------------------------------------------------------------------

_BLOCKS = {"p", "div", "li", "tr", "table", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "hr"}
_DROPPED = {"script", "style", "head", "title"}
# Kept tags come out of nh3 bare and canonical ("<br>", "</p>"), and text never holds a
# "<" (nh3 escapes it), so html_to_text reads nh3's output, never the sender's markup.
_WITH_QUOTES = nh3.Cleaner(
    tags=_BLOCKS | {"br", "td", "blockquote"},
    clean_content_tags=_DROPPED,
    attributes={},
    link_rel=None,
    strip_comments=True,
)
# Quoted history (Gmail's, Apple Mail's, Thunderbird's blockquotes) dropped.
_WITHOUT_QUOTES = nh3.Cleaner(
    tags=_BLOCKS | {"br", "td"},
    clean_content_tags=_DROPPED | {"blockquote"},
    attributes={},
    link_rel=None,
    strip_comments=True,
)
_TOKEN = re.compile(r"(<[^>]*>)")
_HTML_SPACE = re.compile(r"[ \t\r\n\f]+")


def html_to_text(markup: str, *, quotes: bool = True) -> str:
    """Plain text from HTML: every tag stripped, blocks on lines of their own, entities unescaped.

    The result is text, to be escaped wherever it is shown; it is never HTML.
    """
    cleaner = _WITH_QUOTES if quotes else _WITHOUT_QUOTES
    out: list[str] = []

    def line_break(count: int) -> None:
        if out:
            text = "".join(out[-3:])
            missing = count - (len(text) - len(text.rstrip("\n")))
            out.extend("\n" for _ in range(max(missing, 0)))

    for token in _TOKEN.split(cleaner.clean(_HTML_SPACE.sub(" ", markup))):
        if not token.startswith("<"):
            if token.strip() or (out and not out[-1].endswith("\n")):
                out.append(html.unescape(token).replace("\xa0", " "))
            continue
        closing = token.startswith("</")
        tag = token.strip("</>").split(" ")[0].lower()
        if tag == "br":
            out.append("\n")
        elif tag in {"p", "blockquote"} or (tag in {"ul", "ol", "table"} and closing):
            line_break(2)  # a paragraph's margins; a list ends with one too (as Gmail writes its text part)
        elif tag in _BLOCKS:
            line_break(1)
            if tag == "li" and not closing:
                out.append("- ")
        elif tag == "td" and closing:
            out.append(" ")
    return tidy("\n".join(line.strip() for line in clean("".join(out)).split("\n")))
