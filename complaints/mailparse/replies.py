"""The new text of a reply: quoted history, forwarded messages and the signature cut.

mail-parser-reply splits a body at the reply headers of its language tables and cuts
signatures. Those tables are module globals of the library, so rather than adding to
them we subclass its `EmailMessage` to read ours, `REPLY_LANGUAGES`: its English headers
plus forwarded-message markers, the Vietnamese headers (Gmail's and Apple Mail's "Vào …
đã viết:", Outlook's "Từ: / Đã gửi: / Đến: / Chủ đề:"), and sign-offs that only count when
they stand alone on their line ("Thanks, but it still fails" is the reply, not a signature).
"""

from __future__ import annotations

import re

from mailparser_reply.constants import MAIL_LANGUAGES, QUOTED_MATCH_INCLUDE
from mailparser_reply.parser import EmailMessage

from complaints.mailparse.body import tidy

_Q = QUOTED_MATCH_INCLUDE  # lets a header match inside "> " quoting
_ENGLISH = MAIL_LANGUAGES["en"]
_ALONE = r"[,.!]?[ \t]*$"  # a sign-off ends its line

REPLY_LANGUAGES: dict[str, dict[str, list[str]]] = {
    "en": {
        "wrote_header": [
            _ENGLISH["wrote_header"],  # "On Mon, Dec 1, 2026 at 10:00 AM … wrote:"
            rf"^({_Q}-{{5,}} ?Forwarded message ?-{{5,}})$",
            rf"^({_Q}Begin forwarded message:)$",
        ],
        "from_header": [_ENGLISH["from_header"]],  # Outlook's "From: / Sent: / To: / Subject:"
        "disclaimers": list(_ENGLISH["disclaimers"]),
        "signatures": [
            rf"(?:(?:best|kind|warm) )?regards{_ALONE}",
            rf"(?:many )?thanks(?: again)?{_ALONE}",
            rf"thank you(?: again)?{_ALONE}",
            rf"(?:all the )?best{_ALONE}",
            rf"cheers{_ALONE}",
        ],
        "sent_from": [r"Sent from my", r"Sent from Outlook", r"Get Outlook for"],
    },
    "vi": {
        # Gmail: "Vào Th 2, 1 thg 12, 2026 lúc 10:00 Nguyễn Văn A <a@example.org> đã viết:";
        # Apple Mail: "Vào ngày 1 thg 12, 2026, lúc 10:00, Nguyễn Văn A <…> đã viết:";
        # both wrap it in plain text, so it may take three lines.
        "wrote_header": [
            rf"^({_Q}Vào\s[^\n]*(?:\n{_Q}[^\n]*){{0,2}}?\s?đã\sviết\s?:)[ \t]*$",
            rf"^({_Q}-{{5,}} ?Thư (?:đã|được) chuyển tiếp ?-{{5,}})$",
            rf"^({_Q}Bắt đầu thư (?:được|đã) chuyển tiếp:)$",
        ],
        # Outlook: "Từ: … / Đã gửi: … / Đến: … / Chủ đề: …" (newer builds: "Gửi:", "Ngày:").
        # Unlike the English table, the block must start with "Từ:", so a complainant's own
        # "Ngày: …" and "Đến: …" lines are not taken for a quoted header.
        "from_header": [
            rf"((?:^|\n){_Q}[* ]*Từ:[ *]*.*"
            rf"(?:\n{_Q}[* ]*(?:Đã gửi|Gửi|Đến|Tới|Chủ đề|Ngày|Cc|Bcc):[ *]*.*){{2,}})"
        ],
        "disclaimers": [],
        "signatures": [
            rf"(?:trân trọng|thân ái|thân mến|kính thư)(?: cảm ơn)?{_ALONE}",
            rf"(?:xin )?(?:cảm|cám) ơn(?: nhiều)?{_ALONE}",
        ],
        # Named devices and apps only: "Gửi từ hôm qua mà chưa thấy trả lời" is the reply.
        "sent_from": [
            r"(?:Được )?gửi từ(?= (?:iPhone|iPad|Android|Samsung|điện thoại|thiết bị|máy tính bảng|"
            r"Outlook|Thư|Mail|Gmail|Yahoo|ứng dụng)\b)",
            r"Tải Outlook cho",
        ],
    },
}


class _Reply(EmailMessage):
    """mail-parser-reply's message, reading its headers and signatures from REPLY_LANGUAGES."""

    def _get_language_regex(self, language: str, regex_key: str) -> str:
        return "|".join(REPLY_LANGUAGES.get(language, {}).get(regex_key, []))


_QUOTED_LINE = re.compile(r"^[ \t]*>.*$\n?", re.MULTILINE)


def new_text(text: str) -> str:
    """The newest part of a reply's plain text: history, forwards and signature cut.

    Lines quoted with ">" are dropped wherever they stand; an answer written between
    them stays. "" when nothing new is left.
    """
    if not text.strip():
        return ""
    reply = _Reply(text=text, languages=["vi", "en"], keep_hyphen_lists=True).read()
    newest = reply.replies[0].body if reply.replies else ""
    return tidy(_QUOTED_LINE.sub("", newest))
