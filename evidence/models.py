"""Evidence attached to a complaint: sealed originals, image derivatives, the type catalogue."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from complaints.models import ActorRole, Complaint


class Kind(models.TextChoices):
    IMAGE = "image", _("Image")
    VIDEO = "video", _("Video")
    AUDIO = "audio", _("Audio recording")
    PDF = "pdf", _("PDF document")
    TEXT = "text", _("Text")
    EMAIL = "email", _("E-mail")


@dataclass(frozen=True)
class AcceptedType:
    kind: str
    content_type: str  # what we serve it as
    extensions: frozenset[str]


# The allow-list: a file is accepted only when libmagic's verdict on its bytes is one of
# these types AND its extension is one listed for that type. The browser's Content-Type
# is never consulted.
ACCEPTED_TYPES: dict[str, AcceptedType] = {
    mime: AcceptedType(kind, served, frozenset(exts))
    for mime, kind, served, exts in [
        ("image/jpeg", Kind.IMAGE, "image/jpeg", {".jpg", ".jpeg"}),
        ("image/png", Kind.IMAGE, "image/png", {".png"}),
        ("image/webp", Kind.IMAGE, "image/webp", {".webp"}),
        ("image/gif", Kind.IMAGE, "image/gif", {".gif"}),
        ("image/heic", Kind.IMAGE, "image/heic", {".heic", ".heif"}),
        ("image/heif", Kind.IMAGE, "image/heif", {".heic", ".heif"}),
        ("video/mp4", Kind.VIDEO, "video/mp4", {".mp4", ".m4v"}),
        ("video/webm", Kind.VIDEO, "video/webm", {".webm"}),
        ("video/quicktime", Kind.VIDEO, "video/quicktime", {".mov"}),
        ("audio/mpeg", Kind.AUDIO, "audio/mpeg", {".mp3"}),
        ("audio/x-m4a", Kind.AUDIO, "audio/mp4", {".m4a"}),
        ("audio/mp4", Kind.AUDIO, "audio/mp4", {".m4a"}),
        ("video/3gpp", Kind.AUDIO, "audio/mp4", {".m4a"}),
        ("audio/x-wav", Kind.AUDIO, "audio/wav", {".wav"}),
        ("audio/wav", Kind.AUDIO, "audio/wav", {".wav"}),
        ("application/pdf", Kind.PDF, "application/pdf", {".pdf"}),
        ("text/plain", Kind.TEXT, "text/plain", {".txt", ".eml"}),
        # libmagic calls text with many commas CSV; it is still text to us.
        ("text/csv", Kind.TEXT, "text/plain", {".txt", ".csv"}),
        ("message/rfc822", Kind.EMAIL, "message/rfc822", {".eml"}),
    ]
}


def size_limit_for(kind: str | None) -> int:
    """The per-file cap for a kind of evidence (videos may be larger)."""
    return settings.EVIDENCE_MAX_VIDEO_BYTES if kind == Kind.VIDEO else settings.EVIDENCE_MAX_BYTES


def largest_size_limit() -> int:
    return max(settings.EVIDENCE_MAX_BYTES, settings.EVIDENCE_MAX_VIDEO_BYTES)


class Evidence(models.Model):
    """One uploaded file. The original is sealed: stored under a random key, hashed at intake."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # evidence_complaint_idx leads with the complaint.
    complaint = models.ForeignKey(
        Complaint, on_delete=models.CASCADE, related_name="evidence", db_index=False
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    uploader_role = models.CharField(max_length=16, choices=ActorRole.choices)
    caption = models.CharField(_("caption"), max_length=300, blank=True)
    original_name = models.CharField(_("file name"), max_length=255)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField(_("size"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    # None once erased with its complaint's personal data (complaints.services.retention):
    # unique, and many erased ones may each have none, which only NULL allows.
    original_key = models.CharField(max_length=255, unique=True, null=True)  # noqa: DJ001
    # Images only: re-encoded without metadata, orientation applied, and a small preview.
    derivative_key = models.CharField(max_length=255, blank=True)
    derivative_content_type = models.CharField(max_length=100, blank=True)
    thumbnail_key = models.CharField(max_length=255, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("evidence")
        verbose_name_plural = _("evidence")
        indexes = [models.Index(fields=["complaint", "created_at"], name="evidence_complaint_idx")]

    def __str__(self) -> str:
        return self.original_name

    @property
    def is_image(self) -> bool:
        return self.kind == Kind.IMAGE and bool(self.derivative_key)

    def stored_keys(self) -> list[str]:
        return [key for key in (self.original_key, self.derivative_key, self.thumbnail_key) if key]


class StagedUpload(models.Model):
    """A file checked the moment it was chosen, waiting for the form it was chosen on.

    It belongs to one visitor's session (`owner`: a random token kept in the session, so
    it survives signing in) until a complaint claims it; unclaimed, it is reaped after a
    day. The object lives in the default storage under `staging/`.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    owner = models.CharField(max_length=64)
    original_name = models.CharField(max_length=255)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    key = models.CharField(max_length=255, unique=True)
    created_at = models.DateTimeField()

    class Meta:
        indexes = [
            # A session's staged files: its count and total (the limits), and claiming them.
            models.Index(fields=["owner", "created_at"], name="staged_owner_idx"),
            # The reaper: staged files older than a day.
            models.Index(fields=["created_at"], name="staged_created_idx"),
        ]

    def __str__(self) -> str:
        return self.original_name
