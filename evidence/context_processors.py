from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def limits(request: HttpRequest) -> dict[str, int]:
    """The evidence size caps, in MB, for the upload help texts."""
    return {
        "max_mb": settings.EVIDENCE_MAX_BYTES // (1024 * 1024),
        "max_video_mb": settings.EVIDENCE_MAX_VIDEO_BYTES // (1024 * 1024),
    }
