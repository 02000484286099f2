"""A person's own data: everything the portal holds about them across their complaints, as
a ZIP (a page to read, JSON for machines, the original files with their SHA-256); and the
correction of their contact details.

Whose complaints: those of their account, and those this browser holds guest access to
(it filed them or opened their tracking link). Never every complaint that names the same
e-mail address: anyone can type an address into the form.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from datetime import datetime
from typing import IO, Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from complaints.accesslog import handled_by_roles
from complaints.models import (
    AccessKind,
    AccessRole,
    ActorRole,
    Complaint,
    ComplaintEvent,
    EventKind,
    InboundMessage,
    Notification,
)
from complaints.personal import EXPORTED
from complaints.records import record_event
from complaints.refusals import ActionRefused
from complaints.replies import revoke_reply_tokens
from complaints.search import search_text
from complaints.services.lifecycle import save
from evidence.models import Evidence

FORMAT_VERSION = 1


def _value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _fields(row: Any, label: str, *extra: str) -> dict[str, Any]:
    """The row's exported personal fields (EXPORTED) and `extra` ones, as JSON values."""
    names = sorted(EXPORTED[label] - {"original_key"}) + list(extra)
    return {name: _value(getattr(row, name)) for name in names}


def person_data(complaints: QuerySet[Complaint], *, user: Any) -> dict[str, Any]:
    """Everything about the person, as the export's JSON holds it."""
    data: dict[str, Any] = {"format": FORMAT_VERSION, "portal": settings.SITE_URL, "account": None}
    if user is not None:
        data["account"] = {
            "username": user.get_username(),
            "first_name": user.first_name,
            "last_name": user.last_name,
            "email": user.email,
            "preferred_language": user.preferred_language,
            "date_joined": _value(user.date_joined),
            "last_login": _value(user.last_login),
        }
    data["complaints"] = [complaint_data(complaint) for complaint in complaints]
    return data


def complaint_data(complaint: Complaint) -> dict[str, Any]:
    evidence = list(complaint.evidence.filter(original_key__isnull=False).order_by("created_at", "pk"))
    return {
        "reference": complaint.reference,
        **_fields(
            complaint,
            "complaints.Complaint",
            "provider_name",
            "language",
            "occurred_at",
            "first_reported_at",
            "status",
            "submitted_at",
            "status_changed_at",
            "resolved_at",
            "closed_at",
            "first_response_due_at",
            "first_responded_at",
            "resolution_due_at",
            "rating",
            "consent_version",
            "consent_given_at",
        ),
        "category": str(complaint.category),
        "subcategory": str(complaint.subcategory),
        "contacts": [
            _fields(contact, "complaints.ContactAttempt", "channel", "contacted_at")
            for contact in complaint.contacts.order_by("contacted_at", "pk")
        ],
        "timeline": [
            {
                **_fields(event, "complaints.ComplaintEvent", "kind", "actor_role", "created_at"),
                "what": str(event.get_kind_display()),
            }
            for event in ComplaintEvent.objects.filter(complaint=complaint, public=True).order_by(
                "created_at", "pk"
            )
        ],
        "evidence": [
            {
                **_fields(item, "evidence.Evidence", "kind", "content_type", "size", "sha256", "created_at"),
                "file": _file_path(complaint, number, item),
            }
            for number, item in enumerate(evidence, start=1)
        ],
        "notices_sent": [
            _fields(notice, "complaints.Notification", "template", "status", "created_at", "sent_at")
            for notice in Notification.objects.filter(complaint=complaint, recipient__isnull=True).order_by(
                "pk"
            )
        ],
        "requests_about_data": [
            _fields(item, "complaints.PrivacyRequest", "kind", "status", "created_at", "due_at", "handled_at")
            for item in complaint.privacy_requests.order_by("created_at", "pk")
        ],
        # Who handled it, by role (the access log): never names or addresses.
        "handled_by": [
            {
                "role": item.role,
                "what": item.kind,
                "at": _value(item.at),
                "role_label": str(AccessRole(item.role).label),
                "what_label": str(AccessKind(item.kind).label),
            }
            for item in handled_by_roles(complaint)
        ],
        "emails_received": [
            _fields(message, "complaints.InboundMessage", "received_at", "status")
            for message in InboundMessage.objects.filter(complaint=complaint).order_by("received_at", "pk")
        ],
    }


def _file_path(complaint: Complaint, number: int, item: Evidence) -> str:
    return f"{complaint.reference}/{number:02d}-{item.original_name}"


def write_export(complaints: QuerySet[Complaint], *, user: Any, language: str, now: datetime) -> IO[bytes]:
    """The ZIP: data.json, index.html (readable, in `language`) and each complaint's original
    files under its reference. An open temporary file at its start (on disk past 10 MB)."""
    complaints = complaints.select_related("category", "subcategory").order_by("submitted_at", "pk")
    data = person_data(complaints, user=user)
    data["generated_at"] = now.isoformat()
    archive = tempfile.SpooledTemporaryFile(max_size=10 * 1024 * 1024)  # noqa: SIM115 - returned open
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for complaint in complaints:
            items = complaint.evidence.filter(original_key__isnull=False).order_by("created_at", "pk")
            for number, item in enumerate(items, start=1):
                with (
                    default_storage.open(item.original_key, "rb") as source,
                    zf.open(_file_path(complaint, number, item), "w") as target,
                ):
                    for chunk in iter(lambda: source.read(1024 * 1024), b""):
                        target.write(chunk)
        zf.writestr("data.json", json.dumps(data, ensure_ascii=False, indent=2))
        with translation.override(language):
            zf.writestr("index.html", render_to_string("complaints/export.html", {"data": data, "now": now}))
    archive.seek(0, os.SEEK_SET)
    return archive


CONTACT_FIELDS = ("contact_name", "contact_email", "contact_phone", "language")


def correct_contact(*, complaint: Complaint, by: Any, now: datetime, **values: Any) -> Complaint:
    """The complainant corrects their contact details on one complaint; the timeline records
    which ones changed (not the values). A new e-mail address revokes the reply addresses
    issued to the old one. Raises ActionRefused when nothing changed or the data was erased."""
    with transaction.atomic():
        complaint = Complaint.objects.locked(complaint)
        if complaint.anonymised_at is not None:
            raise ActionRefused(_("This complaint's personal data was erased."), code="anonymised")
        changed = [
            name for name in CONTACT_FIELDS if name in values and values[name] != getattr(complaint, name)
        ]
        if not changed:
            raise ActionRefused(_("Nothing was changed."), code="unchanged")
        if "contact_email" in changed:
            revoke_reply_tokens(complaint_id=complaint.pk, email=complaint.contact_email, now=now)
        for name in changed:
            setattr(complaint, name, values[name])
        complaint.search_text = search_text(
            complaint.reference, complaint.subject, complaint.description, complaint.contact_email
        )
        save(complaint, [*changed, "search_text"])
        record_event(
            complaint=complaint,
            kind=EventKind.CONTACT_CORRECTED,
            by=by,
            now=now,
            actor_role=ActorRole.COMPLAINANT,
            payload={"fields": changed},
        )
    return complaint
