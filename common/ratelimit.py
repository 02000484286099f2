"""Fixed-window rate limits on the Django cache (Redis in production).

`hit` counts one attempt and says whether it is still within the limit. When the
cache is unreachable the caller chooses: fail open (intake: a complaint is never
lost) or closed (sign-in). `check` applies several limits at once and `refuse`
answers a refused request with 429, Retry-After and, in the visitor's language,
when to try again.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import time
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache, caches
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext

from common.times import duration

logger = logging.getLogger(__name__)

# How long to tell a visitor to wait when the limiter's store is down (and we fail closed).
UNAVAILABLE_RETRY_AFTER = 60


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int  # seconds until the window resets
    unavailable: bool = False  # the store could not be reached; `allowed` is the caller's policy

    @property
    def minutes(self) -> int:
        """Whole minutes to wait, rounded up, at least one."""
        return max(1, -(-self.retry_after // 60))


@dataclass(frozen=True)
class Limit:
    """One limit: at most `limit` attempts per `window` seconds for (scope, key)."""

    scope: str
    key: str
    limit: int
    window: int


def client_ip(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, or the one the trusted proxies saw.

    With RATE_LIMIT_TRUSTED_PROXIES = n > 0, each of our n proxies appends the address it
    received the request from to X-Forwarded-For, so the n-th entry from the right is the
    client's; anything further left was written by the client and is not trusted.
    """
    remote = request.META.get("REMOTE_ADDR", "") or "unknown"
    proxies = settings.RATE_LIMIT_TRUSTED_PROXIES
    if proxies <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [part for part in forwarded if part]
    if not forwarded:
        return remote
    # Fewer entries than proxies: every entry was written by one of ours; the leftmost is the client.
    candidate = forwarded[-proxies] if len(forwarded) >= proxies else forwarded[0]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote


def ip_key(request: HttpRequest) -> str:
    """The rate-limit key of the client's address: the address, or its /64 for IPv6.

    One IPv6 subscriber usually holds a whole /64, so counting single addresses would let
    them rotate through billions of keys.
    """
    address = client_ip(request)
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


def normalise(text: str) -> str:
    """An e-mail address or username as one person types it in any case or Unicode form."""
    return unicodedata.normalize("NFKC", text or "").strip().casefold()


def _cache_key(scope: str, key: str, window: int, now: int) -> tuple[str, int]:
    window_start = now - now % window
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return f"rl:{scope}:{digest}:{window_start}", window_start + window - now


def hit(scope: str, key: str, *, limit: int, window: int, fail_open: bool) -> Verdict:
    """Count one attempt for (scope, key) in the current window of `window` seconds."""
    return _hits([Limit(scope, key, limit, window)], fail_open=fail_open)[0]


def _hits(limits: list[Limit], *, fail_open: bool) -> list[Verdict]:
    """Count one attempt against each limit: a verdict for each, or, with the store down,
    one verdict (`unavailable`) that applies the caller's policy."""
    now = int(time.time())
    keys = [_cache_key(item.scope, item.key, item.window, now) for item in limits]
    try:
        counts = _count(
            [(cache_key, item.window + 5) for (cache_key, _), item in zip(keys, limits, strict=True)]
        )
    except Exception:  # noqa: BLE001 - the limiter's store is down: apply the caller's policy
        logger.warning(
            "rate limiter unavailable for %s; failing %s",
            ", ".join(item.scope for item in limits),
            "open" if fail_open else "closed",
        )
        return [Verdict(allowed=fail_open, retry_after=UNAVAILABLE_RETRY_AFTER, unavailable=True)]
    return [
        Verdict(allowed=count <= item.limit, retry_after=retry_after)
        for count, item, (_, retry_after) in zip(counts, limits, keys, strict=True)
    ]


def _count(keys: list[tuple[str, int]]) -> list[int]:
    """Count one attempt under each (cache key, timeout): in one round trip where the cache
    can (common.cache.RedisCache), else key by key."""
    backend = caches["default"]
    if hasattr(backend, "count"):
        return backend.count(keys)
    counts = []
    for cache_key, timeout in keys:
        backend.add(cache_key, 0, timeout=timeout)
        counts.append(backend.incr(cache_key))
    return counts


def reached(scope: str, key: str, *, limit: int, window: int) -> Verdict:
    """Whether (scope, key) has used up its `limit` in the current window, without counting
    an attempt: for limits on failures, counted by `hit` only when an attempt fails. With
    the store down, the verdict allows (a refusal of what already failed cannot be checked)."""
    cache_key, retry_after = _cache_key(scope, key, window, int(time.time()))
    try:
        count = cache.get(cache_key, 0)
    except Exception:  # noqa: BLE001 - the limiter's store is down: fail open
        logger.warning("rate limiter unavailable for %s; failing open", scope)
        return Verdict(allowed=True, retry_after=UNAVAILABLE_RETRY_AFTER, unavailable=True)
    return Verdict(allowed=count < limit, retry_after=retry_after)


class Refused(Exception):
    """Raised deep in a view to answer its request with the 429 page (RefusedMiddleware)."""

    def __init__(self, verdict: Verdict) -> None:
        super().__init__(verdict)
        self.verdict = verdict


class RefusedMiddleware:
    """Answer a view that raised Refused with `refuse`: the 429 page, Retry-After set."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        return refuse(request, exception.verdict) if isinstance(exception, Refused) else None


def refund(scope: str, key: str, *, window: int) -> None:
    """Take back one attempt counted in the current window (a sign-in that succeeded)."""
    cache_key, _retry_after = _cache_key(scope, key, window, int(time.time()))
    try:
        if cache.get(cache_key, 0) > 0:
            cache.decr(cache_key)
    except Exception:  # noqa: BLE001 - best effort: the attempt simply stays counted
        logger.warning("rate limiter unavailable for %s; attempt not refunded", scope)


def check(limits: Iterable[Limit], *, fail_open: bool) -> Verdict:
    """Count one attempt against every limit; the verdict of the strictest.

    Refused (`allowed` false) if any limit is exceeded, or if the store is down and the
    caller fails closed; `retry_after` is then the longest wait among the refusals.
    """
    limits = list(limits)
    if not limits:
        return Verdict(allowed=True, retry_after=0)
    verdicts = _hits(limits, fail_open=fail_open)
    if verdicts[0].unavailable:  # the store is down: the caller's policy decides
        return verdicts[0]
    refused = [v for v in verdicts if not v.allowed]
    if not refused:
        return Verdict(allowed=True, retry_after=0)
    return Verdict(allowed=False, retry_after=max(v.retry_after for v in refused))


def per_address_and_email(
    request: HttpRequest, scope: str, email: str, *, per_ip: int, per_email: int, window: int = 3600
) -> list[Limit]:
    """Limits for one public action: per client address and per (normalised) e-mail address."""
    return [
        Limit(f"{scope}-ip", ip_key(request), per_ip, window),
        Limit(f"{scope}-email", normalise(email), per_email, window),
    ]


def retry_message(verdict: Verdict) -> str:
    """'Too many requests. Please try again in 15 minutes.', in the active language.

    The wait, whole minutes rounded up, reads as every duration does (`common.times`).
    templates/429.html shows this same sentence.
    """
    wait = duration(timedelta(minutes=verdict.minutes))
    return gettext("Too many requests. Please try again in %(wait)s.") % {"wait": wait}


def refuse(
    request: HttpRequest,
    verdict: Verdict,
    *,
    template: str = "429.html",
    context: dict[str, Any] | None = None,
    form: Any = None,
) -> HttpResponse:
    """A 429 response with Retry-After: the 429 page, or `template` re-rendered (the form as
    typed, with `form` carrying the retry sentence as its error)."""
    if form is not None:
        form.add_error(None, retry_message(verdict))
    page_context = {"retry_message": retry_message(verdict), **(context or {})}
    response = render(request, template, page_context, status=429)
    response["Retry-After"] = str(verdict.retry_after)
    return response
