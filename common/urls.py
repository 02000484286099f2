"""URLs for the rows of a page."""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import quote

from django.urls import NoReverseMatch, reverse

# What reverse() leaves unquoted in a path (django.urls.resolvers).
_SAFE = "!$&'()*+,;=" + "/~:@"
_MARKER = "ROWARGUMENT"
_ONE_SEGMENT = re.compile(r"[^/]+\Z")


def row_url(viewname: str) -> Callable[[object], str]:
    """reverse(viewname, args=[x]) for the many rows of one page, at the cost of a string join.

    The route is reversed once with a marker for its one argument, a path segment (`<str:…>`
    or `<slug:…>`); each row's URL is the marker replaced by the row's argument, quoted as
    reverse() quotes it. Django's reverse() walks the resolver on each call: two or three
    links a row on a queue of 25 rows cost more than a millisecond.
    """
    before, after = reverse(viewname, args=[_MARKER]).split(_MARKER)

    def url(argument: object) -> str:
        text = str(argument)
        if not _ONE_SEGMENT.match(text):
            raise NoReverseMatch(f"{viewname} takes one path segment, not {text!r}")
        return f"{before}{quote(text, safe=_SAFE)}{after}"

    return url
