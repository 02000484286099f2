"""Guests' tracking links: a 256-bit token per link, of which only the SHA-256 is stored."""

from __future__ import annotations

import secrets
from datetime import datetime

from django.conf import settings

from complaints.models import Complaint, TrackingToken, hash_token


def issue_tracking_token(*, complaint: Complaint, now: datetime) -> str:
    """Create a tracking token for the complaint and return it; only its hash is stored.

    Called when the e-mail carrying the link is rendered: the raw token lives only there.
    """
    token = secrets.token_urlsafe(32)
    TrackingToken.objects.create(
        complaint=complaint,
        token_hash=hash_token(token),
        created_at=now,
        expires_at=now + settings.TRACKING_LINK_TTL,
    )
    return token


def redeem_tracking_token(*, token: str, now: datetime) -> Complaint | None:
    """The complaint a live tracking token opens, or None if it is unknown or expired."""
    if not token or len(token) > 128:
        return None
    tracking = (
        TrackingToken.objects.select_related("complaint")
        .filter(token_hash=hash_token(token), expires_at__gt=now)
        .first()
    )
    if tracking is None:
        return None
    TrackingToken.objects.filter(pk=tracking.pk).update(last_used_at=now)
    return tracking.complaint
