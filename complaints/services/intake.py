"""Intake: a complaint filed with its dossier, its earlier contacts and its evidence, or nothing;
or one opened by an e-mail to the intake address, marked incomplete until its complainant
completes it (`file_complaint_from_mail`, called by the inbound pipeline)."""

from __future__ import annotations

import io
import re
import unicodedata
import uuid
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from datetime import UTC, datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.template.defaultfilters import filesizeformat
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from common.prepared import Insert
from complaints.mailparse import Attachment, ParsedMail
from complaints.mailparse.headers import clean, clean_line
from complaints.models import (
    UNCLASSIFIED,
    ActorRole,
    Complaint,
    ContactAttempt,
    DossierPart,
    EventKind,
    InboundMessage,
    Incident,
    Language,
    Subcategory,
)
from complaints.records import notify_complainant, record_event
from complaints.refusals import FilesRefused
from complaints.search import provider_key, related_text, search_text
from escalation import clock, letters
from evidence.models import largest_size_limit
from evidence.services import (
    AttachResult,
    StoredObjects,
    attach_evidence,
    attach_files,
    discard_files_on_failure,
    display_name,
    keep_email,
)
from evidence.uploadhandler import SealedUpload, seal

# A complaint filed: its fifty-odd columns written by one INSERT compiled once per process.
_INSERT_COMPLAINT = Insert(Complaint)


def file_complaint(
    *,
    data: dict[str, Any],
    contacts: list[dict[str, Any]],
    files: list[tuple[SealedUpload | uuid.UUID, str]],
    owner: str,
    by: Any,
    now: datetime,
    submission_key: uuid.UUID | None = None,
) -> tuple[Complaint, AttachResult, bool]:
    """File a complaint with its contacts and its evidence in one transaction, or nothing;
    return it, what became of the files, and whether it was filed now (False: the
    `submission_key` was used before, and the complaint is the one it filed then).

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

        complaint, created = submit_complaint(
            data=data,
            contacts=contacts,
            by=by,
            now=now,
            submission_key=submission_key,
            on_filed=attach if files else None,
        )
    return complaint, result, created


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
    `acknowledgement` names the notice's template. With `data["incident"]` (an incident the
    filer said is their problem too, on the filing form) the complaint is linked to it, with a
    timeline entry, if it is still open; one resolved meanwhile is not linked.
    """
    subcategory: Subcategory = data["subcategory"]
    account = by if by is not None and getattr(by, "is_authenticated", False) else None
    # Under a regime with an acknowledgement in the complainant's language, the notice of
    # receipt carries it: the complaint is acknowledged as it is filed.
    acknowledgement_template = letters.acknowledgement_template(subcategory.category_id, data["language"])
    try:
        with transaction.atomic():
            complaint = Complaint(
                incident=_open_incident(data.get("incident")),
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
                # The privacy notice's version the complainant consented to (the intake page
                # records it); a complaint opened by e-mail has none until it is completed.
                consent_version=data.get("consent_version", ""),
                consent_given_at=now if data.get("consent_version") else None,
                acknowledged_at=now if acknowledgement_template is not None else None,
            )
            complaint.search_text = search_text(
                complaint.reference, complaint.subject, complaint.description, complaint.contact_email
            )
            complaint.provider_key = provider_key(complaint.provider_name)
            complaint.related_text = related_text(complaint.subject, complaint.description)
            clock.start_clock(complaint=complaint, now=now)
            _INSERT_COMPLAINT.save(complaint)
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
            letter = (
                letters.compose(complaint, acknowledgement_template) if acknowledgement_template else None
            )
            notice = notify_complainant(
                complaint,
                template=acknowledgement,
                now=now,
                with_tracking_link=True,
                **({"letter": letter.kind, "letter_body": letter.body} if letter else {}),
            )
            if letter is not None:
                record_event(
                    complaint=complaint,
                    by=None,
                    now=now,
                    **letters.letter_event(letter, message_id=notice.message_id),
                )
            if complaint.incident_id is not None:
                record_event(
                    complaint=complaint,
                    kind=EventKind.INCIDENT_LINKED,
                    by=by,
                    now=now,
                    actor_role=ActorRole.COMPLAINANT,
                    payload={"incident": complaint.incident.slug},
                )
            if on_filed is not None:
                on_filed(complaint)
    except IntegrityError:
        existing = Complaint.objects.filter(submission_key=submission_key).first() if submission_key else None
        if existing is None:
            raise
        return existing, False
    return complaint, True


def _open_incident(incident: Incident | None) -> Incident | None:
    """The incident a filer said is their problem too, if it is still open (the form read it from
    a per-process copy), locked so that a concurrent resolution tells the complaint; else None."""
    if incident is None:
        return None
    return Incident.objects.select_for_update().filter(pk=incident.pk).open().first()


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


# --- By e-mail: mail to the intake address that matches no case --------------------------


# What a complaint opened by e-mail lacks until its complainant completes it. When it
# happened is taken from the mail's date, to be confirmed on the same form.
INCOMPLETE_BY_EMAIL = (DossierPart.CATEGORY, DossierPart.PROVIDER, DossierPart.DESIRED_OUTCOME)
# A Date header before this is a broken clock, not when the problem happened.
EARLIEST_DATE = datetime(1970, 1, 2, tzinfo=UTC)


# Letters only Vietnamese writes among the languages the portal meets: ă â đ ê ô ơ ư and
# the precomposed vowels with tone marks (Latin Extended Additional, U+1EA0 to U+1EF9).
_VIETNAMESE = re.compile("[ăâđêôơưĂÂĐÊÔƠƯ\u1ea0-\u1ef9]")


def guess_language(*texts: str) -> str:
    """The language of a message: Vietnamese ("vi") when any text has a letter only
    Vietnamese uses, else English ("en").

    Pure. English rather than the portal's default: a message written without a single
    Vietnamese letter is far more likely English than Vietnamese typed without diacritics.
    """
    found = any(_VIETNAMESE.search(unicodedata.normalize("NFC", text)) for text in texts)
    return Language.VI if found else Language.EN


def unclassified_subcategory() -> Subcategory | None:
    """Where a complaint opened by e-mail waits to be classified (seeded); None if deleted."""
    return (
        Subcategory.objects.select_related("category")
        .filter(slug=UNCLASSIFIED, category__slug=UNCLASSIFIED)
        .first()
    )


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def file_complaint_from_mail(
    *,
    inbound: InboundMessage,
    mail: ParsedMail,
    subcategory: Subcategory,
    stored: StoredObjects,
    now: datetime,
) -> Complaint:
    """File a mail to the intake address as a new complaint, marked incomplete; return it.

    The sender is its contact (name from the From header, else the address's local part),
    its language guessed from the text (`guess_language`), its subject the mail's (else the
    text's first line), its description the new text. It waits under `subcategory` ("not
    yet classified", `unclassified_subcategory`) without a provider or a desired outcome
    (`INCOMPLETE_BY_EMAIL`), and happened when the mail was written (its Date, unless in
    the future; else at receipt). Its clock starts at receipt; the message is sealed as
    `.eml` evidence and its files go through the vault, both named on the SUBMITTED event;
    the acknowledgement (`complaint_received_by_email`) carries a tracking link to complete
    it. Runs in the caller's transaction (`receive_raw`'s, whose stored objects are
    `stored`): all of it, or nothing.
    """
    text = clean(mail.text).strip()[: Complaint._meta.get_field("description").max_length]
    subject = clean_line(mail.subject) or _first_line(text)
    language = guess_language(subject, text)
    written = mail.date if mail.date is not None and EARLIEST_DATE <= mail.date <= now else now
    data = {
        "subcategory": subcategory,
        "subject": subject[: Complaint._meta.get_field("subject").max_length],
        "description": text,
        "desired_outcome": "",
        "occurred_at": written,
        "contact_name": (clean_line(mail.from_name) or mail.from_address.partition("@")[0])[:150],
        "contact_email": mail.from_address,
        "language": language,
        "provider_name": "",
    }

    def described(complaint: Complaint) -> dict[str, Any]:
        return file_mail(
            inbound=inbound,
            mail=mail,
            complaint=complaint,
            by=None,
            role=ActorRole.COMPLAINANT,
            stored=stored,
            now=now,
            language=language,
        )

    complaint, _created = submit_complaint(
        data=data,
        contacts=[],
        by=None,
        now=now,
        missing=INCOMPLETE_BY_EMAIL,
        described=described,
        acknowledgement="complaint_received_by_email",
    )
    return complaint


def file_mail(
    *,
    inbound: InboundMessage,
    mail: ParsedMail,
    complaint: Complaint,
    by: Any,
    role: str,
    stored: StoredObjects,
    now: datetime,
    language: str,
) -> dict[str, Any]:
    """Put a received message on the complaint's file: the message sealed as `.eml`
    evidence (the object the pipeline stored), its attachments through the vault's checks.
    Returns what the timeline entry's payload says of them: the sealed e-mail, the files
    kept and those refused, with why in `language` (the complainant's)."""
    email = keep_email(
        complaint=complaint,
        key=inbound.raw_key,
        name=f"{complaint.reference}-{now:%Y%m%d-%H%M%S}.eml",
        size=inbound.size,
        sha256=inbound.sha256,
        by=by,
        now=now,
        actor_role=role,
    )
    payload: dict[str, Any] = {"via": "email", "inbound": inbound.pk, "email": str(email.public_id)}
    if mail.attachments:
        with translation.override(language):
            attached, refused = attach_mail_files(
                mail.attachments, complaint=complaint, by=by, role=role, stored=stored, now=now
            )
        payload["evidence"] = attached
        if refused:
            payload["refused"] = refused
    return payload


def attach_mail_files(
    attachments: tuple[Attachment, ...],
    *,
    complaint: Complaint,
    by: Any,
    role: str,
    stored: StoredObjects,
    now: datetime,
) -> tuple[list[str], list[dict[str, str]]]:
    """The message's files through the vault's own checks: (ids attached, [{name, why}] refused)."""
    uploads = []
    refused: list[dict[str, str]] = []
    with ExitStack() as files:
        for attachment in attachments:
            upload = files.enter_context(seal(io.BytesIO(attachment.data), attachment.name))
            if upload is None:  # over the vault's size cap for its type
                why = _("“%(name)s” is larger than %(limit)s.") % {
                    "name": display_name(attachment.name),
                    "limit": filesizeformat(largest_size_limit()),
                }
                refused.append({"name": attachment.name, "why": str(why)})
                continue
            uploads.append((upload, ""))
        result = attach_evidence(
            complaint=complaint,
            uploads=uploads,
            by=by,
            now=now,
            stored=stored,
            actor_role=role,
            announce=False,
        )
    refused += [{"name": refusal.name, "why": refusal.message} for refusal in result.refused]
    return [str(evidence.public_id) for evidence in result.attached], refused
