"""Role checks for staff pages. A user without the role gets 404, never a hint."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.encoding import escape_uri_path

from accounts.signals import security_event


def role_required(*roles: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Require sign-in, then one of `roles` (superusers pass); anyone else gets 404."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.has_role(*roles):
                # A signed-in account reaching for a page its role does not open: the privacy
                # officers hear of it (at most once an hour per account).
                security_event.send(
                    sender=role_required,
                    kind="permission_refused",
                    account=request.user,
                    # As it was requested, percent-encoded: a decoded path may hold a NUL,
                    # which no JSON column stores, or a line break the alert's e-mail would show.
                    details={"path": escape_uri_path(request.path)[:200]},
                    now=timezone.now(),
                )
                raise Http404
            return view(request, *args, **kwargs)

        return login_required(wrapped)

    return decorator
