"""Project-level endpoints that belong to no app: the health check, the favicon and the error
pages (400; 503 when the database cannot be reached)."""

from __future__ import annotations

import logging
import math
import os
import sys
from pathlib import Path

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import InterfaceError, OperationalError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.utils import translation
from django.utils.cache import add_never_cache_headers, patch_cache_control
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_safe

from config.celery import app as celery_app

logger = logging.getLogger(__name__)


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _check_broker() -> None:
    timeout = settings.HEALTHZ_TIMEOUT.total_seconds()
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=timeout)


def _check_storage() -> None:
    # Proves the folder or bucket is there without writing anything.
    bucket = getattr(default_storage, "bucket", None)
    if bucket is not None:
        bucket.meta.client.head_bucket(Bucket=bucket.name)
        return
    location = Path(default_storage.location)
    # FileSystemStorage creates its folder on the first save; do the same here.
    location.mkdir(parents=True, exist_ok=True)
    if not os.access(location, os.W_OK):
        raise OSError(f"storage folder is missing or read-only: {location.name}")


CHECKS = {"database": _check_database, "broker": _check_broker, "storage": _check_storage}


# Without the database nothing works; without the others the portal still takes complaints
# (notices wait in the outbox, files can be added later), so they only degrade it.
ESSENTIAL = frozenset({"database"})


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """JSON state of the database, broker and storage.

    By default 200 while the portal can take complaints (the database answers), naming
    the parts that do not in `degraded`; 503 only without the database. That is what a
    load balancer should follow: a node is worth sending visitors to while Redis alone
    is down. With `?strict=1`, 503 unless every part answers, for monitoring.
    """
    results: dict[str, str] = {}
    for name, check in CHECKS.items():
        try:
            check()
        except Exception:
            logger.warning("healthz: %s is unreachable", name, exc_info=True)
            results[name] = "down"
        else:
            results[name] = "ok"
    failing = sorted(name for name, state in results.items() if state != "ok")
    degraded = [name for name in failing if name not in ESSENTIAL]
    if request.GET.get("strict") in ("1", "true"):
        down = bool(failing)
    else:
        down = any(name in ESSENTIAL for name in failing)
    state = "down" if down else ("degraded" if failing else "ok")
    return JsonResponse(
        {"status": state, "checks": results, "failing": failing, "degraded": degraded},
        status=503 if down else 200,
    )


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """The 400 page, in the visitor's language. Unlike Django's default handler it does not
    check a CSRF token, which would read the body again: a body that could not be read once
    (too many fields, too large, an unknown charset) would fail a second time, as a 500."""
    return render(request, "400.html", status=400)


@require_safe
def favicon(request: HttpRequest) -> HttpResponse:
    """/favicon.ico, which browsers ask for by themselves (on a first visit, or for a page
    without <link rel="icon">): a redirect to the static icon, whose name carries its hash
    in production, so the redirect itself is kept for a day only."""
    response = redirect(static("img/favicon.ico"))
    patch_cache_control(response, public=True, max_age=24 * 60 * 60)
    return response


# What a request meets while PostgreSQL is down or restarting: refused or dropped connections.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)
# Seconds a visitor (or a client honouring Retry-After) is asked to wait.
DATABASE_RETRY_AFTER = 30


def database_unavailable(request: HttpRequest) -> HttpResponse:
    """The 503 page for a request that found the database unavailable, with Retry-After.

    In the language of the visitor's cookie or browser (a profile cannot be read now), and
    rendered without context processors: the navigation would ask the database who is
    signed in and fail again.
    """
    with translation.override(translation.get_language_from_request(request)):
        body = render_to_string("503.html", {"minutes": math.ceil(DATABASE_RETRY_AFTER / 60)})
    response = HttpResponse(body, status=503)
    response["Retry-After"] = str(DATABASE_RETRY_AFTER)
    add_never_cache_headers(response)
    return response


def server_error(request: HttpRequest) -> HttpResponse:
    """The 500 page; or the 503 page when the error was the database being unavailable
    (raised outside a view, e.g. by a middleware, so DatabaseUnavailableMiddleware did not
    see it)."""
    if isinstance(sys.exc_info()[1], DATABASE_UNAVAILABLE):
        return database_unavailable(request)
    return defaults.server_error(request)
