"""Keyset paging: a page starts after the last row of the one before, never at an offset.

A page 200 deep costs what the first does, when an index holds the sort order, and
nothing counts the whole list: one more row than shown is read to know whether
another page exists.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import F, QuerySet
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan, TupleLessThan

PAGE_SIZE = 25
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Cursor:
    """Where a page starts: after the row whose sort key is (*moments, id)."""

    moments: tuple[datetime, ...]
    id: int

    def encode(self) -> str:
        parts = [str((moment - EPOCH) // timedelta(microseconds=1)) for moment in self.moments]
        raw = ".".join([*parts, str(self.id)])
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str, size: int = 1) -> Cursor | None:
        """The cursor in a link, or None if it is not one (a hand-edited URL starts over)."""
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
            *micros, pk = (int(part) for part in raw.split("."))
            if len(micros) != size:
                return None
            return cls(tuple(EPOCH + timedelta(microseconds=m) for m in micros), pk)
        except (ValueError, OverflowError, UnicodeDecodeError):
            return None

    def after(self, *keys: Any) -> TupleGreaterThan:
        """The condition "sorts after this cursor", as one row comparison, so the database
        starts its index scan at the cursor instead of skipping the pages before it."""
        return TupleGreaterThan(Tuple(*keys, F("id")), (*self.moments, self.id))

    def before(self, *keys: Any) -> TupleLessThan:
        """The condition "sorts before this cursor", for a list read newest first."""
        return TupleLessThan(Tuple(*keys, F("id")), (*self.moments, self.id))


@dataclass
class Page:
    rows: list[Any]
    next_cursor: str | None


def keyset_page(
    queryset: QuerySet,
    keys: dict[str, Any],
    after: Cursor | None,
    size: int = PAGE_SIZE,
    *,
    descending: bool = False,
) -> Page:
    """The `size` rows of `queryset` (ordered by the `keys` annotations, then id; or by both
    descending, newest first) after `after`.

    One more row than shown is read to know whether a next page exists: nothing is counted.
    """
    if after is not None:
        condition = after.before if descending else after.after
        queryset = queryset.filter(condition(*keys.values()))
    rows = list(queryset[: size + 1])
    if len(rows) <= size:
        return Page(rows, None)
    rows = rows[:size]
    last = rows[-1]
    return Page(rows, Cursor(tuple(getattr(last, name) for name in keys), last.pk).encode())
