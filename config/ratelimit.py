"""Fixed-window rate limits on the Django cache (Redis in production).

`hit` counts one attempt and says whether it is still within the limit. When the
cache is unreachable the caller chooses: fail open (intake: a complaint is never
lost) or closed (sign-in).
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass

from django.core.cache import cache
from django.http import HttpRequest

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int  # seconds until the window resets


def client_ip(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def hit(scope: str, key: str, *, limit: int, window: int, fail_open: bool) -> Verdict:
    """Count one attempt for (scope, key) in the current window of `window` seconds."""
    now = int(time.time())
    window_start = now - now % window
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    cache_key = f"rl:{scope}:{digest}:{window_start}"
    retry_after = window_start + window - now
    try:
        cache.add(cache_key, 0, timeout=window + 5)
        count = cache.incr(cache_key)
    except Exception:  # noqa: BLE001 - the limiter's store is down: apply the caller's policy
        logger.warning(
            "rate limiter unavailable for %s; failing %s", scope, "open" if fail_open else "closed"
        )
        return Verdict(allowed=fail_open, retry_after=60)
    return Verdict(allowed=count <= limit, retry_after=retry_after)
