"""How a time reaches a person: one format per kind, in the reader's language and time zone.

Three kinds, each written one way everywhere (pages, e-mails, refusals and messages):

- a moment, date and time: `when` ("1 Dec 2026, 16:52" / "16:52 ngày 01/12/2026");
- a day: `day` ("1 Dec 2026" / "01/12/2026");
- a length of time: `duration` ("2 days 3 hours" / "2 ngày 3 giờ"), and the time left
  before or passed since a moment in the same words (`duration_until`, `duration_since`).

The formats are Django's localized DATE_FORMAT and DATETIME_FORMAT, set per language in
`config/formats`. Times are stored in UTC and shown in the reader's time zone, which is the
portal's TIME_ZONE: no person stores a zone of their own. An e-mail or a message composed
outside its reader's request is written inside `reading_as(language)`.

The same functions are the template filters `|when`, `|day`, `|duration`, `|until:now` and
`|since:now` and `|ago:now` (a builtin
library, see TEMPLATES in settings), so no template formats a time by hand. Machine-readable
output (a `<time datetime>` attribute, the CSV export, the dossier's manifest) keeps ISO 8601.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from django import template
from django.conf import settings
from django.utils import formats, timezone, translation
from django.utils.dateformat import DateFormat, re_escaped, re_formatchars
from django.utils.html import avoid_wrapping
from django.utils.translation import gettext, ngettext_lazy

register = template.Library()

# Largest first; a duration shows its largest unit and, when not zero, the next one down.
# Days are the largest: an SLA target or a wait reads better as "35 days" than "1 month".
UNITS = (
    (timedelta(days=1), ngettext_lazy("%(num)d day", "%(num)d days", "num")),
    (timedelta(hours=1), ngettext_lazy("%(num)d hour", "%(num)d hours", "num")),
    (timedelta(minutes=1), ngettext_lazy("%(num)d minute", "%(num)d minutes", "num")),
)


def reader_time_zone() -> ZoneInfo:
    """The zone times are shown in: the portal's TIME_ZONE (nobody stores a zone of their own)."""
    return ZoneInfo(settings.TIME_ZONE)


@contextmanager
def reading_as(language: str) -> Iterator[None]:
    """Format (and translate) for a reader who is not the request's: an e-mail's recipient."""
    with translation.override(language), timezone.override(reader_time_zone()):
        yield


def when(value: datetime | None) -> str:
    """A moment as its date and time in the active language and zone; "" for None."""
    if value is None or value == "":
        return ""
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    moment = DateFormat(value)
    return "".join(
        str(getattr(moment, piece)()) if is_code else piece
        for is_code, piece in _pieces(formats.get_format("DATETIME_FORMAT"))
    )


@lru_cache(maxsize=32)
def _pieces(format_string: str) -> tuple[tuple[bool, str], ...]:
    """A date format split into its format characters (True) and its text (False, unescaped),
    once per format rather than on each call as django.utils.dateformat.format splits it
    (with two regular expressions: half the time of a moment on a page's every row)."""
    return tuple(
        (True, piece) if n % 2 else (False, re_escaped.sub(r"\1", piece))
        for n, piece in enumerate(re_formatchars.split(format_string))
        if piece
    )


def day(value: date | datetime | None) -> str:
    """A date (or a moment's date, in the active zone) in the active language; "" for None."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime) and timezone.is_aware(value):
        value = timezone.localtime(value)
    return formats.date_format(value, "DATE_FORMAT")


def duration(value: timedelta | None) -> str:
    """A length of time in words: "2 days 3 hours", "45 minutes", "less than a minute".

    Counts whole minutes, rounding down; shows the largest unit and the next one when it is
    not zero. A negative length reads as its size. "" for None.
    """
    if value is None or value == "":
        return ""
    remaining = abs(value)
    for index, (size, words) in enumerate(UNITS):
        count = remaining // size
        if not count:
            continue
        parts = [avoid_wrapping(words % {"num": count})]
        if index + 1 < len(UNITS):
            next_size, next_words = UNITS[index + 1]
            if next_count := (remaining - count * size) // next_size:
                parts.append(avoid_wrapping(next_words % {"num": next_count}))
        return " ".join(parts)
    return gettext("less than a minute")


def duration_until(moment: datetime | None, now: datetime) -> str:
    """The time left from `now` to `moment` in words; "less than a minute" once it has come."""
    if moment is None or moment == "":
        return ""
    return duration(max(moment - now, timedelta(0)))


def duration_since(moment: datetime | None, now: datetime) -> str:
    """The time passed from `moment` to `now` in words; "less than a minute" if it is still to come."""
    if moment is None or moment == "":
        return ""
    return duration(max(now - moment, timedelta(0)))


def ago(moment: datetime, now: datetime) -> str:
    """How long ago a moment was ("3 hours ago"), or, still to come, in how long ("in 2 days")."""
    if moment <= now:
        return gettext("%(ago)s ago") % {"ago": duration_since(moment, now)}
    return gettext("in %(left)s") % {"left": duration_until(moment, now)}


@register.filter(name="when", expects_localtime=True)
def when_filter(value: datetime | None) -> str:
    """`{{ moment|when }}`: the moment's date and time."""
    return when(value)


@register.filter(name="day", expects_localtime=True)
def day_filter(value: date | datetime | None) -> str:
    """`{{ moment|day }}`: the date alone."""
    return day(value)


@register.filter(name="duration")
def duration_filter(value: timedelta | None) -> str:
    """`{{ delta|duration }}`: a length of time in words."""
    return duration(value)


@register.filter(name="until")
def until_filter(moment: datetime | None, now: datetime) -> str:
    """`{{ deadline|until:now }}`: the time left before a moment ("… left")."""
    return duration_until(moment, now)


@register.filter(name="since")
def since_filter(moment: datetime | None, now: datetime) -> str:
    """`{{ deadline|since:now }}`: the time passed since a moment (an age, "… over")."""
    return duration_since(moment, now)


@register.filter(name="ago")
def ago_filter(moment: datetime, now: datetime) -> str:
    """`{{ moment|ago:now }}`: "… ago", or "in …" for a moment still to come."""
    return ago(moment, now)
