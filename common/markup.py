"""HTML written in Python, for the few parts of pages rendered without a template (the queues'
rows, the case's timeline): values escaped exactly as templates escape them."""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any

from django.utils.safestring import SafeString
from django.utils.timezone import localtime

from common.times import when


def escaped(value: Any) -> str:
    """`value` as a template writes it: escaped (django.utils.html.escape's html.escape, without
    its lazy-string check on each call), unless it is already safe HTML."""
    if isinstance(value, SafeString):
        return value
    return html.escape(str(value))


def attributes(attrs: dict[str, Any]) -> str:
    """A widget's attributes as django/forms/widgets/attrs.html writes them: ` name="value"`,
    a True one as its name alone, a False one left out."""
    return "".join(
        f" {escaped(name)}" if value is True else f' {escaped(name)}="{escaped(value)}"'
        for name, value in attrs.items()
        if value is not False
    )


def time_element(moment: datetime) -> str:
    """A moment as a <time> element: ISO 8601 for machines, `when` for people, in the
    reader's zone, as `<time datetime="{{ m|date:'c' }}">{{ m|when }}</time>` writes it."""
    return f'<time datetime="{escaped(localtime(moment).isoformat())}">{escaped(when(moment))}</time>'
