"""Evidence workflows: attach (seal, derive, store), verify, reap orphans, export the dossier.

Stored objects and database rows live or die together: objects are written first, rows
in the same transaction as the caller's change, and every object written is deleted
again if that transaction does not commit. A crash between the two leaves only objects
without rows, which `reap_orphans` removes after a day.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import re
import tempfile
import unicodedata
import uuid
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import IO, Any

from django.conf import settings
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q, Sum
from django.template.defaultfilters import filesizeformat
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageOps, UnidentifiedImageError

from complaints.models import Complaint, EventKind
from complaints.records import actor_role_of, record_event
from complaints.refusals import EvidenceRejected
from evidence.models import ACCEPTED_TYPES, Evidence, Kind, size_limit_for
from evidence.uploadhandler import SealedUpload

logger = logging.getLogger(__name__)

PREFIX = "evidence"
THUMBNAIL_SIZE = (320, 320)
# Bidirectional overrides and isolates would let "gpj.exe" read as "exe.jpg".
_BIDI_CONTROLS = dict.fromkeys(map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f"))
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f]")


class EvidenceStorageError(Exception):
    """The storage failed; nothing of the request was kept."""


@dataclass
class StoredObjects:
    """Keys written to storage during one transaction, to delete if it does not commit."""

    keys: list[str] = field(default_factory=list)

    def save(self, key: str, content: File) -> str:
        try:
            name = default_storage.save(key, content)
        except Exception as exc:
            raise EvidenceStorageError(key) from exc
        self.keys.append(name)
        return name

    def delete_all(self) -> None:
        for key in self.keys:
            try:
                default_storage.delete(key)
            except Exception:
                logger.warning("could not delete stored object %s; the reaper will", key, exc_info=True)
        self.keys.clear()


@contextmanager
def discard_files_on_failure() -> Iterator[StoredObjects]:
    """Collect stored keys; delete them if the block (and the transaction in it) fails."""
    stored = StoredObjects()
    try:
        yield stored
    except BaseException:
        stored.delete_all()
        raise


@contextmanager
def atomic_with_files() -> Iterator[StoredObjects]:
    """A transaction whose stored objects are deleted again unless it commits."""
    with discard_files_on_failure() as stored, transaction.atomic():
        yield stored


def display_name(name: str) -> str:
    """The client's file name as safe display text: no folders, controls or bidi tricks."""
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE_NAME.sub("", name.translate(_BIDI_CONTROLS)).strip().lstrip(".")
    if len(name) > 200:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 200 - len(ext) - 1] + dot + ext) if dot and len(ext) <= 10 else name[:200]
    return name or "file"


def extension_of(name: str) -> str:
    _, dot, ext = name.rpartition(".")
    return f".{ext.lower()}" if dot else ""


@dataclass(frozen=True)
class Refusal:
    name: str
    message: str


def check_upload(upload: SealedUpload) -> tuple[str, str]:
    """Decide an upload's (kind, served content type) from its bytes and its extension.

    Raises EvidenceRejected when libmagic's verdict is not on the allow-list or does not
    match the file's extension, or when the file is over its kind's size cap.
    """
    name = display_name(upload.name)
    if upload.size == 0:
        raise EvidenceRejected(_("“%(name)s” is empty."), params={"name": name}, code="empty")
    accepted = ACCEPTED_TYPES.get(upload.detected_type)
    if accepted is None:
        raise EvidenceRejected(
            _("“%(name)s” is not a kind of file we accept (its content is %(type)s)."),
            params={"name": name, "type": upload.detected_type},
            code="type",
        )
    if extension_of(name) not in accepted.extensions:
        raise EvidenceRejected(
            _("“%(name)s”: the file's content does not match its extension."),
            params={"name": name},
            code="mismatch",
        )
    if upload.size > size_limit_for(accepted.kind):
        raise EvidenceRejected(
            _("“%(name)s” is larger than %(limit)s."),
            params={"name": name, "limit": filesizeformat(size_limit_for(accepted.kind))},
            code="too_large",
        )
    kind = Kind.EMAIL if extension_of(name) == ".eml" else accepted.kind
    content_type = "message/rfc822" if kind == Kind.EMAIL else accepted.content_type
    return kind, content_type


@dataclass(frozen=True)
class Derived:
    image: bytes
    content_type: str
    extension: str
    thumbnail: bytes
    width: int
    height: int


def derive_image(source: IO[bytes], name: str) -> Derived:
    """Re-encode an image: orientation applied, every metadata block (EXIF, GPS) dropped.

    The pixel count is checked from the header before anything is decoded, so
    decompression bombs and pixel floods are refused cheaply. Raises EvidenceRejected.
    """
    try:
        with Image.open(source) as image:
            width, height = image.size
            if width * height > settings.EVIDENCE_MAX_IMAGE_PIXELS:
                raise EvidenceRejected(
                    _("“%(name)s” has too many pixels to be a photo or screenshot."),
                    params={"name": name},
                    code="pixels",
                )
            image.seek(0)
            upright = ImageOps.exif_transpose(image)
            has_alpha = upright.mode in ("RGBA", "LA", "PA") or "transparency" in upright.info
            clean = upright.convert("RGBA" if has_alpha else "RGB")
    except EvidenceRejected:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise EvidenceRejected(
            _("“%(name)s” could not be read as an image."), params={"name": name}, code="unreadable"
        ) from exc
    fmt, content_type, ext = ("PNG", "image/png", ".png") if has_alpha else ("JPEG", "image/jpeg", ".jpg")
    out = io.BytesIO()
    clean.save(out, fmt, quality=88, optimize=True)  # a fresh file: no EXIF, no ICC, nothing appended
    thumb = clean.copy()
    thumb.thumbnail(THUMBNAIL_SIZE)
    thumb_out = io.BytesIO()
    thumb.save(thumb_out, fmt, quality=80)
    return Derived(out.getvalue(), content_type, ext, thumb_out.getvalue(), clean.width, clean.height)


def _key(complaint: Complaint, extension: str, variant: str = "") -> str:
    suffix = f"-{variant}" if variant else ""
    return f"{PREFIX}/{complaint.reference}/{uuid.uuid4().hex}{suffix}{extension}"


@dataclass
class AttachResult:
    attached: list[Evidence] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)


def attach_evidence(
    *,
    complaint: Complaint,
    uploads: list[tuple[SealedUpload, str]],
    by: Any,
    now: datetime,
    stored: StoredObjects | None = None,
    actor_role: str | None = None,
) -> AttachResult:
    """Seal and store each (upload, caption); return what was attached and what was refused.

    Refusals (type, size, count, total, unreadable image) are per file and never stop
    the others. Locks the complaint, so the per-complaint limits hold under concurrent
    uploads. Within `atomic_with_files()` the stored objects share the caller's fate;
    alone, it opens one. Raises EvidenceStorageError if storage fails (nothing is kept).
    """
    if stored is None:
        with atomic_with_files() as own:
            return attach_evidence(
                complaint=complaint, uploads=uploads, by=by, now=now, stored=own, actor_role=actor_role
            )
    result = AttachResult()
    complaint = Complaint.objects.select_for_update().get(pk=complaint.pk)
    existing = complaint.evidence.aggregate(total=Sum("size"))["total"] or 0
    count = complaint.evidence.count()
    role = actor_role or actor_role_of(by)
    for upload, caption in uploads:
        name = display_name(upload.name)
        try:
            kind, content_type = check_upload(upload)
            if count >= settings.EVIDENCE_MAX_FILES:
                raise EvidenceRejected(
                    _("“%(name)s” was not added: a complaint can have at most %(limit)s files."),
                    params={"name": name, "limit": settings.EVIDENCE_MAX_FILES},
                    code="too_many",
                )
            if existing + upload.size > settings.EVIDENCE_MAX_TOTAL_BYTES:
                raise EvidenceRejected(
                    _("“%(name)s” was not added: the files of a complaint may total at most %(limit)s."),
                    params={"name": name, "limit": filesizeformat(settings.EVIDENCE_MAX_TOTAL_BYTES)},
                    code="total",
                )
            derived = None
            if kind == Kind.IMAGE and content_type not in ("image/heic", "image/heif"):
                upload.seek(0)
                derived = derive_image(upload, name)
        except EvidenceRejected as exc:
            result.refused.append(Refusal(name, " ".join(exc.messages)))
            continue
        upload.seek(0)
        evidence = Evidence(
            complaint=complaint,
            uploaded_by=by if getattr(by, "is_authenticated", False) else None,
            uploader_role=role,
            caption=caption[:300],
            original_name=name,
            kind=kind,
            content_type=content_type,
            size=upload.size,
            sha256=upload.sha256,
            original_key=stored.save(_key(complaint, extension_of(name)), File(upload)),
            created_at=now,
        )
        if derived is not None:
            evidence.derivative_key = stored.save(
                _key(complaint, derived.extension, "view"), ContentFile(derived.image)
            )
            evidence.derivative_content_type = derived.content_type
            evidence.thumbnail_key = stored.save(
                _key(complaint, derived.extension, "thumb"), ContentFile(derived.thumbnail)
            )
            evidence.width, evidence.height = derived.width, derived.height
        result.attached.append(evidence)
        count += 1
        existing += upload.size
    if result.attached:
        Evidence.objects.bulk_create(result.attached)
        record_event(
            complaint=complaint,
            kind=EventKind.EVIDENCE_ADDED,
            by=by,
            now=now,
            actor_role=role,
            payload={"evidence": [str(e.public_id) for e in result.attached]},
        )
        Complaint.objects.filter(pk=complaint.pk).update(version=complaint.version + 1)
    return result


def hash_stored(key: str) -> str:
    digest = hashlib.sha256()
    with default_storage.open(key, "rb") as handle:
        for chunk in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class Mismatch:
    evidence: Evidence
    problem: str  # "missing" or the SHA-256 found


def verify_evidence(*, batch_size: int = 200) -> Iterator[tuple[Evidence, Mismatch | None]]:
    """Re-hash every stored original; yield (evidence, None) when sealed, else a Mismatch."""
    for evidence in Evidence.objects.order_by("pk").iterator(chunk_size=batch_size):
        try:
            found = hash_stored(evidence.original_key)
        except (FileNotFoundError, OSError):
            yield evidence, Mismatch(evidence, "missing")
            continue
        yield evidence, (None if found == evidence.sha256 else Mismatch(evidence, found))


def _walk(prefix: str) -> Iterator[str]:
    folders, files = default_storage.listdir(prefix)
    for name in files:
        yield f"{prefix}/{name}"
    for folder in folders:
        yield from _walk(f"{prefix}/{folder}")


def reap_orphans(
    *, now: datetime, older_than: timedelta = timedelta(days=1), dry_run: bool = False
) -> list[str]:
    """Delete stored evidence objects that no row references and that are older than a day.

    Younger objects may belong to a transaction still in flight, so they are left alone.
    Returns the keys deleted (or that would be, with dry_run).
    """
    try:
        keys = list(_walk(PREFIX))
    except FileNotFoundError:
        return []
    reaped = []
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        known: set[str] = set()
        rows = Evidence.objects.filter(
            Q(original_key__in=chunk) | Q(derivative_key__in=chunk) | Q(thumbnail_key__in=chunk)
        ).values_list("original_key", "derivative_key", "thumbnail_key")
        for row in rows:
            known.update(row)
        for key in chunk:
            if key in known or default_storage.get_modified_time(key) > now - older_than:
                continue
            if not dry_run:
                default_storage.delete(key)
            reaped.append(key)
    return reaped


def write_dossier(*, complaint: Complaint, language: str) -> IO[bytes]:
    """A ZIP of the complaint for a regulator: originals, dossier.html and manifest.json.

    Returns an open temporary file positioned at the start (spooled to disk past 10 MB).
    """
    evidence = list(complaint.evidence.all())
    archive = tempfile.SpooledTemporaryFile(max_size=10 * 1024 * 1024)  # noqa: SIM115 - returned open
    manifest: dict[str, Any] = {
        "reference": complaint.reference,
        "submitted_at": complaint.submitted_at.isoformat(),
        "files": [],
    }
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for number, item in enumerate(evidence, start=1):
            arcname = f"evidence/{number:02d}-{item.original_name}"
            with default_storage.open(item.original_key, "rb") as source, zf.open(arcname, "w") as target:
                for chunk in iter(lambda: source.read(1024 * 1024), b""):
                    target.write(chunk)
            manifest["files"].append(
                {
                    "path": arcname,
                    "original_name": item.original_name,
                    "caption": item.caption,
                    "kind": item.kind,
                    "content_type": item.content_type,
                    "size": item.size,
                    "sha256": item.sha256,
                    "uploaded_at": item.created_at.isoformat(),
                }
            )
        with translation.override(language):
            html = render_to_string(
                "evidence/dossier.html",
                {
                    "complaint": complaint,
                    "events": complaint.events.filter(public=True).select_related("actor"),
                    "contacts": complaint.contacts.all(),
                    "evidence": evidence,
                    "is_owner": False,
                },
            )
        zf.writestr("dossier.html", html)
        zf.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2))
    archive.seek(0, os.SEEK_SET)
    return archive
