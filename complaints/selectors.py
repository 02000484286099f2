"""Reads that feed the complainant's pages and the forms of both audiences."""

from __future__ import annotations

import math
import time
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from complaints.models import Category, Subcategory


def active_subcategories() -> QuerySet[Subcategory]:
    """The subcategories a complaint may be filed under, with their categories."""
    return Subcategory.objects.filter(is_active=True, category__is_active=True).select_related("category")


_SUBCATEGORY_CACHE_SECONDS = 60
_subcategory_cache: tuple[float, dict[str, Subcategory]] = (-math.inf, {})


def cached_active_subcategories() -> dict[str, Subcategory]:
    """Active subcategories by primary key, kept for a minute in this process.

    Intake validates one on every submission; an admin's edit shows within a minute.
    """
    global _subcategory_cache
    loaded_at, by_pk = _subcategory_cache
    if time.monotonic() - loaded_at > _SUBCATEGORY_CACHE_SECONDS:
        by_pk = {str(sub.pk): sub for sub in active_subcategories()}
        _subcategory_cache = (time.monotonic(), by_pk)
    return by_pk


def grouped_subcategory_choices() -> list[tuple[Any, Any]]:
    """Subcategories grouped under their category names, for one <select> with <optgroup>s."""
    groups: dict[Category, list[tuple[Any, str]]] = {}
    for sub in active_subcategories():
        groups.setdefault(sub.category, []).append((sub.pk, sub.name))
    return [("", _("Choose what the problem is about"))] + [
        (category.name, choices) for category, choices in groups.items()
    ]


def forget_subcategories() -> None:
    """Drop this process's copy of the active subcategories (one may have been added)."""
    global _subcategory_cache
    _subcategory_cache = (-math.inf, {})
