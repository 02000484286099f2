"""URLs for the rows of a page, and for a page's links to the same routes on every request."""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import quote

from django import template
from django.conf import settings
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse
from django.urls.converters import UUIDConverter

register = template.Library()

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


# Each route reversed in this process, by the route, its fixed arguments, the URLconf and the
# script prefix (what reverse() reads besides them): for a row's argument (kept_row_url), or
# whole, for a route without arguments (route).
_row_urls: dict[tuple[object, ...], Callable[[object], str]] = {}
_paths: dict[tuple[object, ...], str] = {}


def _where() -> tuple[object, str]:
    return get_urlconf() or settings.ROOT_URLCONF, get_script_prefix()


def kept_row_url(viewname: str, *fixed: object) -> Callable[[object], str]:
    """`row_url(viewname, *fixed)`, made once per process rather than once per page. A route
    that row_url cannot keep (an argument that is not one path segment, an <int:…> one) is
    reversed on each call, as reverse() reverses it (or refuses it)."""
    key = (viewname, fixed, *_where())
    url = _row_urls.get(key)
    if url is None:
        try:
            url = row_url(viewname, *fixed)
        except NoReverseMatch:
            url = lambda first: reverse(viewname, args=[first, *fixed])  # noqa: E731
        _row_urls[key] = url
    return url


@register.simple_tag
def route(viewname: str, *args: object) -> str:
    """`{% url viewname arg ... %}` for the case pages' many links (a dozen or two a page, the
    same routes each time): each route reversed once per process (`kept_row_url`); a route
    without arguments kept whole. reverse() took 19 µs a link.

    The first argument may change from one call to the next (a case's reference), the others
    are part of the route (`'thumb'`)."""
    if args:
        return kept_row_url(viewname, *args[1:])(args[0])
    key = (viewname, *_where())
    path = _paths.get(key)
    if path is None:
        path = _paths[key] = reverse(viewname)
    return path
