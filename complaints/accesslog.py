"""The access log: who read a case's personal data, in which role, what, when and from where.

Pages record each reading as they serve it: a staff view of a case, a file downloaded by
anyone (the sealed original or the cleaned copy), a dossier ZIP, and an export. One reading is
one INSERT (`record_access`); an export of many complaints is one INSERT ... SELECT over the
export's own query (`record_export`): set-wise, whatever its size. The log is append-only
(`AccessRecord` refuses changes through the ORM, and a trigger refuses them in PostgreSQL).

Managers and privacy officers read it (`access_page`); the complainant's export of their data
says who handled their case by role, never by name or address (`handled_by_roles`).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import F, QuerySet

from accounts.models import Role, User
from accounts.signals import security_event
from common import ratelimit
from common.paging import Cursor, Page, keyset_page
from common.prepared import Insert
from complaints.models import AccessKind, AccessRecord, AccessRole, Complaint

# The browser as it names itself, cut to the column's length.
USER_AGENT_LENGTH = AccessRecord._meta.get_field("user_agent").max_length

# A staff member's role in the log: the highest they hold, in this order.
RANKED_ROLES = (
    (Role.MANAGER, AccessRole.MANAGER),
    (Role.TEAM_LEAD, AccessRole.TEAM_LEAD),
    (Role.AGENT, AccessRole.AGENT),
    (Role.PRIVACY_OFFICER, AccessRole.PRIVACY_OFFICER),
)


@dataclass(frozen=True)
class Reader:
    """Who reads, as an entry records them: the account (None for a guest with a tracking
    link), the role they read in, the client's address (None when it is not one) and browser."""

    user_id: int | None
    role: str
    ip: str | None
    user_agent: str = ""


def access_role(user: Any) -> str:
    """The role an entry records for `user` (None or anonymous: a guest complainant): the
    administrator for a superuser, else the highest staff role held, else the complainant.

    Reads the roles the request has already loaded (`User.role_names` keeps them).
    """
    if user is None or not getattr(user, "is_authenticated", False):
        return AccessRole.COMPLAINANT
    if user.is_superuser:
        return AccessRole.ADMINISTRATOR
    held = user.role_names()
    return next((logged for role, logged in RANKED_ROLES if role in held), AccessRole.COMPLAINANT)


def reader_of(user: Any, *, address: str, user_agent: str) -> Reader:
    """The reader an entry records: `user` (None or anonymous for a guest) from `address`."""
    try:
        ip: str | None = str(ipaddress.ip_address(address.split("%")[0]))  # no IPv6 zone
    except ValueError:  # no REMOTE_ADDR ("unknown"), or a test client's oddity
        ip = None
    account = user if user is not None and getattr(user, "is_authenticated", False) else None
    return Reader(
        user_id=account.pk if account is not None else None,
        role=access_role(account),
        ip=ip,
        user_agent=user_agent[:USER_AGENT_LENGTH],
    )


# What counts towards an account's downloads in an hour (BULK_DOWNLOAD_ALERT).
DOWNLOADS = frozenset({AccessKind.ORIGINAL, AccessKind.COPY, AccessKind.DOSSIER, AccessKind.EXPORT})


def count_download(reader: Reader, *, at: datetime) -> None:
    """Count one download (a file, a dossier, an export) by the reader's account; past
    BULK_DOWNLOAD_ALERT within an hour, tell the privacy officers (once an hour per account,
    complaints.security). Guests have no account to count; the cache down counts nothing."""
    if reader.user_id is None:
        return
    limit = settings.BULK_DOWNLOAD_ALERT
    verdict = ratelimit.hit(
        "bulk-download", f"user:{reader.user_id}", limit=limit, window=3600, fail_open=True
    )
    if verdict.allowed or verdict.unavailable:
        return
    account = User.objects.filter(pk=reader.user_id).first()
    security_event.send(
        sender=count_download, kind="bulk_download", account=account, details={"limit": limit}, now=at
    )


def record_access(
    *, reader: Reader, kind: str, complaint: Complaint, at: datetime, evidence: Any = None
) -> AccessRecord:
    """Write one entry (one INSERT, in the caller's transaction or autocommitted) and return
    it; a download also counts towards the account's hour (`count_download`)."""
    if kind in DOWNLOADS:
        count_download(reader, at=at)
    record = _INSERT_RECORD(
        at=at,
        kind=kind,
        complaint_id=complaint.pk,
        evidence_id=evidence.pk if evidence is not None else None,
        user_id=reader.user_id,
        role=reader.role,
        ip=reader.ip,
        user_agent=reader.user_agent,
    )
    record.complaint = complaint  # as `create` leaves it: no query to reach them
    if evidence is not None:
        record.evidence = evidence
    return record


# An entry, written with one INSERT compiled once (common.prepared): the case pages write one
# on every reading. AccessRecord.save only refuses changes; there are no signals to send.
_INSERT_RECORD = Insert(AccessRecord)


def record_export(*, reader: Reader, complaints: QuerySet[Complaint], at: datetime) -> int:
    """Write an export entry for every complaint of `complaints` (the export's own query) and
    return how many.

    On PostgreSQL one INSERT ... SELECT: the ids never come to Python, so an export of a
    million complaints costs one statement. On SQLite (the embedded default) the ids are read,
    then inserted with one bulk insert.
    """
    count_download(reader, at=at)
    values = {
        "at": at,
        "kind": AccessKind.EXPORT,
        "user": reader.user_id,
        "role": reader.role,
        "ip": reader.ip,
        "user_agent": reader.user_agent,
    }
    ids = complaints.order_by().values("pk")
    if connection.vendor != "postgresql":
        rows = [AccessRecord(complaint_id=pk, **_attnames(values)) for pk in ids.values_list("pk", flat=True)]
        return len(AccessRecord.objects.bulk_create(rows))
    meta = AccessRecord._meta
    fields = [meta.get_field(name) for name in values]
    columns = [field.column for field in fields] + [meta.get_field("complaint").column]
    selects = [f"%s::{field.db_type(connection)}" for field in fields] + ["matched.complaint_id"]
    try:
        query, params = ids.query.sql_with_params()
    except EmptyResultSet:  # a query that can match nothing (`none()`, an empty `pk__in`)
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {meta.db_table} ({', '.join(columns)}) "  # noqa: S608 - model metadata
            f"SELECT {', '.join(selects)} FROM ({query}) AS matched(complaint_id)",
            [*values.values(), *params],
        )
        return cursor.rowcount


def _attnames(values: dict[str, Any]) -> dict[str, Any]:
    return {("user_id" if name == "user" else name): value for name, value in values.items()}


# --- Reading the log -----------------------------------------------------------------------


def access_page(*, complaint: Complaint | None, after: Cursor | None) -> Page:
    """One page of the log, newest first: one case's (`complaint`), or every case's (None),
    each entry with its account, file and complaint. One query, on an index in both cases
    (access_case_idx, access_time_idx), however long the log."""
    entries = AccessRecord.objects.select_related("user", "evidence").order_by("-at", "-id")
    entries = entries.filter(complaint=complaint) if complaint else entries.select_related("complaint")
    return keyset_page(entries, {"at": F("at")}, after, descending=True)


class Handling(NamedTuple):
    """One reading of a case by staff, as its complainant may be told of it: by role, not name."""

    role: str  # an AccessRole
    kind: str  # an AccessKind
    at: datetime

    @property
    def role_label(self) -> str:
        return str(AccessRole(self.role).label)

    @property
    def kind_label(self) -> str:
        return str(AccessKind(self.kind).label)


def handled_by_roles(complaint: Complaint) -> list[Handling]:
    """Who handled the case, by role: every reading of it by staff (views, downloads, dossier,
    exports), oldest first, for the complainant's export of their data. Names and addresses
    are left out, and so are the complainant's own readings."""
    rows = (
        AccessRecord.objects.filter(complaint=complaint)
        .exclude(role=AccessRole.COMPLAINANT)
        .order_by("at", "id")
        .values_list("role", "kind", "at")
    )
    return [Handling(*row) for row in rows]
