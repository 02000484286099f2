"""Search text without diacritics: "khieu nai" finds "khiếu nại", "Đà Nẵng" is "da nang".

And what related cases are compared by (complaints.related): the start of a complaint's text,
folded, and its trigram similarity to another's, computed as PostgreSQL's pg_trgm computes
`similarity()`, so the embedded SQLite default ranks related cases as PostgreSQL does.
"""

from __future__ import annotations

import re
import unicodedata

# Letters that do not decompose into a base letter and a mark.
_UNDECOMPOSABLE = str.maketrans({"đ": "d", "Đ": "d", "ø": "o", "Ø": "o", "ł": "l", "Ł": "l", "ß": "ss"})

# How much of a complaint's subject and description related cases are compared by: enough to
# say what the problem is, short enough that comparing a few hundred cases stays cheap
# (pg_trgm's similarity() costs in proportion to the length of the texts).
RELATED_TEXT_CHARS = 200

# A word as pg_trgm reads one: a run of letters and digits (its ISWORDCHR, in a UTF-8 database).
_WORD = re.compile(r"[^\W_]+")


def fold(text: str) -> str:
    """Lower case, without diacritics, whitespace collapsed."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_UNDECOMPOSABLE))
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(bare.casefold().split())


# What a provider's web address may add to its name: "www." before it, and one or two of these
# top-level labels after it ("tiki.vn", "shopnhanh.com.vn" name the same service as "Tiki" and
# "Shop Nhanh").
_WEB_PREFIX = "www."
_WEB_SUFFIX = re.compile(r"(?:\.(?:com|net|org|vn|io|app|co|biz|info|asia|shop|store)){1,2}$")


def provider_key(name: str) -> str:
    """What complaints, incidents and waves compare a provider by: its name folded, any "www."
    and top-level labels of a web address taken off, and only its letters and digits kept, so
    that "Shop Nhanh", "ShopNhanh", "shop-nhanh" and "shopnhanh.vn" are the same service."""
    folded = fold(name).replace(" ", "")
    folded = folded.removeprefix(_WEB_PREFIX)
    bare = _WEB_SUFFIX.sub("", folded) or folded
    return "".join(ch for ch in bare if ch.isalnum())


def search_text(*parts: str) -> str:
    """What a complaint is found by: its parts folded, one per line."""
    return "\n".join(fold(part) for part in parts if part)


def related_text(subject: str, description: str) -> str:
    """What a complaint is compared by to find related cases: its subject and the start of its
    description, folded, at most RELATED_TEXT_CHARS long, cut between words."""
    text = fold(f"{subject} {description}")
    if len(text) <= RELATED_TEXT_CHARS:
        return text
    cut = text[: RELATED_TEXT_CHARS + 1]
    return cut[: cut.rfind(" ")] if " " in cut else cut[:RELATED_TEXT_CHARS]


def trigrams(text: str) -> frozenset[str]:
    """The trigrams of `text` as pg_trgm makes them: each word lower-cased, padded with two
    spaces before and one after, cut into every run of three characters."""
    return frozenset(
        padded[i : i + 3]
        for word in _WORD.findall(text.lower())
        for padded in (f"  {word} ",)
        for i in range(len(padded) - 2)
    )


def similarity(a: str | frozenset[str], b: str | frozenset[str]) -> float:
    """pg_trgm's similarity(): the trigrams the two texts share over those either has (0 when
    either has none). Each side a text or its `trigrams`."""
    first = a if isinstance(a, frozenset) else trigrams(a)
    second = b if isinstance(b, frozenset) else trigrams(b)
    if not first or not second:
        return 0.0
    shared = len(first & second)
    return shared / (len(first) + len(second) - shared)
