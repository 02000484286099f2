"""Authentication by username or e-mail; demo accounts only while DEBUG is on."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db.models import Q
from django.http import HttpRequest


def account_named(name: str) -> Any:
    """The account a sign-in name stands for: the one with that username (in any case), else
    the only one with that e-mail address (in any case); None when there is none, or when the
    e-mail address is shared by several accounts and is not also an exact username."""
    if not name or "\x00" in name:  # no account is named so (and PostgreSQL refuses NUL)
        return None
    user_model = get_user_model()
    candidates = list(
        user_model._default_manager.filter(Q(username__iexact=name) | Q(email__iexact=name)).order_by("pk")[
            :2
        ]
    )
    # An e-mail shared by two accounts is ambiguous: only the exact username works then.
    exact = [u for u in candidates if u.username.lower() == name.lower()]
    return exact[0] if exact else (candidates[0] if len(candidates) == 1 else None)


class EmailOrUsernameBackend(ModelBackend):
    """Accept either the username or the e-mail address in the username field."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        if username is None or password is None:
            return None
        user = account_named(username)
        if user is None:
            # Run the hasher anyway so response time does not reveal which accounts exist.
            get_user_model()().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None

    def user_can_authenticate(self, user: Any) -> bool:
        if getattr(user, "is_demo", False) and not settings.DEBUG:
            return False
        return super().user_can_authenticate(user)

    def get_user(self, user_id: int) -> Any:
        user = super().get_user(user_id)
        if user is not None and getattr(user, "is_demo", False) and not settings.DEBUG:
            return None
        return user
