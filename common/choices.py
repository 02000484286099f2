"""Choice labels at the cost of a dict lookup.

Django's `get_FOO_display()` rebuilds a dict of every choice on each call, hashing each
lazily translated label on the way, which translates it: a timeline of 30 entries, each
naming its kind (one of some forty) and its author's role, spent more time in those calls
than in the rest of its rendering. A model with `ChoiceLabels` among its bases answers the
same calls from a table built once per field; the labels stay lazy, so each is still
translated into the language active when it is shown.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.db.models import Field
from django.utils.encoding import force_str
from django.utils.hashable import make_hashable


@cache
def _labels(field: Field) -> dict[Any, Any]:
    return {make_hashable(value): label for value, label in field.flatchoices}


class ChoiceLabels:
    """A model mixin: `get_FOO_display()` of every field with choices, from `_labels`."""

    def _get_FIELD_display(self, field: Field) -> str:
        value = getattr(self, field.attname)
        return force_str(_labels(field).get(make_hashable(value), value), strings_only=True)
