"""Who may see or act on a complaint, from the request: accounts, staff, and guests' signed cookie.

Guest access lives in a signed, HTTP-only cookie: the complaints this browser filed or
opened with a tracking link. Signed with SECRET_KEY, so it cannot be forged or edited,
and it costs no database row per anonymous visitor. Anything a visitor may not see is
a 404, never a hint.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404

from common import ratelimit
from common.prepared import Param, Prepared
from common.ratelimit import client_ip
from complaints.accesslog import Reader, reader_of
from complaints.models import Complaint

GUEST_COOKIE = "kn_guest"
GUEST_COOKIE_SALT = "complaints.guest-access"
GUEST_COOKIE_MAX_IDS = 50
# The session's key for the token that owns the files it has chosen on a form (staged).
STAGING_OWNER = "evidence-staging-owner"


def guest_ids(request: HttpRequest) -> frozenset[int]:
    """The complaints this browser holds guest access to."""
    raw = request.get_signed_cookie(
        GUEST_COOKIE,
        default="",
        salt=GUEST_COOKIE_SALT,
        max_age=settings.TRACKING_LINK_TTL.total_seconds(),
    )
    return frozenset(int(part) for part in raw.split(",") if part.isdigit())


def grant_guest_access(request: HttpRequest, response: HttpResponse, complaint: Complaint) -> HttpResponse:
    """Let this browser act as the complaint's complainant (no account needed); return `response`."""
    ids = [pk for pk in sorted(guest_ids(request)) if pk != complaint.pk][-(GUEST_COOKIE_MAX_IDS - 1) :]
    response.set_signed_cookie(
        GUEST_COOKIE,
        ",".join(str(pk) for pk in [*ids, complaint.pk]),
        salt=GUEST_COOKIE_SALT,
        max_age=int(settings.TRACKING_LINK_TTL.total_seconds()),
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
    return response


def staging_owner(request: HttpRequest, *, create: bool = False) -> str:
    """The token that owns the files this visitor has chosen but not yet sent ("" when none).

    Kept in the session, so it survives signing in (the session's key changes, not its
    data); with `create`, one is made for a visitor who has none.
    """
    owner = request.session.get(STAGING_OWNER, "")
    if not owner and create:
        owner = secrets.token_urlsafe(32)
        request.session[STAGING_OWNER] = owner
    return owner


def is_staff(request: HttpRequest) -> bool:
    """Whether the visitor holds a staff role."""
    return request.user.is_authenticated and request.user.is_agent


def reader(request: HttpRequest) -> Reader:
    """Who is reading, as the access log records them: the account (none for a guest), its role
    now, the client's address (behind our proxies, as `client_ip` finds it) and browser."""
    return reader_of(
        request.user, address=client_ip(request), user_agent=request.META.get("HTTP_USER_AGENT", "")
    )


def is_owner(request: HttpRequest, complaint: Complaint) -> bool:
    """Whether this visitor filed the complaint (signed in) or holds its tracking access."""
    user = request.user
    return complaint.pk in guest_ids(request) or (
        user.is_authenticated and complaint.complainant_id == user.pk
    )


def may_add_evidence(request: HttpRequest, complaint: Complaint) -> bool:
    """Files go onto an open case, from its complainant or from staff (the case page offers the
    upload form, and the upload view accepts it, only then)."""
    return complaint.is_open and (is_staff(request) or is_owner(request, complaint))


def may_take_dossier(request: HttpRequest, complaint: Complaint) -> bool:
    """The dossier ZIP is for the complainant and for managers."""
    user = request.user
    return is_owner(request, complaint) or (user.is_authenticated and user.is_manager)


def may_take_original(request: HttpRequest, complaint: Complaint, *, is_image: bool) -> bool:
    """The sealed original of a file: its complainant and managers always; other staff only
    when it is not an image (an image's re-encoded copy, without its metadata, is theirs)."""
    user = request.user
    return (
        is_owner(request, complaint)
        or (user.is_authenticated and user.is_manager)
        or (is_staff(request) and not is_image)
    )


def complaint_or_404(queryset: Any, reference: str) -> Complaint:
    """The complaint of `queryset` with this reference; otherwise 404.

    A reference typed into the address bar may hold anything: one that no complaint
    can have (a NUL byte, which PostgreSQL refuses in a query) is a 404 too, not a 500.
    """
    _possible_or_404(reference)
    return get_object_or_404(queryset, reference=reference)


def _possible_or_404(reference: str) -> None:
    if "\x00" in reference or len(reference) > 64:
        raise Http404


# A case by its reference (with its assignee, for the staff case page), and a complainant's
# own case by its reference: the case pages' reads, compiled once (common.prepared).
# `visible_complaint` uses the first two where they say what `visible_to` says.
_CASE = Prepared(Complaint.objects.filter(reference=Param("reference")))
_OWN_CASE = Prepared(Complaint.objects.filter(reference=Param("reference"), complainant_id=Param("owner")))
_CASE_AND_ASSIGNEE = Prepared(
    Complaint.objects.select_related("assignee").filter(reference=Param("reference"))
)


def _one_or_404(read: Prepared, reference: str, **values: Any) -> Complaint:
    """The case `read` finds by this reference (and `values`); otherwise 404."""
    _possible_or_404(reference)
    found = read(reference=reference, **values)
    if not found:
        raise Http404
    return found[0]


def staff_case_or_404(reference: str) -> Complaint:
    """The case with this reference, its assignee read with it, for the staff case page
    (whose view lets staff alone in); otherwise 404."""
    return _one_or_404(_CASE_AND_ASSIGNEE, reference)


def visible_complaint(request: HttpRequest, reference: str, queryset: Any = None) -> Complaint:
    """The complaint if this visitor may see it (its complainant or staff); otherwise 404,
    counted as a failed look-up (`looked_up`)."""
    user, guests = request.user, guest_ids(request)
    with looked_up(request):
        if queryset is None and not guests and user.is_authenticated:
            # Staff, or a complainant with their account alone: a prepared read.
            if user.is_agent:
                return _one_or_404(_CASE, reference)
            return _one_or_404(_OWN_CASE, reference, owner=user.pk)
        base = Complaint.objects if queryset is None else queryset
        return complaint_or_404(base.visible_to(user, guest_ids=guests), reference)


def owned_complaint(request: HttpRequest, reference: str) -> Complaint:
    """The complaint if this visitor filed it (or holds its tracking link); otherwise 404,
    counted as a failed look-up (`looked_up`)."""
    queryset = Complaint.objects.owned_by(request.user, guest_ids=guest_ids(request))
    with looked_up(request):
        return complaint_or_404(queryset, reference)


@contextlib.contextmanager
def looked_up(request: HttpRequest) -> Iterator[None]:
    """Count a look-up of a complaint (by reference or tracking link) that ends in 404 against
    the client's address, and refuse (ratelimit.Refused: 429) every look-up from an address
    that failed LOOKUP_FAILURE_LIMIT times within LOOKUP_FAILURE_WINDOW seconds, so nobody
    walks through references or guesses links. Staff are not counted: they are known, and
    one office's agents share an address."""
    if is_staff(request):
        yield
        return
    scope, key = "lookup-failed", ratelimit.ip_key(request)
    limit, window = settings.LOOKUP_FAILURE_LIMIT, settings.LOOKUP_FAILURE_WINDOW
    verdict = ratelimit.reached(scope, key, limit=limit, window=window)
    if not verdict.allowed:
        raise ratelimit.Refused(verdict)
    try:
        yield
    except Http404:
        ratelimit.hit(scope, key, limit=limit, window=window, fail_open=True)
        raise
