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
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import IO, Any

from django.conf import settings
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import Count, Q, Sum
from django.template.defaultfilters import filesizeformat
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageOps, UnidentifiedImageError

from complaints.models import INBOUND_PREFIX, Complaint, EventKind, InboundMessage
from complaints.records import actor_role_of, record_event
from complaints.refusals import EvidenceRejected
from evidence.models import ACCEPTED_TYPES, Evidence, Kind, StagedUpload, size_limit_for
from evidence.uploadhandler import SealedUpload, seal

logger = logging.getLogger(__name__)

PREFIX = "evidence"
STAGING_PREFIX = "staging"
# Files chosen on a form that was never sent are removed after this long.
STAGING_LIFETIME = timedelta(days=1)
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
    index: int = -1  # the position of the refused file among those sent together


# What a refused file is, in words a complainant knows: never its MIME type.
_PROGRAM = _("a program")
_SCRIPT = _("a script (a small program)")
_ARCHIVE = _("a compressed archive, such as a ZIP file")
_OFFICE = _("an office document, such as Word or Excel")
WHAT_IT_IS = {
    "application/vnd.microsoft.portable-executable": _PROGRAM,
    "application/x-dosexec": _PROGRAM,
    "application/x-msdownload": _PROGRAM,
    "application/x-executable": _PROGRAM,
    "application/x-pie-executable": _PROGRAM,
    "application/x-sharedlib": _PROGRAM,
    "application/x-mach-binary": _PROGRAM,
    "application/x-msi": _PROGRAM,
    "application/vnd.android.package-archive": _PROGRAM,
    "text/x-shellscript": _SCRIPT,
    "text/x-python": _SCRIPT,
    "text/x-perl": _SCRIPT,
    "text/x-php": _SCRIPT,
    "text/javascript": _SCRIPT,
    "application/javascript": _SCRIPT,
    "text/x-msdos-batch": _SCRIPT,
    "text/html": _("a web page"),
    "text/xml": _("a data file (XML)"),
    "image/svg+xml": _("an SVG drawing"),
    "application/zip": _ARCHIVE,
    "application/x-rar": _ARCHIVE,
    "application/x-7z-compressed": _ARCHIVE,
    "application/gzip": _ARCHIVE,
    "application/x-tar": _ARCHIVE,
    "application/x-bzip2": _ARCHIVE,
    "application/x-xz": _ARCHIVE,
    "application/msword": _OFFICE,
    "application/vnd.ms-excel": _OFFICE,
    "application/vnd.ms-powerpoint": _OFFICE,
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": _OFFICE,
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": _OFFICE,
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": _OFFICE,
    "application/vnd.oasis.opendocument.text": _OFFICE,
    "application/vnd.oasis.opendocument.spreadsheet": _OFFICE,
}
# What a file's extension promises, for "it is a program, not a picture".
WHAT_IT_CLAIMS = {
    Kind.IMAGE: _("a picture"),
    Kind.VIDEO: _("a video"),
    Kind.AUDIO: _("a sound recording"),
    Kind.PDF: _("a PDF document"),
    Kind.TEXT: _("a text file"),
    Kind.EMAIL: _("an exported e-mail"),
}


def _claimed_kind(name: str) -> str | None:
    ext = extension_of(name)
    if ext == ".eml":
        return Kind.EMAIL
    return next((accepted.kind for accepted in ACCEPTED_TYPES.values() if ext in accepted.extensions), None)


def _not_accepted(name: str, detected_type: str) -> EvidenceRejected:
    """The refusal of a file whose content is no kind we accept, in plain words."""
    what = WHAT_IT_IS.get(detected_type)
    claimed = _claimed_kind(name)
    params = {"name": name, "what": what, "claimed": WHAT_IT_CLAIMS.get(claimed) if claimed else None}
    if what is not None and claimed is not None:
        message = _("“%(name)s” is %(what)s, not %(claimed)s.")
    elif what is not None:
        message = _(
            "“%(name)s” is %(what)s. We accept pictures, videos, sound recordings, PDFs, text files "
            "and exported e-mails."
        )
    elif claimed is not None:
        message = _("“%(name)s” is not %(claimed)s, nor any other kind of file we accept.")
    else:
        message = _(
            "“%(name)s” is not a kind of file we accept. We accept pictures, videos, sound "
            "recordings, PDFs, text files and exported e-mails."
        )
    return EvidenceRejected(message, params=params, code="type")


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
        raise _not_accepted(name, upload.detected_type)
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


def check_file(upload: SealedUpload) -> tuple[str, str, Derived | None]:
    """Every check of one file by itself: its type (bytes and extension) and size
    (`check_upload`), and for an image its pixels and readability (`derive_image`, whose
    re-encoded copy is returned). Raises EvidenceRejected."""
    kind, content_type = check_upload(upload)
    derived = None
    if kind == Kind.IMAGE and content_type not in ("image/heic", "image/heif"):
        upload.seek(0)
        derived = derive_image(upload, display_name(upload.name))
    return kind, content_type, derived


def check_limits(name: str, size: int, *, count: int, total: int) -> None:
    """The files of one complaint (or staged for one): at most EVIDENCE_MAX_FILES of them,
    EVIDENCE_MAX_TOTAL_BYTES together, given `count` files totalling `total` already there."""
    if count >= settings.EVIDENCE_MAX_FILES:
        raise EvidenceRejected(
            _("“%(name)s” was not added: a complaint can have at most %(limit)s files."),
            params={"name": name, "limit": settings.EVIDENCE_MAX_FILES},
            code="too_many",
        )
    if total + size > settings.EVIDENCE_MAX_TOTAL_BYTES:
        raise EvidenceRejected(
            _("“%(name)s” was not added: the files of a complaint may total at most %(limit)s."),
            params={"name": name, "limit": filesizeformat(settings.EVIDENCE_MAX_TOTAL_BYTES)},
            code="total",
        )


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
    announce: bool = True,
) -> AttachResult:
    """Seal and store each (upload, caption); return what was attached and what was refused.

    Refusals (type, size, count, total, unreadable image) are per file and never stop
    the others. Locks the complaint, so the per-complaint limits hold under concurrent
    uploads. Within `atomic_with_files()` the stored objects share the caller's fate;
    alone, it opens one. Raises EvidenceStorageError if storage fails (nothing is kept).
    With `announce=False` the caller's own timeline entry names the files (a reply by
    e-mail), so no "evidence added" entry is written.
    """
    if stored is None:
        with atomic_with_files() as own:
            return attach_evidence(
                complaint=complaint,
                uploads=uploads,
                by=by,
                now=now,
                stored=own,
                actor_role=actor_role,
                announce=announce,
            )
    result = AttachResult()
    complaint = Complaint.objects.select_for_update().get(pk=complaint.pk)
    held = complaint.evidence.aggregate(total=Sum("size"), count=Count("pk"))
    existing, count = held["total"] or 0, held["count"]
    role = actor_role or actor_role_of(by)
    for index, (upload, caption) in enumerate(uploads):
        name = display_name(upload.name)
        try:
            kind, content_type, derived = check_file(upload)
            check_limits(name, upload.size, count=count, total=existing)
        except EvidenceRejected as exc:
            result.refused.append(Refusal(name, " ".join(exc.messages), index))
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
    if result.attached and announce:
        record_event(
            complaint=complaint,
            kind=EventKind.EVIDENCE_ADDED,
            by=by,
            now=now,
            actor_role=role,
            payload={"evidence": [str(e.public_id) for e in result.attached]},
        )
    if result.attached:
        Complaint.objects.filter(pk=complaint.pk).update(version=complaint.version + 1)
    return result


def keep_email(
    *,
    complaint: Complaint,
    key: str,
    name: str,
    size: int,
    sha256: str,
    by: Any,
    now: datetime,
    actor_role: str,
) -> Evidence:
    """Seal an e-mail the portal received about the case as evidence: the object already
    stored under `key` (the inbound pipeline's copy of the raw message, hashed on arrival)
    becomes the original of an `.eml` evidence row. The portal's own record of what was
    said, not an upload: it is not counted against the complaint's file limits."""
    return Evidence.objects.create(
        complaint=complaint,
        uploaded_by=by if getattr(by, "is_authenticated", False) else None,
        uploader_role=actor_role,
        original_name=display_name(name),
        kind=Kind.EMAIL,
        content_type="message/rfc822",
        size=size,
        sha256=sha256,
        original_key=key,
        created_at=now,
    )


# --- Staging: files checked the moment they are chosen -----------------------------------


def _lock_staging(owner: str) -> None:
    """Serialise one session's staging (its count and total are read, then a row is added).

    PostgreSQL: a transaction-scoped advisory lock on the owner. SQLite writes one
    transaction at a time anyway.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"staging:{owner}"])


def stage_upload(*, owner: str, upload: SealedUpload, now: datetime) -> StagedUpload:
    """Check a file just chosen and keep it for the session `owner` until a form claims it.

    The same checks as attaching (`check_file`), and the per-complaint limits applied to
    what this session has staged. Raises EvidenceRejected (nothing is kept) or
    EvidenceStorageError.
    """
    name = display_name(upload.name)
    kind, _content_type, _derived = check_file(upload)
    with atomic_with_files() as stored:
        _lock_staging(owner)
        mine = StagedUpload.objects.filter(owner=owner).aggregate(count=Count("pk"), total=Sum("size"))
        check_limits(name, upload.size, count=mine["count"], total=mine["total"] or 0)
        upload.seek(0)
        key = stored.save(f"{STAGING_PREFIX}/{uuid.uuid4().hex}{extension_of(name)}", File(upload))
        return StagedUpload.objects.create(
            owner=owner,
            original_name=name,
            kind=kind,
            size=upload.size,
            sha256=upload.sha256,
            key=key,
            created_at=now,
        )


def staged_uploads(*, owner: str, ids: list[uuid.UUID]) -> dict[uuid.UUID, StagedUpload]:
    """The session's staged files among `ids`, by id (another session's are not there)."""
    if not owner or not ids:
        return {}
    return {
        staged.public_id: staged for staged in StagedUpload.objects.filter(owner=owner, public_id__in=ids)
    }


def delete_objects_on_commit(keys: list[str]) -> None:
    """Delete the stored objects `keys` once the transaction commits; one that cannot be
    deleted is logged and left to the reaper (its row no longer names it)."""

    def delete() -> None:
        for key in keys:
            try:
                default_storage.delete(key)
            except Exception:
                logger.warning("could not delete stored object %s; the reaper will", key, exc_info=True)

    transaction.on_commit(delete)


def discard_staged(*, owner: str, public_id: uuid.UUID) -> bool:
    """Remove one of the session's staged files; False when it has none by that id."""
    with transaction.atomic():
        staged = StagedUpload.objects.select_for_update().filter(owner=owner, public_id=public_id).first()
        if staged is None:
            return False
        staged.delete()
        delete_objects_on_commit([staged.key])
    return True


GONE = _("“%(name)s” is no longer available (chosen files are kept for a day). Please choose it again.")
GONE_UNNAMED = _(
    "A file you chose is no longer available (chosen files are kept for a day). Please choose it again."
)


def _claim(owner: str, public_id: uuid.UUID, exits: ExitStack) -> SealedUpload | None:
    """Lock one of the session's staged files, copy it to a local sealed upload and delete
    its row (the object goes once the caller's transaction commits); None if not theirs
    or gone."""
    staged = StagedUpload.objects.select_for_update().filter(owner=owner, public_id=public_id).first()
    if staged is None:
        return None
    try:
        with default_storage.open(staged.key, "rb") as source:
            upload = exits.enter_context(seal(source, staged.original_name))
    except FileNotFoundError:
        return None
    if upload is None or upload.sha256 != staged.sha256:
        logger.warning("staged object %s changed since it was checked; refused", staged.key)
        return None
    staged.delete()
    delete_objects_on_commit([staged.key])
    return upload


def attach_files(
    *,
    complaint: Complaint,
    items: list[tuple[SealedUpload | uuid.UUID, str]],
    owner: str,
    by: Any,
    now: datetime,
    stored: StoredObjects | None = None,
    actor_role: str | None = None,
) -> AttachResult:
    """Attach each (file, caption): a file sent with the form, or the id of a file the
    session `owner` staged when it was chosen (claimed: it leaves the staging area in the
    same transaction). A staged id that is not the session's, or gone, is a refusal like
    any other; each refusal's index is the item's position. See `attach_evidence`.
    """
    if stored is None:
        with atomic_with_files() as own:
            return attach_files(
                complaint=complaint,
                items=items,
                owner=owner,
                by=by,
                now=now,
                stored=own,
                actor_role=actor_role,
            )
    with ExitStack() as exits:
        uploads: list[tuple[SealedUpload, str]] = []
        positions: list[int] = []
        gone: list[Refusal] = []
        wanted = [item for item, _caption in items if isinstance(item, uuid.UUID)]
        names = {key: staged.original_name for key, staged in staged_uploads(owner=owner, ids=wanted).items()}
        for index, (item, caption) in enumerate(items):
            if isinstance(item, uuid.UUID):
                upload = _claim(owner, item, exits)
                if upload is None:
                    name = names.get(item, "")
                    message = GONE % {"name": name} if name else GONE_UNNAMED
                    gone.append(Refusal(name, str(message), index))
                    continue
            else:
                upload = item
            uploads.append((upload, caption))
            positions.append(index)
        result = attach_evidence(
            complaint=complaint, uploads=uploads, by=by, now=now, stored=stored, actor_role=actor_role
        )
    refused = [Refusal(r.name, r.message, positions[r.index]) for r in result.refused]
    result.refused = sorted(gone + refused, key=lambda refusal: refusal.index)
    return result


def reap_staged(
    *, now: datetime, older_than: timedelta = STAGING_LIFETIME, dry_run: bool = False
) -> list[str]:
    """Remove staged files nobody claimed within `older_than`, and staged objects without a
    row (a crash between storing and recording) as old. Returns the keys removed (or that
    would be, with dry_run). Rows a claim holds are skipped; the next run sees them."""
    cutoff = now - older_than
    reaped: list[str] = []
    while True:
        with transaction.atomic():
            batch = list(
                StagedUpload.objects.select_for_update(skip_locked=True)
                .filter(created_at__lt=cutoff)
                .exclude(key__in=reaped)
                .order_by("created_at")
                .values_list("pk", "key")[:500]
            )
            if not batch:
                break
            keys = [key for _pk, key in batch]
            reaped.extend(keys)
            if not dry_run:
                StagedUpload.objects.filter(pk__in=[pk for pk, _key in batch]).delete()
                delete_objects_on_commit(keys)
    try:
        stray = list(_walk(STAGING_PREFIX))
    except FileNotFoundError:
        stray = []
    known = set(StagedUpload.objects.filter(key__in=stray).values_list("key", flat=True)) | set(reaped)
    for key in stray:
        if key in known or default_storage.get_modified_time(key) > cutoff:
            continue
        if not dry_run:
            default_storage.delete(key)
        reaped.append(key)
    return reaped


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
    """Delete stored evidence objects, and received messages (under `inbound/`), that no row
    references and that are older than a day.

    Younger objects may belong to a transaction still in flight, so they are left alone.
    Returns the keys deleted (or that would be, with dry_run).
    """
    keys: list[str] = []
    for prefix in (PREFIX, INBOUND_PREFIX):
        try:
            keys += _walk(prefix)
        except FileNotFoundError:
            continue
    reaped = []
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        known: set[str] = set()
        rows = Evidence.objects.filter(
            Q(original_key__in=chunk) | Q(derivative_key__in=chunk) | Q(thumbnail_key__in=chunk)
        ).values_list("original_key", "derivative_key", "thumbnail_key")
        for row in rows:
            known.update(row)
        known.update(InboundMessage.objects.filter(raw_key__in=chunk).values_list("raw_key", flat=True))
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
    evidence = list(complaint.evidence.filter(original_key__isnull=False))  # erased ones have nothing to give
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
                    "events": complaint.events.filter(public=True),
                    "contacts": complaint.contacts.all(),
                    "evidence": evidence,
                    "is_owner": False,
                },
            )
        zf.writestr("dossier.html", html)
        zf.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2))
    archive.seek(0, os.SEEK_SET)
    return archive
