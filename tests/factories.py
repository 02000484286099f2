"""Plain factory functions with sensible defaults and keyword overrides."""

from __future__ import annotations

import itertools

from django.contrib.auth.models import Group

from accounts.models import User

PASSWORD = "correct horse battery staple"
_seq = itertools.count(1)


def make_user(
    *,
    username: str | None = None,
    email: str | None = None,
    role: str | None = None,
    password: str = PASSWORD,
    **fields: object,
) -> User:
    n = next(_seq)
    username = username or f"user{n}"
    user = User(username=username, email=email if email is not None else f"{username}@example.org", **fields)
    user.set_password(password)
    user.save()
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user
