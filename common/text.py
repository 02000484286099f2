"""Text as people type it, made safe to keep and show: one normal form, no control characters,
and on a single line none of the invisible characters that make text read other than it is."""

from __future__ import annotations

import re
import unicodedata

# C0 controls other than tab and newlines (and DEL) have no business in a complaint.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Blank letters that render as nothing: Hangul fillers, a favourite for "empty" names.
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0")


def clean_text(value: str) -> str:
    """NFC-normalise (Vietnamese typed as NFD finds the same text) and drop control characters."""
    return _CONTROL.sub("", unicodedata.normalize("NFC", value)).strip()


def drop_invisible(value: str) -> str:
    """`value` without the characters that show nothing but change how text reads: the
    bidirectional controls (U+202E makes "gpj.exe" read "exe.jpg"), zero-width spaces and
    joiners, the byte-order mark, soft hyphens and every other format character (Unicode
    category Cf), and blank fillers. Vietnamese, in NFC, has none of them."""
    return "".join(
        char
        for char in value
        if char not in _BLANK_LETTERS and unicodedata.category(char) not in {"Cf", "Cc"}
    )


def single_line(value: str) -> str:
    """A name, a subject, a reference: NFC, no control or invisible characters, every run of
    white space (line breaks and no-break spaces included) one space, no blank ends."""
    spaced = _LINE_BREAKS.sub(" ", unicodedata.normalize("NFC", value))
    return " ".join(drop_invisible(spaced).split())


_LINE_BREAKS = re.compile(r"[\t\n\r\v\f\x85\u2028\u2029]")
