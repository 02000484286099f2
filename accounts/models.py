"""Users and their roles. Roles are Django groups; the names below are the contract."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from common import kept


class Role(models.TextChoices):
    """The staff groups, created by migrations. Complainants have no group."""

    AGENT = "Agents", _("Agents")
    TEAM_LEAD = "Team leads", _("Team leads")
    MANAGER = "Managers", _("Managers")
    # Answer people's requests about their personal data and are told of signs of a breach;
    # they handle no complaints unless they also hold one of the roles above.
    PRIVACY_OFFICER = "Privacy officers", _("Privacy officers")


# The roles that work cases: the queues, the case workspace, whom a case can go to.
STAFF_ROLES = frozenset({Role.AGENT, Role.TEAM_LEAD, Role.MANAGER})
# The roles that read the access log (who saw which case, from where): managers, and
# privacy officers, who answer people's questions about their data.
ACCESS_LOG_ROLES = frozenset({Role.MANAGER, Role.PRIVACY_OFFICER})


class User(AbstractUser):
    """A person with an account: a complainant, a member of staff or an administrator."""

    email = models.EmailField(_("e-mail address"), blank=True, db_index=True)
    preferred_language = models.CharField(
        _("preferred language"),
        max_length=8,
        choices=settings.LANGUAGES,
        default=settings.LANGUAGE_CODE,
        help_text=_("Pages and e-mails use this language after you sign in."),
    )
    is_demo = models.BooleanField(
        _("demo account"),
        default=False,
        help_text=_("Demo accounts can only sign in while DEBUG is on."),
    )

    objects = UserManager()

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
        constraints = [
            # One account per e-mail address, whatever its case; staff without e-mail allowed.
            models.UniqueConstraint(
                Lower("email"),
                condition=~Q(email=""),
                name="accounts_user_email_ci_unique",
                violation_error_message=_("An account with this e-mail address already exists."),
            )
        ]
        indexes = [
            # The superusers among all accounts (active_staff), without reading the others.
            models.Index(fields=["id"], condition=Q(is_superuser=True), name="accounts_user_superuser_idx"),
        ]

    def role_names(self) -> frozenset[str]:
        """The staff roles this user holds (cached on the instance for one request)."""
        if not self.is_active or not self.pk:
            return frozenset()
        cached = getattr(self, "_role_names", None)
        if cached is None:
            cached = frozenset(self.groups.filter(name__in=Role.values).values_list("name", flat=True))
            self._role_names = cached
        return cached

    def has_role(self, *roles: str) -> bool:
        """True when the user holds any of the given roles; superusers hold them all."""
        return self.is_superuser or bool(self.role_names() & set(roles))

    @property
    def is_agent(self) -> bool:
        return self.has_role(*STAFF_ROLES)

    @property
    def is_lead(self) -> bool:
        return self.has_role(Role.TEAM_LEAD, Role.MANAGER)

    @property
    def is_manager(self) -> bool:
        return self.has_role(Role.MANAGER)

    @property
    def is_privacy_officer(self) -> bool:
        return self.has_role(Role.PRIVACY_OFFICER)

    @property
    def reads_access_log(self) -> bool:
        return self.has_role(*ACCESS_LOG_ROLES)

    @property
    def holds_staff_role(self) -> bool:
        """Any staff role, privacy officers' included, or the admin: what staff sign-in rules apply to."""
        return self.is_superuser or self.is_staff or bool(self.role_names())

    @property
    def display_name(self) -> str:
        """The name shown for a person: full name, else e-mail address, else username (the
        fields are NAME_FIELDS: a query that shows names reads them alone)."""
        return name_shown(self.first_name, self.last_name, self.email, self.username)


# What display_name reads.
NAME_FIELDS = ("first_name", "last_name", "email", "username")


def name_shown(first_name: str, last_name: str, email: str, username: str) -> str:
    """A person's display_name from the NAME_FIELDS' values, in that order, for a page that
    reads them as columns rather than as accounts."""
    return f"{first_name} {last_name}".strip() or email or username


def active_staff() -> models.QuerySet[User]:
    """Active users holding a staff role (or superusers), by name: whom a case can go to.

    Their ids come from a UNION of the memberships and the partial index of superusers, a few
    rows however many complainants hold an account (as an OR filtering the accounts,
    PostgreSQL read every one of them: 10 ms at 10,000)."""
    members = User.groups.through.objects.filter(group__name__in=STAFF_ROLES).values("user_id")
    superusers = User.objects.filter(is_superuser=True).values("pk")
    return User.objects.filter(pk__in=members.union(superusers), is_active=True).order_by(
        "first_name", "last_name", "username"
    )


# Saves that change nothing active_staff() shows: a sign-in's, a language's, a password's.
_NOT_STAFF_FIELDS = frozenset({"last_login", "preferred_language", "password"})


def staff_changed(sender: Any, instance: Any = None, created: bool = False, **kwargs: Any) -> None:
    """Whom active_staff() lists, or their names, may have changed (an account saved or deleted,
    its groups changed): the copies each process keeps of it (common.kept) are read again. A
    new account holds no role until its groups change, unless it is a superuser."""
    if kwargs.get("action", "post_").startswith("pre_"):  # groups: once they have changed
        return
    update_fields = kwargs.get("update_fields")
    if update_fields is not None and set(update_fields) <= _NOT_STAFF_FIELDS:
        return
    if created and not instance.is_superuser:
        return
    kept.changed()
