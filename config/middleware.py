"""Small project-wide middleware: the Permissions-Policy header; 503 without the database."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from config.views import DATABASE_UNAVAILABLE, database_unavailable

logger = logging.getLogger(__name__)


def permissions_policy(features: dict[str, list[str]]) -> str:
    """The header value: `camera=(), geolocation=(self "https://maps.example")`.

    An empty allow-list switches the feature off for the page and every frame in it.
    """

    def allow(origin: str) -> str:
        return origin if origin in ("self", "*") else f'"{origin}"'

    return ", ".join(
        f"{feature}=({' '.join(allow(origin) for origin in origins)})"
        for feature, origins in features.items()
    )


class PermissionsPolicyMiddleware:
    """Add PERMISSIONS_POLICY to every response that does not set its own."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        header = permissions_policy(settings.PERMISSIONS_POLICY)  # read per response: tests override it
        if header:
            response.headers.setdefault("Permissions-Policy", header)
        return response


class DatabaseUnavailableMiddleware:
    """A view that finds the database unavailable (PostgreSQL down or restarting) answers
    503 with Retry-After in the visitor's language, not a 500; one log line, no traceback."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, DATABASE_UNAVAILABLE):
            return None
        logger.warning(
            "database unavailable, %s %s answered 503: %s",
            request.method,
            request.path,
            " ".join(str(exception).split())[:300],
        )
        return database_unavailable(request)
