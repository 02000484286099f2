"""Retention: a complaint's personal data is erased (anonymised) once its category's
retention period has passed since the case ended, unless a legal hold keeps it; and at
once when the person asks for it (erasure) or withdraws their consent.

What goes is what complaints.personal lists as ERASED: personal fields blanked, the stored
objects (evidence originals, derived copies, previews, sealed e-mails) deleted from storage
once the change commits, tracking and reply tokens deleted, pending notices dropped, and
every text of the timeline redacted. What stays is what the statistics count: category,
dates, deadlines and their outcomes, statuses, the evidence's SHA-256 and size. Each case
gets one ANONYMISED entry on its timeline. The writes are set-wise, one statement per
table for a whole batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q, QuerySet

from common.bulk import AnyOf
from complaints.models import (
    ENDED_STATUSES,
    ActorRole,
    Category,
    Complaint,
    ComplaintEvent,
    ContactAttempt,
    EventKind,
    InboundMessage,
    Notification,
    NotificationStatus,
    PrivacyRequest,
    ReplyToken,
    TrackingToken,
)
from complaints.personal import KEPT_PAYLOAD_KEYS
from escalation.models import Escalation
from evidence.models import Evidence
from evidence.services import delete_objects_on_commit

BATCH = 2_000

# The complaint's personal fields, as anonymisation leaves them.
BLANK_COMPLAINT = {
    "complainant": None,
    "subject": "",
    "description": "",
    "desired_outcome": "",
    "steps_taken": "",
    "contact_name": "",
    "contact_email": "",
    "contact_phone": "",
    "provider_username": "",
    "provider_email": "",
    "provider_account_id": "",
    "resolution_summary": "",
    "rating_comment": "",
    "search_text": "",
    "related_text": "",
    "legal_hold_reason": "",
}


@dataclass(frozen=True)
class Anonymised:
    complaints: int  # cases anonymised
    objects: int  # stored objects deleted (or to be, once committed)


def retention_cutoffs(now: datetime) -> dict[int, datetime]:
    """Per category id, the moment before which an ended case has outlived its retention."""
    default = settings.RETENTION_DEFAULT_YEARS
    return {
        pk: _years_before(now, years if years is not None else default)
        for pk, years in Category.objects.values_list("pk", "retention_years")
    }


def _years_before(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:  # 29 February in a year that has none
        return moment.replace(year=moment.year - years, day=28)


def expired(now: datetime) -> QuerySet[Complaint]:
    """Ended cases past their category's retention, or whose complainant withdrew consent,
    not held, not yet anonymised (oldest end first); read from the partial index
    complaint_retention_idx."""
    return _withdrawn() | _past_retention(now)


def _ended() -> QuerySet[Complaint]:
    return Complaint.objects.filter(
        status__in=ENDED_STATUSES, anonymised_at__isnull=True, legal_hold_reason=""
    )


def _withdrawn() -> QuerySet[Complaint]:
    """Ended cases whose complainant withdrew consent (complaint_withdrawn_idx)."""
    return _ended().filter(consent_withdrawn_at__isnull=False).order_by("status_changed_at", "pk")


def _past_retention(now: datetime) -> QuerySet[Complaint]:
    """Ended cases past their category's retention, oldest end first: a range of
    complaint_retention_idx bounded by the latest cutoff, so the scan reads what is due."""
    cutoffs = retention_cutoffs(now)
    if not cutoffs:
        return Complaint.objects.none()
    past = Q()
    for category_id, cutoff in cutoffs.items():
        past |= Q(category_id=category_id, status_changed_at__lt=cutoff)
    return (
        _ended().filter(past, status_changed_at__lt=max(cutoffs.values())).order_by("status_changed_at", "pk")
    )


def anonymise_expired(*, now: datetime, batch: int = BATCH, limit: int | None = None) -> Anonymised:
    """Anonymise every case past its retention (at most `limit`), `batch` at a time, each
    batch in a transaction of its own."""
    done = Anonymised(0, 0)
    while limit is None or done.complaints < limit:
        size = batch if limit is None else min(batch, limit - done.complaints)
        ids = list(_withdrawn().values_list("pk", flat=True)[:size])
        if len(ids) < size:
            ids += _past_retention(now).values_list("pk", flat=True)[: size - len(ids)]
        if not ids:
            break
        result = anonymise(ids, now=now)
        done = Anonymised(done.complaints + result.complaints, done.objects + result.objects)
        if result.complaints == 0:  # every one of them was held or taken meanwhile
            break
    return done


def anonymise(complaint_ids: list[int], *, now: datetime) -> Anonymised:
    """Erase the personal data of these complaints, set-wise, in one transaction. Skips those
    already anonymised and those under a legal hold."""
    with transaction.atomic():
        locked = Complaint.objects.select_for_update().filter(
            AnyOf("pk", complaint_ids), anonymised_at__isnull=True, legal_hold_reason=""
        )
        ids = list(locked.order_by("pk").values_list("pk", flat=True))
        if not ids:
            return Anonymised(0, 0)
        keys = _stored_keys(ids)
        Complaint.objects.filter(AnyOf("pk", ids)).update(
            **BLANK_COMPLAINT, anonymised_at=now, version=F("version") + 1
        )
        _redact_events(ids)
        ContactAttempt.objects.filter(AnyOf("complaint_id", ids)).update(
            with_whom="", their_reference="", summary=""
        )
        TrackingToken.objects.filter(AnyOf("complaint_id", ids)).delete()
        ReplyToken.objects.filter(AnyOf("complaint_id", ids)).delete()
        Notification.objects.filter(AnyOf("complaint_id", ids), status=NotificationStatus.PENDING).update(
            status=NotificationStatus.FAILED
        )
        Notification.objects.filter(AnyOf("complaint_id", ids)).update(email="", context={}, last_error="")
        InboundMessage.objects.filter(AnyOf("complaint_id", ids)).update(
            from_address="", subject="", text="", detail="", problem={}, raw_key=""
        )
        Escalation.objects.filter(AnyOf("complaint_id", ids)).exclude(note="").update(note="")
        PrivacyRequest.objects.filter(AnyOf("complaint_id", ids)).update(
            details="", email="", answer="", requester=None
        )
        Evidence.objects.filter(AnyOf("complaint_id", ids)).update(
            caption="", original_name="", original_key=None, derivative_key="", thumbnail_key=""
        )
        _record_anonymised(ids, now=now)
        delete_objects_on_commit(keys)
    return Anonymised(len(ids), len(keys))


def _record_anonymised(ids: list[int], *, now: datetime) -> None:
    """One ANONYMISED entry per case: on PostgreSQL one INSERT ... SELECT over the ids."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {ComplaintEvent._meta.db_table} "  # noqa: S608 - the model's own table name
                "(complaint_id, kind, actor_id, actor_role, created_at, public, body, payload) "
                "SELECT id, %s, NULL, %s, %s, true, '', '{}'::jsonb FROM unnest(%s::bigint[]) AS id",
                [EventKind.ANONYMISED, ActorRole.SYSTEM, now, ids],
            )
        return
    ComplaintEvent.objects.bulk_create(
        [
            ComplaintEvent(
                complaint_id=pk,
                kind=EventKind.ANONYMISED,
                actor=None,
                actor_role=ActorRole.SYSTEM,
                created_at=now,
                public=True,
                payload={},
            )
            for pk in ids
        ]
    )


def _stored_keys(ids: list[int]) -> list[str]:
    keys: list[str] = []
    for row in Evidence.objects.filter(AnyOf("complaint_id", ids)).values_list(
        "original_key", "derivative_key", "thumbnail_key"
    ):
        keys.extend(key for key in row if key)
    keys.extend(
        InboundMessage.objects.filter(AnyOf("complaint_id", ids))
        .exclude(raw_key="")
        .values_list("raw_key", flat=True)
    )
    return keys


def _redact_events(ids: list[int]) -> None:
    """Every text of these complaints' timelines blanked; of each payload, only the keys in
    KEPT_PAYLOAD_KEYS (ids, codes, times) stay. One statement on PostgreSQL."""
    events = ComplaintEvent.objects.filter(AnyOf("complaint_id", ids))
    if connection.vendor == "postgresql":
        table = ComplaintEvent._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET body = '', payload = COALESCE("  # noqa: S608 - the model's own table name
                "(SELECT jsonb_object_agg(key, value) FROM jsonb_each(payload) WHERE key = ANY(%s)), '{}')"
                " WHERE complaint_id = ANY(%s)",
                [sorted(KEPT_PAYLOAD_KEYS), ids],
            )
        return
    rows = list(events.values_list("pk", "payload"))
    events.update(body="")
    changed = [
        ComplaintEvent(
            pk=pk, payload={key: value for key, value in (payload or {}).items() if key in KEPT_PAYLOAD_KEYS}
        )
        for pk, payload in rows
    ]
    ComplaintEvent.objects.bulk_update(changed, ["payload"], batch_size=500)


def erase_now(complaint: Complaint, *, now: datetime) -> bool:
    """Erasure on request, or consent withdrawn: this case anonymised at once, unless a legal
    hold stands (the law's reason outweighs the request; its holder is told). True if erased."""
    return anonymise([complaint.pk], now=now).complaints == 1
