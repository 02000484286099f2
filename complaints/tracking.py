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
    (token,) = issue_tracking_tokens(complaint_ids=[complaint.pk], now=now)
    return token


def issue_tracking_tokens(*, complaint_ids: list[int], now: datetime) -> list[str]:
    """Create a tracking token for each complaint id, in one INSERT; return the raw tokens
    in the same order (only their hashes are stored). The outbox mints a batch's at once."""
    tokens = [secrets.token_urlsafe(32) for _ in complaint_ids]
    TrackingToken.objects.bulk_create(
        [
            TrackingToken(
                complaint_id=complaint_id,
                token_hash=hash_token(token),
                created_at=now,
                expires_at=now + settings.TRACKING_LINK_TTL,
            )
            for complaint_id, token in zip(complaint_ids, tokens, strict=True)
        ]
    )
    return tokens


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
