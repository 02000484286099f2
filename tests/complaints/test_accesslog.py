"""The access log's records: append-only by the ORM and by PostgreSQL, the role and address an
entry keeps, an export written set-wise, and who handled a case by role."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import DatabaseError, NotSupportedError, connection, transaction
from django.db.models.deletion import ProtectedError
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from accounts.models import Role
from complaints.accesslog import (
    Reader,
    access_role,
    handled_by_roles,
    reader_of,
    record_access,
    record_export,
)
from complaints.models import AccessKind, AccessRecord, AccessRole, Complaint
from tests.factories import NOW, make_complaint, make_user

pytestmark = pytest.mark.django_db

GUEST = Reader(user_id=None, role=AccessRole.COMPLAINANT, ip="203.0.113.9", user_agent="Firefox")


def entry(complaint, *, reader: Reader = GUEST, kind: str = AccessKind.CASE_VIEW, at=NOW) -> AccessRecord:
    return record_access(reader=reader, kind=kind, complaint=complaint, at=at)


# --- Append-only ---------------------------------------------------------------------------


def test_an_entry_cannot_be_changed_or_deleted_through_the_orm():
    record = entry(make_complaint())
    record.kind = AccessKind.ORIGINAL
    with pytest.raises(NotSupportedError):
        record.save()
    with pytest.raises(NotSupportedError):
        record.save(update_fields=["kind"])
    with pytest.raises(NotSupportedError):
        record.delete()
    with pytest.raises(NotSupportedError):
        AccessRecord.objects.filter(pk=record.pk).update(kind=AccessKind.ORIGINAL)
    with pytest.raises(NotSupportedError):
        AccessRecord.objects.update(kind=AccessKind.ORIGINAL)
    with pytest.raises(NotSupportedError):
        AccessRecord.objects.filter(pk=record.pk).delete()
    with pytest.raises(NotSupportedError), transaction.atomic():  # it runs in a transaction of its own
        AccessRecord.objects.bulk_update([record], ["kind"])
    assert AccessRecord.objects.get().kind == AccessKind.CASE_VIEW


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE complaints_accessrecord SET kind = 'original'",
        "UPDATE complaints_accessrecord SET ip = NULL WHERE id = %s",
        "DELETE FROM complaints_accessrecord WHERE id = %s",
        "DELETE FROM complaints_accessrecord",
    ],
)
def test_postgresql_refuses_an_update_or_delete_by_any_other_road(statement):
    record = entry(make_complaint())
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement, [record.pk] if "%s" in statement else None)
    refreshed = AccessRecord.objects.get()
    assert (refreshed.kind, refreshed.ip) == (AccessKind.CASE_VIEW, "203.0.113.9")


def test_what_the_log_names_cannot_be_deleted_from_under_it():
    agent = make_user(role=Role.AGENT)
    complaint = make_complaint()
    entry(complaint, reader=reader_of(agent, address="10.0.0.1", user_agent=""))
    with pytest.raises(ProtectedError):
        agent.delete()
    with pytest.raises(ProtectedError):
        Complaint.objects.filter(pk=complaint.pk).delete()


# --- What an entry keeps -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("roles", "superuser", "logged"),
    [
        ([Role.AGENT], False, AccessRole.AGENT),
        ([Role.TEAM_LEAD], False, AccessRole.TEAM_LEAD),
        ([Role.AGENT, Role.MANAGER], False, AccessRole.MANAGER),
        ([Role.PRIVACY_OFFICER], False, AccessRole.PRIVACY_OFFICER),
        ([Role.PRIVACY_OFFICER, Role.TEAM_LEAD], False, AccessRole.TEAM_LEAD),
        ([Role.AGENT], True, AccessRole.ADMINISTRATOR),
        ([], False, AccessRole.COMPLAINANT),
    ],
)
def test_an_entry_keeps_the_highest_role_held_at_the_time(roles, superuser, logged):
    user = make_user(is_superuser=superuser)
    for role in roles:
        user.groups.add(user.groups.model.objects.get(name=role))
    assert access_role(user) == logged


def test_a_guest_is_the_complainant_without_an_account():
    assert access_role(None) == access_role(AnonymousUser()) == AccessRole.COMPLAINANT
    guest = reader_of(AnonymousUser(), address="2001:db8::1", user_agent="x" * 500)
    assert guest == Reader(user_id=None, role=AccessRole.COMPLAINANT, ip="2001:db8::1", user_agent="x" * 200)


def test_an_address_that_is_not_one_is_kept_as_none():
    assert reader_of(None, address="unknown", user_agent="").ip is None
    assert reader_of(None, address="fe80::1%eth0", user_agent="").ip == "fe80::1"


# --- An export: set-wise --------------------------------------------------------------------


def test_an_export_writes_an_entry_per_complaint_in_one_statement():
    manager = make_user(role=Role.MANAGER)
    complaints = [make_complaint(subject=f"Case {n}") for n in range(5)]
    reader = reader_of(manager, address="198.51.100.7", user_agent="Edge")
    exported = Complaint.objects.filter(pk__in=[c.pk for c in complaints[:4]]).order_by("submitted_at")
    with CaptureQueriesContext(connection) as queries:
        written = record_export(reader=reader, complaints=exported, at=NOW)
    assert written == 4
    assert len(queries.captured_queries) == 1
    assert queries.captured_queries[0]["sql"].startswith("INSERT INTO complaints_accessrecord")
    rows = AccessRecord.objects.order_by("complaint_id")
    assert [row.complaint_id for row in rows] == [c.pk for c in complaints[:4]]
    assert {(r.kind, r.user_id, r.role, r.ip, r.user_agent, r.at) for r in rows} == {
        (AccessKind.EXPORT, manager.pk, AccessRole.MANAGER, "198.51.100.7", "Edge", NOW)
    }


def test_an_export_of_nothing_writes_nothing():
    reader = reader_of(make_user(role=Role.MANAGER), address="198.51.100.7", user_agent="")
    assert record_export(reader=reader, complaints=Complaint.objects.none(), at=NOW) == 0
    assert record_export(reader=reader, complaints=Complaint.objects.filter(pk=-1), at=NOW) == 0
    assert not AccessRecord.objects.exists()


# --- Who handled a case, by role --------------------------------------------------------------


def test_handled_by_roles_lists_each_staff_reading_oldest_first_without_names_or_addresses():
    agent, manager = make_user(role=Role.AGENT), make_user(role=Role.MANAGER)
    complaint, other = make_complaint(), make_complaint()
    as_agent = reader_of(agent, address="10.0.0.1", user_agent="")
    as_manager = reader_of(manager, address="10.0.0.2", user_agent="")
    entry(complaint, reader=as_manager, kind=AccessKind.DOSSIER, at=NOW + timedelta(hours=2))
    entry(complaint, reader=as_agent, at=NOW)
    entry(complaint, reader=GUEST, kind=AccessKind.ORIGINAL, at=NOW + timedelta(hours=1))  # their own
    entry(other, reader=as_agent, at=NOW)
    record_export(
        reader=as_manager, complaints=Complaint.objects.filter(pk=complaint.pk), at=NOW + timedelta(hours=3)
    )

    handled = handled_by_roles(complaint)

    assert [(h.role, h.kind, h.at) for h in handled] == [
        (AccessRole.AGENT, AccessKind.CASE_VIEW, NOW),
        (AccessRole.MANAGER, AccessKind.DOSSIER, NOW + timedelta(hours=2)),
        (AccessRole.MANAGER, AccessKind.EXPORT, NOW + timedelta(hours=3)),
    ]
    with translation.override("en"):
        assert handled[0].role_label == "Agent" and handled[1].kind_label == "Downloaded the dossier (ZIP)"
    with translation.override("vi"):
        assert handled[0].role_label == "Nhân viên hỗ trợ"
    assert not {agent.username, manager.username, "10.0.0.1", "10.0.0.2"} & {
        str(value) for h in handled for value in h
    }
