"""Reads that feed the complainant's pages and the forms of both audiences."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any

from django.core.cache import cache
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from complaints.models import Category, Subcategory

logger = logging.getLogger(__name__)


def active_subcategories() -> QuerySet[Subcategory]:
    """The subcategories a complaint may be filed under, with their categories."""
    return Subcategory.objects.filter(is_active=True, category__is_active=True).select_related("category")


_CHOICES_SECONDS = 60
# Changed in the shared cache whenever a category, a subcategory or a canned reply is saved
# or deleted (`choices_changed`), so every process drops its copies at its next read;
# the minute bounds what no signal sees (an update of many rows at once) and a cache outage.
_VERSION_KEY = "complaints:choices-version"


# Every copy this process keeps, dropped together (forget_choices).
_COPIES: list[ProcessCopy] = []


class ProcessCopy:
    """What `load` reads (categories, subcategories or canned replies), kept in this process
    while their shared version stays the same (and for a minute at most)."""

    def __init__(self, load: Callable[[], Any]) -> None:
        self.load = load
        self.kept: tuple[float, Any, Any] = (-math.inf, None, None)
        _COPIES.append(self)

    def get(self) -> Any:
        loaded_at, version, value = self.kept
        current = choices_version()
        if current != version or time.monotonic() - loaded_at > _CHOICES_SECONDS:
            value = self.load()
            self.kept = (time.monotonic(), current, value)
        return value

    def forget(self) -> None:
        self.kept = (-math.inf, None, None)


_subcategories = ProcessCopy(lambda: {str(sub.pk): sub for sub in active_subcategories()})
# Every category, retired ones included: staff filter old cases by them.
_categories = ProcessCopy(lambda: list(Category.objects.all()))


def cached_active_subcategories() -> dict[str, Subcategory]:
    """Active subcategories by primary key, in their order, kept in this process until one
    changes (or for a minute).

    Intake validates one on every submission, and the filing form lists them all.
    """
    return _subcategories.get()


def cached_categories() -> list[Category]:
    """Every category, retired ones included, in their order; kept in this process as the
    active subcategories are, under the same version."""
    return _categories.get()


def choices_version() -> Any:
    """The forms' choices' version in the shared cache (None if never changed, or the cache is
    down): what this process's copies, and a page built from them, are kept under."""
    try:
        return cache.get(_VERSION_KEY)
    except Exception:  # noqa: BLE001 - the cache is down: the minute's bound alone
        return None


def choices_changed(**kwargs: Any) -> None:
    """A category, a subcategory or a canned reply was saved or deleted (post_save,
    post_delete): every process reads the choices again."""
    forget_choices()
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


def forget_choices() -> None:
    """Drop this process's copies of the forms' choices: categories, active subcategories,
    canned replies (one may have been added)."""
    for copy in _COPIES:
        copy.forget()
