"""Reads that feed the complainant's pages and the forms of both audiences."""

from __future__ import annotations

import logging
import math
import time
from typing import Any

from django.core.cache import cache
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from complaints.models import Category, Subcategory

logger = logging.getLogger(__name__)


def active_subcategories() -> QuerySet[Subcategory]:
    """The subcategories a complaint may be filed under, with their categories."""
    return Subcategory.objects.filter(is_active=True, category__is_active=True).select_related("category")


_SUBCATEGORY_CACHE_SECONDS = 60
# Changed in the shared cache whenever a category or subcategory is saved or deleted
# (`subcategories_changed`), so every process drops its copy at its next read; the minute
# bounds what no signal sees (an update of many rows at once) and a cache outage.
_VERSION_KEY = "complaints:subcategories-version"
_subcategory_cache: tuple[float, Any, dict[str, Subcategory]] = (-math.inf, None, {})


def cached_active_subcategories() -> dict[str, Subcategory]:
    """Active subcategories by primary key, in their order, kept in this process until one
    changes (or for a minute).

    Intake validates one on every submission, and the filing form lists them all.
    """
    global _subcategory_cache
    loaded_at, version, by_pk = _subcategory_cache
    current = subcategories_version()
    if current != version or time.monotonic() - loaded_at > _SUBCATEGORY_CACHE_SECONDS:
        by_pk = {str(sub.pk): sub for sub in active_subcategories()}
        _subcategory_cache = (time.monotonic(), current, by_pk)
    return by_pk


_category_cache: tuple[float, Any, list[Category]] = (-math.inf, None, [])


def cached_categories() -> list[Category]:
    """Every category, retired ones included (staff filter old cases by them), in their order;
    kept in this process as the active subcategories are, under the same version."""
    global _category_cache
    loaded_at, version, categories = _category_cache
    current = subcategories_version()
    if current != version or time.monotonic() - loaded_at > _SUBCATEGORY_CACHE_SECONDS:
        categories = list(Category.objects.all())
        _category_cache = (time.monotonic(), current, categories)
    return categories


def subcategories_version() -> Any:
    """The subcategories' version in the shared cache (None if never changed, or the cache is
    down): what this process's copy, and a page built from them, is kept under."""
    try:
        return cache.get(_VERSION_KEY)
    except Exception:  # noqa: BLE001 - the cache is down: the minute's bound alone
        return None


def subcategories_changed(**kwargs: Any) -> None:
    """A category or subcategory was saved or deleted (post_save, post_delete): every process
    reads them again."""
    forget_subcategories()
    try:
        cache.set(_VERSION_KEY, time.time_ns(), timeout=None)
    except Exception:  # noqa: BLE001 - the cache is down: other processes within the minute
        logger.warning("The cache is down: other processes see the subcategories' change within a minute")


def grouped_subcategory_choices() -> list[tuple[Any, Any]]:
    """Subcategories grouped under their category names, for one <select> with <optgroup>s."""
    groups: dict[Category, list[tuple[Any, str]]] = {}
    for sub in cached_active_subcategories().values():
        groups.setdefault(sub.category, []).append((sub.pk, sub.name))
    return [("", _("Choose what the problem is about"))] + [
        (category.name, choices) for category, choices in groups.items()
    ]


def forget_subcategories() -> None:
    """Drop this process's copy of the categories and active subcategories (one may have been
    added)."""
    global _subcategory_cache, _category_cache
    _subcategory_cache = (-math.inf, None, {})
    _category_cache = (-math.inf, None, [])
