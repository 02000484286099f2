"""Staff sessions end after STAFF_SESSION_IDLE_MINUTES without a request."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.utils.translation import ngettext

# When the session last saw its user (seconds since the epoch).
SEEN = "staff_seen_at"
# The stamp is renewed at most this often, so a busy agent's pages do not each save the session.
RENEW_SECONDS = 60


class StaffIdleTimeoutMiddleware:
    """Sign out a user who holds a staff role (or the admin) once their session has had no
    request for STAFF_SESSION_IDLE_MINUTES, whatever the session's own age; the next request
    goes to the sign-in page, saying why, and comes back to where it was going.

    The session also expires in the store that long after its last renewal, so one left
    behind on a shared computer cannot be picked up there later. Complainants' sessions
    keep the site's usual age.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if user.is_authenticated and user.holds_staff_role:
            idle = settings.STAFF_SESSION_IDLE_MINUTES * 60
            now = int(time.time())
            seen = request.session.get(SEEN)
            if seen is not None and now - seen > idle:
                logout(request)
                minutes = settings.STAFF_SESSION_IDLE_MINUTES
                messages.info(
                    request,
                    ngettext(
                        "You were signed out after %(minutes)d minute without activity. "
                        "Please sign in again.",
                        "You were signed out after %(minutes)d minutes without activity. "
                        "Please sign in again.",
                        minutes,
                    )
                    % {"minutes": minutes},
                )
                return redirect_to_login(request.get_full_path())
            if seen is None or now - seen >= RENEW_SECONDS:
                stamp(request.session, now=now)
        return self.get_response(request)


def stamp(session: Any, *, now: int) -> None:
    """Note in `session` that its staff user was seen at `now`, and let it expire in the
    store STAFF_SESSION_IDLE_MINUTES later."""
    session[SEEN] = now
    session.set_expiry(settings.STAFF_SESSION_IDLE_MINUTES * 60)


def stamp_at_sign_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """At sign-in (user_logged_in), so a staff member's first page saves no session."""
    if request is not None and hasattr(request, "session") and user.holds_staff_role:
        stamp(request.session, now=int(time.time()))
