"""Small project-wide middleware: the Permissions-Policy header."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse


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
