"""Intake: a complaint filed with its dossier, its earlier contacts and its evidence, or nothing."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction

from complaints.models import ActorRole, Complaint, ContactAttempt, EventKind, Subcategory
from complaints.records import notify_complainant, record_event
from complaints.refusals import FilesRefused
from complaints.search import search_text
from escalation import clock
from evidence.services import AttachResult, attach_files, discard_files_on_failure
from evidence.uploadhandler import SealedUpload


def file_complaint(
    *,
    data: dict[str, Any],
    contacts: list[dict[str, Any]],
    files: list[tuple[SealedUpload | uuid.UUID, str]],
    owner: str,
    by: Any,
    now: datetime,
    submission_key: uuid.UUID | None = None,
) -> tuple[Complaint, AttachResult]:
    """File a complaint with its contacts and its evidence in one transaction, or nothing.

    `files` are (file, caption) pairs: a file sent with the form, or the id of one the
    session `owner` staged when it was chosen (claimed here). If any file is refused (its
    content, size or pixels, the limits, a staged file that is not the session's or is
    gone), nothing is filed and FilesRefused says why, file by file. Stored objects are
    deleted again if the transaction fails; raises EvidenceStorageError when storage fails.
    """
    result = AttachResult()
    with discard_files_on_failure() as stored:

        def attach(complaint: Complaint) -> None:
            nonlocal result
            result = attach_files(
                complaint=complaint,
                items=files,
                owner=owner,
                by=by,
                now=now,
                stored=stored,
                actor_role=ActorRole.COMPLAINANT,
            )
            if result.refused:
                raise FilesRefused(result.refused)

        complaint, _created = submit_complaint(
            data=data,
            contacts=contacts,
            by=by,
            now=now,
            submission_key=submission_key,
            on_filed=attach if files else None,
        )
    return complaint, result


def submit_complaint(
    *,
    data: dict[str, Any],
    contacts: list[dict[str, Any]],
    by: Any,
    now: datetime,
    submission_key: uuid.UUID | None = None,
    on_filed: Callable[[Complaint], object] | None = None,
    missing: Sequence[str] = (),
    described: Callable[[Complaint], dict[str, Any]] | None = None,
    acknowledgement: str = "complaint_received",
) -> tuple[Complaint, bool]:
    """File a complaint with its contact history; return (complaint, created).

    A `submission_key` already used returns that complaint with created=False, so a
    reload or a double click files one complaint (the unique key decides, even when
    two submits race). Starts the SLA clock and queues the acknowledgement e-mail, with a
    tracking link, in the outbox. Writes one statement per table: the complaint, its
    contacts, one SUBMITTED event (listing the contacts) and the notice.
    `on_filed(complaint)` runs inside the same transaction (the intake page attaches the
    evidence there), so everything is filed, or nothing.

    With `missing` (DossierPart values) the complaint is filed incomplete, lacking those
    parts since `now` (one opened by e-mail); its clock starts all the same.
    `described(complaint)` runs before the SUBMITTED event is written and returns what
    the event's payload adds (the e-mail inbound intake sealed, its files).
    `acknowledgement` names the notice's template.
    """
    subcategory: Subcategory = data["subcategory"]
    account = by if by is not None and getattr(by, "is_authenticated", False) else None
    try:
        with transaction.atomic():
            complaint = Complaint(
                submission_key=submission_key,
                complainant=account,
                category=subcategory.category,
                subcategory=subcategory,
                subject=data["subject"],
                description=data["description"],
                desired_outcome=data["desired_outcome"],
                occurred_at=data["occurred_at"],
                first_reported_at=data.get("first_reported_at"),
                contact_name=data["contact_name"],
                contact_email=data["contact_email"],
                contact_phone=data.get("contact_phone", ""),
                language=data["language"],
                provider_name=data["provider_name"],
                provider_username=data.get("provider_username", ""),
                provider_email=data.get("provider_email", ""),
                provider_account_id=data.get("provider_account_id", ""),
                steps_taken=data.get("steps_taken", ""),
                complexity=subcategory.default_complexity,
                submitted_at=now,
                status_changed_at=now,
                incomplete_since=now if missing else None,
                missing_parts=list(missing),
            )
            complaint.search_text = search_text(
                complaint.reference, complaint.subject, complaint.description, complaint.contact_email
            )
            clock.start_clock(complaint=complaint, now=now)
            complaint.save(force_insert=True)
            saved_contacts = ContactAttempt.objects.bulk_create(
                [contact_attempt(complaint=complaint, data=contact, now=now) for contact in contacts]
            )
            payload: dict[str, Any] = {"contacts": [contact.pk for contact in saved_contacts]}
            if described is not None:
                payload.update(described(complaint))
            # One event for the filing: the contacts given with it are part of it.
            record_event(
                complaint=complaint,
                kind=EventKind.SUBMITTED,
                by=by,
                now=now,
                actor_role=ActorRole.COMPLAINANT,
                payload=payload,
            )
            notify_complainant(complaint, template=acknowledgement, now=now, with_tracking_link=True)
            if on_filed is not None:
                on_filed(complaint)
    except IntegrityError:
        existing = Complaint.objects.filter(submission_key=submission_key).first() if submission_key else None
        if existing is None:
            raise
        return existing, False
    return complaint, True


def contact_attempt(*, complaint: Complaint, data: dict[str, Any], now: datetime) -> ContactAttempt:
    """An unsaved earlier contact with the provider, from a contact form's cleaned data."""
    return ContactAttempt(
        complaint=complaint,
        channel=data["channel"],
        contacted_at=data["contacted_at"],
        with_whom=data.get("with_whom", ""),
        their_reference=data.get("their_reference", ""),
        summary=data["summary"],
        created_at=now,
    )
