"""The gate of the second factor: sign-in is finished only once it is passed.

A person signed in with their password who holds a staff role (or is an admin), or who set
up an authenticator, reaches no page of the portal (staff pages, the admin, case pages,
evidence, their profile) before a code from it in this session: they are sent to enrolment
when they have no authenticator yet, else to the code step, with the page they asked for as
`next`. Only the pages that step needs stay open. A browser remembered after a code passes
by itself while its cookie holds (accounts.second_factor).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from accounts import second_factor
from accounts.second_factor import Owed

# What a person who owes the second factor may still open (URL names).
OPEN_BEFORE_SECOND_FACTOR = frozenset(
    {
        "accounts:second_factor_setup",
        "accounts:second_factor_verify",
        "accounts:logout",
        "accounts:set_language",
        "healthz",
        "favicon",
    }
)


class SecondFactorMiddleware:
    """Hold every page but the second factor's own until the session has passed it.

    Sets `request.second_factor_pending` (read by the header) for a person who still owes it.
    Must come after django-otp's OTPMiddleware.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view: Callable[..., Any], args: Any, kwargs: Any
    ) -> HttpResponse | None:
        user = request.user
        if not user.is_authenticated or user.is_verified():
            return None
        needed = second_factor.owed(user)
        if needed is None:
            return None
        if needed is Owed.VERIFY:
            device = second_factor.remembered_authenticator(request, user)
            if device is not None:
                second_factor.pass_second_factor(request, device)
                return None
        request.second_factor_pending = True
        match = request.resolver_match
        if match is not None and match.view_name in OPEN_BEFORE_SECOND_FACTOR:
            return None
        step = "accounts:second_factor_setup" if needed is Owed.ENROL else "accounts:second_factor_verify"
        return redirect_to_login(request.get_full_path(), reverse(step))
