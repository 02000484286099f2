"""Account workflows: registration and preference changes."""

from __future__ import annotations

from django.db import transaction

from accounts.models import User


def register_complainant(*, email: str, password: str, full_name: str, language: str) -> User:
    """Create a complainant account (no staff role) and return it.

    The username is the lower-cased e-mail address, so people sign in with their e-mail.
    Raises IntegrityError if the address is taken (the form checks first).
    """
    email = email.strip()
    with transaction.atomic():
        user = User(
            username=email.lower(),
            email=email,
            first_name=full_name.strip(),
            preferred_language=language,
        )
        user.set_password(password)
        user.save()
    return user


def update_profile(*, user: User, full_name: str, email: str, language: str) -> User:
    """Save the user's name, e-mail and preferred language; return the user."""
    user.first_name = full_name.strip()
    user.email = email.strip()
    user.preferred_language = language
    user.save(update_fields=["first_name", "email", "preferred_language"])
    return user


def set_preferred_language(*, user: User, language: str) -> User:
    """Remember the language a signed-in user picked in the switcher."""
    if user.preferred_language != language:
        user.preferred_language = language
        user.save(update_fields=["preferred_language"])
    return user
