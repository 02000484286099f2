"""Signs of an attack, told to the privacy officers by e-mail (through the outbox).

Listens to accounts.signals.security_event. The same kind of alert about the same account
goes out at most once per SECURITY_ALERT_QUIET_MINUTES, so a flood of attempts is one
e-mail, not a flood of e-mails. With no privacy officer to tell, the administrators
(active superusers) are told instead.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse

from accounts.models import Role, User
from accounts.signals import security_event
from complaints.models import Notification
from complaints.records import notice_values, nudge_delivery

logger = logging.getLogger(__name__)


def alert_recipients() -> QuerySet[User]:
    """The active privacy officers with an e-mail address; else the active superusers with one."""
    officers = User.objects.filter(groups__name=Role.PRIVACY_OFFICER, is_active=True).exclude(email="")
    if officers.exists():
        return officers
    return User.objects.filter(is_superuser=True, is_active=True).exclude(email="")


def alert(*, kind: str, account: Any, details: dict[str, Any], now: datetime) -> int:
    """Queue a `security_alert` notice of `kind` to each recipient, unless the same kind about
    the same account went out within SECURITY_ALERT_QUIET_MINUTES; return how many."""
    quiet = f"security-alert:{kind}:{account.pk if account is not None else '-'}"
    try:
        fresh = cache.add(quiet, 1, timeout=settings.SECURITY_ALERT_QUIET_MINUTES * 60)
    except Exception:  # noqa: BLE001 - the cache is down: better one alert too many than none
        fresh = True
    if not fresh:
        return 0
    context = {"kind": kind, "quiet_minutes": settings.SECURITY_ALERT_QUIET_MINUTES, **details}
    if account is not None:
        context["account"] = account.get_username()
        context["account_url"] = settings.SITE_URL.rstrip("/") + reverse(
            "admin:accounts_user_change", args=[account.pk]
        )
    rows = [
        Notification(
            **notice_values(
                recipient_id=person.pk,
                email=person.email,
                template="security_alert",
                language=person.preferred_language,
                context=context,
                now=now,
            )
        )
        for person in alert_recipients()
    ]
    if not rows:
        logger.warning(
            "security alert %s about %s: nobody to tell (no privacy officer, no admin)", kind, account
        )
        return 0
    Notification.objects.bulk_create(rows)
    transaction.on_commit(nudge_delivery)
    logger.warning("security alert %s about %s sent to %d people", kind, account, len(rows))
    return len(rows)


def on_security_event(
    sender: Any, *, kind: str, account: Any = None, details: dict[str, Any], now: datetime, **kwargs: Any
) -> None:
    alert(kind=kind, account=account, details=details, now=now)


def connect() -> None:
    security_event.connect(on_security_event, dispatch_uid="complaints.security.alert")
