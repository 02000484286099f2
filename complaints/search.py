"""Search text without diacritics: "khieu nai" finds "khiếu nại", "Đà Nẵng" is "da nang"."""

from __future__ import annotations

import unicodedata

# Letters that do not decompose into a base letter and a mark.
_UNDECOMPOSABLE = str.maketrans({"đ": "d", "Đ": "d", "ø": "o", "Ø": "o", "ł": "l", "Ł": "l", "ß": "ss"})


def fold(text: str) -> str:
    """Lower case, without diacritics, whitespace collapsed."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_UNDECOMPOSABLE))
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(bare.casefold().split())


def search_text(*parts: str) -> str:
    """What a complaint is found by: its parts folded, one per line."""
    return "\n".join(fold(part) for part in parts if part)
