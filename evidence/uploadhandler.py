"""The upload handler for every file the portal receives (FILE_UPLOAD_HANDLERS).

Each file is streamed to a temporary file on disk, never held in memory: its type is
decided from its first bytes by libmagic, the size cap for that type is enforced while
reading (one byte over and the rest is skipped), and its SHA-256 is computed on the way.
Refused files are noted on the request (`request.evidence_rejections`) for the view to
report beside the right row.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any

import magic
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, SkipFile

from evidence.models import ACCEPTED_TYPES, largest_size_limit, size_limit_for

# libmagic needs a few kilobytes to recognise containers such as MP4 and MOV.
SNIFF_BYTES = 16 * 1024


@dataclass(frozen=True)
class Rejection:
    field_name: str
    file_name: str
    code: str  # "too_large" or "too_many"
    limit: int


class SealedUpload(UploadedFile):
    """A streamed upload: on disk, with its size, SHA-256 and content-sniffed type."""

    def __init__(self, file: Any, name: str, size: int, sha256: str, detected_type: str) -> None:
        super().__init__(file=file, name=name, content_type=detected_type, size=size)
        self.sha256 = sha256
        self.detected_type = detected_type

    def temporary_file_path(self) -> str:
        return self.file.name

    def close(self) -> None:
        try:
            return self.file.close()
        except FileNotFoundError:
            return None


def sniff(head: bytes) -> str:
    return magic.from_buffer(head, mime=True) if head else "application/x-empty"


class EvidenceUploadHandler(FileUploadHandler):
    def __init__(self, request: Any = None) -> None:
        super().__init__(request)
        self.file: Any = None
        if request is not None and not hasattr(request, "evidence_rejections"):
            request.evidence_rejections = []
            request.evidence_accepted = 0

    def new_file(self, field_name: str, file_name: str, *args: Any, **kwargs: Any) -> None:
        super().new_file(field_name, file_name, *args, **kwargs)
        self.hasher = hashlib.sha256()
        self.size = 0
        self.head = b""
        self.detected: str | None = None
        self.limit = largest_size_limit()
        # Django closes `self.file` when a file is skipped, so it must exist first.
        self.file = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed (and so deleted) by Django
            prefix="evidence-", suffix=".upload", dir=settings.FILE_UPLOAD_TEMP_DIR
        )
        if self.request is not None and self.request.evidence_accepted >= settings.EVIDENCE_MAX_FILES:
            self._reject("too_many", settings.EVIDENCE_MAX_FILES)

    def _reject(self, code: str, limit: int) -> None:
        if self.request is not None:
            self.request.evidence_rejections.append(Rejection(self.field_name, self.file_name, code, limit))
        raise SkipFile

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        if self.detected is None:
            self.head += raw_data[: SNIFF_BYTES - len(self.head)]
            if len(self.head) >= SNIFF_BYTES:
                self._decide_type()
        self.size += len(raw_data)
        if self.size > self.limit:
            self._reject("too_large", self.limit)
        self.hasher.update(raw_data)
        self.file.write(raw_data)
        return None

    def _decide_type(self) -> None:
        self.detected = sniff(self.head)
        accepted = ACCEPTED_TYPES.get(self.detected)
        self.limit = size_limit_for(accepted.kind if accepted else None)

    def file_complete(self, file_size: int) -> SealedUpload | None:
        if self.detected is None:
            self._decide_type()
            if self.size > self.limit:
                self.file.close()
                if self.request is not None:
                    self.request.evidence_rejections.append(
                        Rejection(self.field_name, self.file_name, "too_large", self.limit)
                    )
                return None
        self.file.flush()
        self.file.seek(0)
        if self.request is not None:
            self.request.evidence_accepted += 1
        return SealedUpload(self.file, self.file_name, self.size, self.hasher.hexdigest(), self.detected)

    def upload_interrupted(self) -> None:
        # The client went away: the temporary file is deleted when closed.
        if self.file is not None:
            self.file.close()


@contextmanager
def seal(source: IO[bytes], name: str) -> Iterator[SealedUpload | None]:
    """Stream a stored file through the handler as if it were being uploaded: to a local
    temporary file, sniffed, hashed and capped (None when over its cap). The temporary
    file is removed when the block ends."""
    handler = EvidenceUploadHandler(None)
    handler.new_file("file", name, "application/octet-stream", None)
    size = 0
    try:
        for chunk in iter(lambda: source.read(1024 * 1024), b""):
            handler.receive_data_chunk(chunk, size)
            size += len(chunk)
    except SkipFile:
        handler.file.close()
        yield None
        return
    upload = handler.file_complete(size)
    try:
        yield upload
    finally:
        if upload is not None:
            upload.close()
