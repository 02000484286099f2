"""common.prepared: reads compiled once per process, giving what their querysets give."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.db import connection
from django.db.models import Count, F
from django.db.models.sql.compiler import SQLCompiler
from django.test.utils import CaptureQueriesContext

from accounts.models import Role, User
from common.prepared import Insert, Param, Prepared
from complaints import services
from complaints.models import Complaint, ComplaintEvent
from tests.factories import NOW, contact_data, make_complaint, make_user

pytestmark = pytest.mark.django_db


def loaded(instance) -> dict:
    """An instance's loaded values, its cached related objects by primary key."""
    values = {name: value for name, value in vars(instance).items() if name != "_state"}
    values["related"] = {name: getattr(obj, "pk", None) for name, obj in instance._state.fields_cache.items()}
    return values


@pytest.fixture
def cases():
    agent = make_user(username="agent", role=Role.AGENT)
    first = make_complaint(contacts=[contact_data()])
    second = make_complaint(subject="Một khiếu nại khác")
    for complaint in (first, second):
        services.add_internal_note(complaint=complaint, body="ghi chú nội bộ", by=agent, now=NOW)
    Complaint.objects.filter(pk=second.pk).update(assignee=agent)
    return first, second


def test_a_prepared_read_gives_what_its_queryset_gives_for_each_value(cases):
    by_reference = Prepared(Complaint.objects.select_related("assignee").filter(reference=Param("ref")))
    for complaint in cases:
        [prepared] = by_reference(ref=complaint.reference)
        expected = Complaint.objects.select_related("assignee").get(reference=complaint.reference)
        assert loaded(prepared) == loaded(expected)
        with CaptureQueriesContext(connection) as queries:
            assert prepared.assignee == expected.assignee  # read with it: no query
        assert not queries.captured_queries
    assert by_reference(ref="KN-NOTHING") == []


def test_rows_come_in_the_querysets_order_with_their_values_converted(cases):
    complaint = cases[0]
    events = Prepared(ComplaintEvent.objects.filter(complaint_id=Param("complaint")))
    rows = events(complaint=complaint.pk)
    expected = ComplaintEvent.objects.filter(complaint_id=complaint.pk)
    assert [loaded(row) for row in rows] == [loaded(row) for row in expected]
    assert len(rows) > 1 and all(isinstance(row.payload, dict) for row in rows)  # JSON, decoded
    public = Prepared(ComplaintEvent.objects.filter(complaint_id=Param("complaint"), public=True))
    assert [row.pk for row in public(complaint=complaint.pk)] == [
        row.pk for row in complaint.events.filter(public=True)
    ]


def test_values_list_slices_and_expressions_are_kept(cases):
    newest = Prepared(
        ComplaintEvent.objects.filter(complaint_id=Param("complaint"), created_at__gte=F("created_at"))
        .order_by("-created_at", "-pk")
        .values_list("kind", "public", "created_at")[:1]
    )
    for complaint in cases:
        expected = list(
            complaint.events.order_by("-created_at", "-pk").values_list("kind", "public", "created_at")[:1]
        )
        assert newest(complaint=complaint.pk) == expected
    later = Prepared(Complaint.objects.filter(submitted_at__gt=Param("after")).values_list("reference"))
    assert later(after=NOW + timedelta(days=1)) == []
    assert sorted(later(after=NOW - timedelta(days=1))) == sorted((c.reference,) for c in cases)


def test_the_sql_is_compiled_at_the_first_run_only(cases):
    by_reference = Prepared(Complaint.objects.filter(reference=Param("ref")))
    with mock.patch.object(SQLCompiler, "as_sql", autospec=True, side_effect=SQLCompiler.as_sql) as compile_:
        by_reference(ref=cases[0].reference)
        assert compile_.call_count == 1
        with CaptureQueriesContext(connection) as queries:
            [found] = by_reference(ref=cases[1].reference)
        assert compile_.call_count == 1
    assert found.pk == cases[1].pk
    assert len(queries.captured_queries) == 1  # seen by Django's query log like any read


@pytest.mark.parametrize(
    "queryset",
    [
        lambda: Complaint.objects.prefetch_related("events"),
        lambda: Complaint.objects.annotate(n=Count("events")),
        lambda: Complaint.objects.values("reference"),
        lambda: Complaint.objects.values_list("reference", flat=True),
        lambda: Complaint.objects.select_for_update(),
    ],
    ids=["prefetch", "annotation", "values", "flat", "lock"],
)
def test_what_a_prepared_read_cannot_give_is_refused_when_it_is_prepared(queryset):
    with pytest.raises(ValueError):
        Prepared(queryset().filter(reference=Param("ref")))


def test_an_insert_writes_the_row_create_would_and_gives_it_back(cases):
    from complaints.models import AccessRecord

    complaint = cases[0]
    agent = make_user(username="reader", role=Role.AGENT)
    insert = Insert(AccessRecord)
    values = {
        "at": NOW,
        "kind": "case_view",
        "complaint_id": complaint.pk,
        "evidence_id": None,
        "user_id": agent.pk,
        "role": "agent",
        "ip": "2001:db8::1",
        "user_agent": "Mozilla/5.0",
    }
    with mock.patch.object(connection.ops, "quote_name", wraps=connection.ops.quote_name) as quote:
        written = insert(**values)
        compiled = quote.call_count
        second = insert(**{**values, "ip": None, "user_id": None, "role": "complainant"})
        assert quote.call_count == compiled  # compiled at the first insert only
    created = AccessRecord.objects.create(**values)
    assert written.pk and second.pk > written.pk and not written._state.adding
    for row in (written, created):
        stored = AccessRecord.objects.get(pk=row.pk)
        assert {name: getattr(stored, name) for name in values} == values
        assert {name: getattr(row, name) for name in values} == values
    assert AccessRecord.objects.get(pk=second.pk).ip is None


def test_an_insert_gives_a_field_left_out_its_default_and_refuses_unknown_names(cases):
    from complaints.models import Notification

    insert = Insert(Notification)
    values = {"email": "a@example.org", "template": "case_update", "language": "vi"}
    written = insert(**values, created_at=NOW, next_attempt_at=NOW, complaint_id=cases[0].pk)
    created = Notification.objects.create(**values, created_at=NOW, next_attempt_at=NOW, complaint=cases[0])
    ignored = {"_state", "id"}
    stored = [Notification.objects.get(pk=row.pk) for row in (written, created)]
    assert {k: v for k, v in vars(stored[0]).items() if k not in ignored} == {
        k: v for k, v in vars(stored[1]).items() if k not in ignored
    }
    assert written.context == {} and written.attempts == 0
    with pytest.raises(TypeError):
        insert(**values, created_at=NOW, next_attempt_at=NOW, sent_to="nobody")


def test_an_insert_refuses_a_model_that_sets_values_of_its_own():
    from django_otp.plugins.otp_totp.models import TOTPDevice

    with pytest.raises(ValueError):
        Insert(TOTPDevice)


def test_an_insert_saves_a_new_instance_as_save_would_keeping_what_it_refers_to(cases):
    source = Complaint.objects.select_related("subcategory").get(pk=cases[0].pk)
    skipped = {"id", "reference", "submission_key"}  # the key and the unique values: each row its own

    given = {
        "subject": "Tài khoản bị khoá sau khi đổi mật khẩu",
        "description": "Ứng dụng báo lỗi 403 mỗi lần đăng nhập.",
        "contact_email": "hoa@example.org",
        "occurred_at": NOW - timedelta(days=3),
        "missing_parts": ["provider"],
    }

    def copy() -> Complaint:
        fields = Complaint._meta.concrete_fields
        new = Complaint(**{f.attname: getattr(source, f.attname) for f in fields if f.attname not in skipped})
        for name, value in given.items():  # not what the fixture's filing wrote
            setattr(new, name, value)
        new.subcategory = source.subcategory  # read already
        return new

    saved, inserted = copy(), copy()
    saved.save(force_insert=True)
    insert = Insert(Complaint)
    with CaptureQueriesContext(connection) as queries:
        assert insert.save(inserted) is inserted
        assert inserted.subcategory is source.subcategory
    assert len(queries) == 1  # the INSERT; what it refers to is not read again
    assert inserted.pk > saved.pk and not inserted._state.adding and inserted._state.db == "default"

    ignored = {"_state", "id", "reference"}
    stored = [Complaint.objects.get(pk=row.pk) for row in (saved, inserted)]
    as_saved = {k: v for k, v in vars(stored[0]).items() if k not in ignored}
    assert {k: v for k, v in vars(stored[1]).items() if k not in ignored} == as_saved
    assert {name: getattr(stored[1], name) for name in given} == given
    assert stored[1].reference == inserted.reference != saved.reference
    with pytest.raises(ValueError):
        insert.save(inserted)  # written already
    with pytest.raises(ValueError):
        insert.save(ComplaintEvent())


def test_an_insert_refuses_an_unsaved_related_object_as_save_does_and_takes_one_saved_since(cases):
    template = Complaint.objects.get(pk=cases[0].pk)
    skipped = {"id", "reference", "submission_key"}

    def copy(assignee: User) -> Complaint:
        names = [f.attname for f in Complaint._meta.concrete_fields if f.attname not in skipped]
        new = Complaint(**{name: getattr(template, name) for name in names})
        new.assignee = assignee
        return new

    insert, agent = Insert(Complaint), User(username="not-saved-yet")
    before = Complaint.objects.count()
    with pytest.raises(ValueError, match="unsaved related object 'assignee'") as by_save:
        copy(agent).save(force_insert=True)
    with pytest.raises(ValueError) as by_insert:
        insert.save(copy(agent))
    assert str(by_insert.value) == str(by_save.value)
    assert Complaint.objects.count() == before  # nothing written

    pending = copy(agent)
    agent.save()  # saved after it was assigned: its key is the one written
    insert.save(pending)
    assert Complaint.objects.get(pk=pending.pk).assignee_id == agent.pk
