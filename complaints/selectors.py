"""Reads that feed the complainant's pages and the forms of both audiences."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from common.kept import ProcessCopy
from complaints.models import Category, Cause, Complaint, Incident, Subcategory, WaveAlert
from complaints.search import provider_key


def active_subcategories() -> QuerySet[Subcategory]:
    """The subcategories a complaint may be filed under, with their categories."""
    return Subcategory.objects.filter(is_active=True, category__is_active=True).select_related("category")


class Kept(NamedTuple):
    categories: dict[int, Category]  # every one, retired ones included, in their order
    subcategories: dict[int, Subcategory]  # the same, each with its category
    active: dict[str, Subcategory]  # those a complaint may be filed under (active_subcategories), by str(pk)
    causes: dict[int, Cause]  # every cause, retired ones included, in their order


def _read() -> Kept:
    categories = {category.pk: category for category in Category.objects.all()}
    subcategories = {sub.pk: sub for sub in Subcategory.objects.all()}
    for sub in subcategories.values():
        sub.category = categories[sub.category_id]
    offered = set(active_subcategories().values_list("pk", flat=True))  # the rule said once
    active = {str(pk): sub for pk, sub in subcategories.items() if pk in offered}
    causes = {cause.pk: cause for cause in Cause.objects.all()}
    return Kept(categories, subcategories, active, causes)


# Kept in this process until one changes (common.kept). Retired ones too: staff filter old
# cases by them, and old cases are filed under them.
_kept = ProcessCopy(_read)


def name_categories(complaints: Iterable[Complaint]) -> None:
    """Give each complaint its category and subcategory from this process's copy, for a page
    that names them, rather than joining two tables to its query (a third of the time of a
    case page's read of its case). One that the copy lacks is read as usual, when used; a
    field the query deferred stays deferred."""
    kept = _kept.get()
    categories, subcategories = kept.categories, kept.subcategories
    for complaint in complaints:
        read = vars(complaint)  # the loaded fields (a deferred one is not there)
        if read.get("category_id") in categories:
            complaint.category = categories[read["category_id"]]
        if read.get("subcategory_id") in subcategories:
            complaint.subcategory = subcategories[read["subcategory_id"]]


def cached_causes() -> dict[int, Cause]:
    """Every cause, retired ones included, by primary key, in their order (kept as the categories are)."""
    return _kept.get().causes


def causes_for(category_id: int | None) -> list[Cause]:
    """The active causes a complaint of this category may be resolved with: the category's own,
    then those offered for every category."""
    causes = [cause for cause in cached_causes().values() if cause.is_active]
    return [cause for cause in causes if cause.category_id == category_id] + [
        cause for cause in causes if cause.category_id is None
    ]


def cached_active_subcategories() -> dict[str, Subcategory]:
    """Active subcategories by primary key, in their order, kept in this process until one
    changes (or for a minute).

    Intake validates one on every submission, and the filing form lists them all.
    """
    return _kept.get().active


def kept_subcategories() -> dict[int, Subcategory]:
    """Every subcategory, retired ones included, by primary key, each with its category, from
    this process's copy (a case's class at any time of its life names one of them)."""
    return _kept.get().subcategories


def cached_categories() -> list[Category]:
    """Every category, retired ones included, in their order; kept in this process as the
    active subcategories are, under the same version."""
    return list(_kept.get().categories.values())


def grouped_subcategory_choices() -> list[tuple[Any, Any]]:
    """Subcategories grouped under their category names, for one <select> with <optgroup>s."""
    groups: dict[Category, list[tuple[Any, str]]] = {}
    for sub in cached_active_subcategories().values():
        groups.setdefault(sub.category, []).append((sub.pk, sub.name))
    return [("", _("Choose what the problem is about"))] + [
        (category.name, choices) for category, choices in groups.items()
    ]


# --- Open incidents, as the filing form shows them ----------------------------------------------


def _read_open_incidents() -> list[Incident]:
    return list(Incident.objects.open().order_by("started_at", "pk"))


# Kept in this process until an incident is saved (common.kept, connected in complaints.apps): the
# filing form asks for them on every page it renders, and they change a few times a day.
_open_incidents = ProcessCopy(_read_open_incidents)


def open_incidents() -> list[Incident]:
    """Every open incident, oldest first, from this process's copy."""
    return _open_incidents.get()


def matching_incidents(category_id: int | None, provider_name: str) -> list[Incident]:
    """The open incidents of this category and provider (its name compared as a key: case,
    diacritics, spaces, punctuation and a web address's ending ignored), oldest first; none until
    both are known. No query but the copy's."""
    key = provider_key(provider_name or "")
    if category_id is None or not key:
        return []
    return [
        incident
        for incident in open_incidents()
        if incident.category_id == category_id and incident.provider_key == key
    ]


# --- Waves ------------------------------------------------------------------------------------


def _named(alerts: list[WaveAlert]) -> list[WaveAlert]:
    """The alerts, each given its category from this process's copy (no join; a category the
    copy lacks is read when used)."""
    categories = _kept.get().categories
    for alert in alerts:
        if alert.category_id in categories:
            alert.category = categories[alert.category_id]
    return alerts


# How long the queues' banner shows an open wave alert after the last check that saw its wave:
# a wave nobody acted on that has been over for a day is no news any more (its e-mail went out;
# the alert stays open until a later wave of the same category and provider replaces it).
WAVE_ALERT_SHOWN_FOR = timedelta(days=1)


def open_wave_alerts(*, now: datetime) -> list[WaveAlert]:
    """The open wave alerts whose wave was still seen within WAVE_ALERT_SHOWN_FOR of `now`,
    newest first, each with its category: the queues' banner for team leads and managers (a range
    of wave_alert_open_once, a handful of rows)."""
    recent = WaveAlert.objects.open().filter(last_seen_at__gte=now - WAVE_ALERT_SHOWN_FOR)
    return _named(list(recent.order_by("-created_at", "-pk")))


def wave_alert(public_id: str) -> WaveAlert | None:
    """The wave alert with this public id, with its category; None for any other text."""
    try:
        value = uuid.UUID(public_id)
    except (TypeError, ValueError, AttributeError):
        return None
    return next(iter(_named(list(WaveAlert.objects.filter(public_id=value)))), None)
