"""Read-mostly settings kept in each process: the categories and subcategories, staff's canned
replies, the escalation ladder, the staff whom cases are assigned to and who holds each staff
role (an agent's team).

Pages read them on nearly every request, and they change seldom: in the admin, or when
someone joins or leaves the staff.
Each is a `ProcessCopy`: what its `load` read, kept in this process while the shared version
stays the same (and for a minute at most). Saving or deleting one of those rows (`changed`,
connected by each app to its models' post_save and post_delete) changes the version in the
shared cache, so every process drops its copies at its next read; the minute bounds what no
signal sees (an update of many rows at once) and a cache outage.

A request reads the shared version once, however many copies it reads (`version`): the
memo lives from request_started to request_finished (`request_started`, `request_finished`,
connected in complaints.apps). Outside a request (a worker, a command) every read asks the
cache.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from django.core.cache import cache

logger = logging.getLogger(__name__)

SECONDS = 60
VERSION_KEY = "complaints:choices-version"

# Every copy this process keeps, dropped together (forget).
_COPIES: list[ProcessCopy] = []
# Within a request: a box holding the version once read (empty until then); None outside one.
_REQUEST_VERSION: ContextVar[list[Any] | None] = ContextVar("kept_request_version", default=None)


class ProcessCopy:
    """What `load` reads, kept in this process while the shared version stays the same (and
    for a minute at most)."""

    def __init__(self, load: Callable[[], Any]) -> None:
        self.load = load
        self.kept: tuple[float, Any, Any] = (-math.inf, None, None)
        _COPIES.append(self)

    def get(self) -> Any:
        loaded_at, kept_version, value = self.kept
        current = version()
        if current != kept_version or time.monotonic() - loaded_at > SECONDS:
            value = self.load()
            self.kept = (time.monotonic(), current, value)
        return value

    def forget(self) -> None:
        self.kept = (-math.inf, None, None)


def version() -> Any:
    """The shared version (None if never changed, or the cache is down): what this process's
    copies, and a page built from them, are kept under. Read once a request."""
    box = _REQUEST_VERSION.get()
    if box:
        return box[0]
    try:
        current = cache.get(VERSION_KEY)
    except Exception:  # noqa: BLE001 - the cache is down: the minute's bound alone
        current = None
    if box is not None:
        box.append(current)
    return current


def changed(**kwargs: Any) -> None:
    """One of the kept rows was saved or deleted (post_save, post_delete): every process reads
    its copies again."""
    forget()
    try:
        cache.set(VERSION_KEY, time.time_ns(), timeout=None)
    except Exception:  # noqa: BLE001 - the cache is down: other processes within the minute
        logger.warning("The cache is down: other processes see the change of a setting within a minute")


def forget() -> None:
    """Drop this process's copies, and the version this request read."""
    for copy in _COPIES:
        copy.forget()
    box = _REQUEST_VERSION.get()
    if box:
        box.clear()


def request_started(**kwargs: Any) -> None:
    _REQUEST_VERSION.set([])


def request_finished(**kwargs: Any) -> None:
    _REQUEST_VERSION.set(None)
