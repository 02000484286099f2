"""URLs for the rows of a page."""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import quote

from django.urls import NoReverseMatch, reverse
from django.urls.converters import UUIDConverter

# What reverse() leaves unquoted in a path (django.urls.resolvers).
_SAFE = "!$&'()*+,;=" + "/~:@"
# Stands for the row's argument while the route is reversed: a word, or a UUID for a
# `<uuid:…>` route, whose converter takes nothing else.
_MARKERS = ("ROWARGUMENT", "00000000-0000-4000-8000-526f77417267")
_ONE_SEGMENT = re.compile(r"[^/]+\Z")
_UUID = re.compile(rf"{UUIDConverter.regex}\Z")


def row_url(viewname: str, *fixed: object) -> Callable[[object], str]:
    """reverse(viewname, args=[x, *fixed]) for the many rows of one page, at the cost of a
    string join.

    The route is reversed once with a marker for its first argument, a path segment
    (`<str:…>`, `<slug:…>` or `<uuid:…>`), and the `fixed` ones after it; each row's URL is
    the marker replaced by the row's argument, quoted as reverse() quotes it. Django's
    reverse() walks the resolver on each call: two or three links a row on a queue of 25 rows
    cost more than a millisecond.
    """
    word, uuid = _MARKERS
    try:
        before, after = reverse(viewname, args=[word, *fixed]).split(word)
        segment = _ONE_SEGMENT
    except NoReverseMatch:
        before, after = reverse(viewname, args=[uuid, *fixed]).split(uuid)
        segment = _UUID

    def url(argument: object) -> str:
        text = str(argument)
        if not segment.match(text):
            raise NoReverseMatch(f"{viewname} does not take {text!r}")
        return f"{before}{quote(text, safe=_SAFE)}{after}"

    return url
