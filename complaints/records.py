"""What happened to a complaint, written down: timeline events and outbox notices.

The shape of an event and of a notice is defined here, once. Services record them one
at a time (`record_event`, `notify_complainant`, `notify_staff`); the sweep records
thousands per batch through the set-wise forms (`EventRows`, `NoticeRows`), which take
the very same values. A notice is a row written in the caller's transaction; after
commit the delivery task is nudged (`complaints.notifications` sends it).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import transaction

from common.bulk import BulkInsert
from common.prepared import Insert
from complaints.models import ActorRole, Complaint, ComplaintEvent, Notification
from complaints.replies import new_message_id

logger = logging.getLogger(__name__)

# Sent by name: the outbox is below the tasks that drain it and never imports them.
DELIVERY_TASK = "complaints.tasks.deliver_notifications"


# --- Timeline events ---------------------------------------------------------------------


def actor_role_of(user: Any) -> str:
    """How the timeline names someone who acted: staff, or the complainant."""
    if user is not None and getattr(user, "is_authenticated", False) and user.is_agent:
        return ActorRole.STAFF
    return ActorRole.COMPLAINANT


def _account(user: Any) -> Any:
    return user if user is not None and getattr(user, "is_authenticated", False) else None


def event_values(
    *,
    complaint_id: int,
    kind: str,
    now: datetime,
    actor_id: int | None = None,
    actor_role: str = ActorRole.SYSTEM,
    public: bool = True,
    body: str = "",
    payload: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The columns of one timeline event: the only statement of what an event holds."""
    return {
        "complaint_id": complaint_id,
        "kind": kind,
        "actor_id": actor_id,
        "actor_role": actor_role,
        "created_at": now,
        "public": public,
        "body": body,
        "payload": payload or {},
    }


def record_event(
    *,
    complaint: Complaint,
    kind: str,
    by: Any,
    now: datetime,
    public: bool = True,
    body: str = "",
    payload: dict[str, Any] | None = None,
    actor_role: str | None = None,
) -> ComplaintEvent:
    """Append one event to the complaint's timeline and return it.

    `by` is the user who acted (None: the system); `actor_role` overrides how the
    timeline names them (a complainant acting through a staff account, say).
    """
    account = _account(by)
    return _INSERT_EVENT(
        **event_values(
            complaint_id=complaint.pk,
            kind=kind,
            now=now,
            actor_id=account.pk if account is not None else None,
            actor_role=actor_role or (ActorRole.SYSTEM if by is None else actor_role_of(by)),
            public=public,
            body=body,
            payload=payload,
        )
    )


# One event, one notice: each written by an INSERT compiled once (common.prepared), in the
# caller's transaction. Nothing listens to their models' signals.
_INSERT_EVENT = Insert(ComplaintEvent)
_INSERT_NOTICE = Insert(Notification)


# The columns `event_values` fills, for the set-wise form.
EVENT_COLUMNS = tuple(event_values(complaint_id=0, kind="", now=datetime.min))


class EventRows:
    """Timeline events gathered for one set-wise INSERT; `add` takes `event_values`' arguments."""

    def __init__(self) -> None:
        self._rows = BulkInsert(ComplaintEvent, EVENT_COLUMNS)

    def __len__(self) -> int:
        return len(self._rows)

    def add(self, **values: Any) -> None:
        self._rows.add(**event_values(**values))

    def add_each(self, complaint_ids: list[int], *, body: list[str], **values: Any) -> None:
        """One event on each complaint, alike but for their `body` (one each, in order):
        `event_values`' other arguments, the same for all."""
        count = len(complaint_ids)
        same = event_values(complaint_id=0, **values)
        columns = {name: [value] * count for name, value in same.items()}
        self._rows.extend(count, {**columns, "complaint_id": complaint_ids, "body": body})

    def insert(self) -> None:
        self._rows.insert()


# --- Notices (the outbox) --------------------------------------------------------------------


def notice_values(
    *,
    email: str,
    template: str,
    language: str,
    now: datetime,
    complaint_id: int | None = None,
    recipient_id: int | None = None,
    context: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The columns of one outbox notice: the only statement of what a notice holds.

    A language the portal does not speak falls back to LANGUAGE_CODE. The notice's
    Message-ID is given here, once: a resend carries the same one.
    """
    return {
        "complaint_id": complaint_id,
        "recipient_id": recipient_id,
        "email": email,
        "template": template,
        "language": _spoken(language),
        "context": context or {},
        "created_at": now,
        "next_attempt_at": now,
        "message_id": new_message_id(),
    }


def _spoken(language: str) -> str:
    """The language a notice is written in: its recipient's, if the portal speaks it."""
    return language if language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


def case_update(*, kind: str, guest: bool, note: str = "") -> dict[str, Any]:
    """The context of a `case_update` notice to the complainant.

    A guest follows the case through a tracking link, minted when the e-mail is sent.
    """
    return {"kind": kind, "note": note, "with_tracking_link": guest}


def staff_notices(
    people: Iterable[tuple[int, str, str]],
    *,
    complaint_id: int,
    kind: str,
    now: datetime,
    context: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """A `staff_alert` notice for each (user id, e-mail, language) that has an e-mail address."""
    return [
        notice_values(
            complaint_id=complaint_id,
            recipient_id=user_id,
            email=email,
            template="staff_alert",
            language=language,
            context={"kind": kind, **(context or {})},
            now=now,
        )
        for user_id, email, language in people
        if email
    ]


def staff_people(users: Iterable[Any]) -> list[tuple[int, str, str]]:
    """(id, e-mail, language) of each user, as `staff_notices` takes them."""
    return [(user.pk, user.email, user.preferred_language) for user in users]


def queue_notification(
    *,
    template: str,
    email: str,
    language: str,
    now: datetime,
    complaint: Complaint | None = None,
    recipient: Any = None,
    context: dict[str, Any] | None = None,
) -> Notification:
    """Write one notice to the outbox (caller's transaction) and nudge delivery after commit."""
    notification = _INSERT_NOTICE(
        **notice_values(
            complaint_id=complaint.pk if complaint is not None else None,
            recipient_id=recipient.pk if recipient is not None else None,
            email=email,
            template=template,
            language=language,
            context=context,
            now=now,
        )
    )
    transaction.on_commit(nudge_delivery)
    return notification


def notify_complainant(complaint: Complaint, *, template: str, now: datetime, **context: Any) -> Notification:
    """Queue a notice to the complaint's contact address, in the complainant's language."""
    return queue_notification(
        template=template,
        email=complaint.contact_email,
        language=complaint.language,
        now=now,
        complaint=complaint,
        context=context,
    )


def tell_complainant(complaint: Complaint, *, kind: str, now: datetime, note: str = "") -> Notification:
    """Queue the case-update notice (`kind` says what happened), with staff's public words."""
    return notify_complainant(
        complaint,
        template="case_update",
        now=now,
        **case_update(kind=kind, note=note, guest=complaint.complainant_id is None),
    )


def notify_staff(complaint: Complaint, users: Iterable[Any], *, kind: str, now: datetime) -> int:
    """Queue a staff alert about the complaint to each user with an e-mail address; return how many."""
    rows = staff_notices(staff_people(users), complaint_id=complaint.pk, kind=kind, now=now)
    Notification.objects.bulk_create([Notification(**values) for values in rows])
    if rows:
        transaction.on_commit(nudge_delivery)
    return len(rows)


def notify_assignee(complaint: Complaint, *, kind: str, now: datetime) -> None:
    """Queue a staff alert to the person holding the case, if anyone does."""
    if complaint.assignee is not None:
        notify_staff(complaint, [complaint.assignee], kind=kind, now=now)


# The columns `notice_values` fills, for the set-wise form.
NOTICE_COLUMNS = tuple(notice_values(email="", template="", language="", now=datetime.min))


class NoticeRows:
    """Notices gathered for one set-wise INSERT; delivery is nudged after the commit."""

    def __init__(self) -> None:
        self._rows = BulkInsert(Notification, NOTICE_COLUMNS)

    def __len__(self) -> int:
        return len(self._rows)

    def add(self, values: dict[str, Any]) -> None:
        """One notice, as `notice_values` (or `staff_notices`) built it."""
        self._rows.add(**values)

    def add_each(
        self,
        complaint_ids: list[int],
        *,
        email: list[str],
        language: list[str],
        context: list[dict[str, Any]],
        template: str,
        now: datetime,
    ) -> None:
        """A notice about each complaint, as `notice_values` builds one, alike but for their
        `email`, `language` and `context` (one each, in order) and Message-ID (each its own)."""
        count = len(complaint_ids)
        same = notice_values(email="", template=template, language="", now=now)
        columns = {name: [value] * count for name, value in same.items()}
        spoken = {each: _spoken(each) for each in set(language)}
        self._rows.extend(
            count,
            {
                **columns,
                "complaint_id": complaint_ids,
                "email": email,
                "language": [spoken[each] for each in language],
                "context": context,
                "message_id": [new_message_id() for _ in range(count)],
            },
        )

    def insert(self) -> None:
        self._rows.insert()
        if len(self._rows):
            transaction.on_commit(nudge_delivery)


_last_nudge = -math.inf


def nudge_delivery() -> None:
    """Ask a worker to drain the outbox now. A broker error is logged, never raised.

    Each process nudges at most once per NOTIFICATION_NUDGE_INTERVAL seconds: one
    delivery run drains every notice that is due, so a burst of submissions costs one
    task, not one each, and beat picks up whatever a skipped nudge left behind.
    """
    global _last_nudge
    now = time.monotonic()
    if now - _last_nudge < settings.NOTIFICATION_NUDGE_INTERVAL:
        return
    _last_nudge = now
    try:
        current_app.send_task(DELIVERY_TASK, retry=False)
    except Exception:
        logger.warning("could not nudge notification delivery; beat will deliver later", exc_info=True)
