"""Answers in bulk (issue 17, point 3): a public reply to every linked open case, and a resolve-all,
each case getting its own timeline entry, first response, notice and SLA outcome, written set-wise
in batches; refused cases listed with why."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from accounts.models import Role
from complaints import services
from complaints.models import (
    Category,
    Complaint,
    ComplaintEvent,
    EventKind,
    Notification,
    Status,
    new_reference,
)
from complaints.refusals import ActionRefused, IncidentRefused
from complaints.services import incident_answers
from escalation.models import Escalation, LetterKind, SlaPolicy
from escalation.policies import forget_policies
from tests.factories import NOW, found, make_complaint, make_incident, make_user
from tests.locks import lock_timeout, row_locked_by_another_connection

pytestmark = pytest.mark.django_db

LATER = NOW + timedelta(hours=2)


@pytest.fixture
def lead():
    return make_user(username="lead", role=Role.TEAM_LEAD, preferred_language="en")


def declare(lead):
    return make_incident(lead)


def linked(incident, count, *, status=Status.NEW):
    """`count` cases linked to the incident, copies of one filed through intake (half in Vietnamese,
    half in English, each complainant with an address of their own), written in one statement."""
    model = make_complaint(incident=incident)
    if status == Status.OPEN:
        model = services.transition_complaint(complaint=model, to_status=Status.OPEN, by=None, now=NOW)
    copies = []
    for number in range(count - 1):
        copy = Complaint.objects.get(pk=model.pk)
        copy.pk, copy.reference, copy.submission_key = None, new_reference(), None
        copy.language = "en" if number % 2 else "vi"
        copy.contact_email = f"c{number}@example.org"
        copies.append(copy)
    Complaint.objects.bulk_create(copies)
    return list(Complaint.objects.filter(incident=incident).order_by("id"))


def reply(incident, lead, now=LATER):
    return services.reply_to_linked(
        incident=incident, body_vi="Chúng tôi đã sửa lỗi.", body_en="We fixed it.", by=lead, now=now
    )


def resolve_all(incident, lead, now=LATER, **overrides):
    any_case = Complaint.objects.filter(incident=incident).first()
    return services.resolve_linked(
        incident=incident,
        summary_vi="ShopNhanh đã khôi phục đăng nhập.",
        summary_en="ShopNhanh restored log-in.",
        **{**found(any_case), **overrides},
        by=lead,
        now=now,
    )


def test_a_bulk_reply_to_1000_linked_cases_sets_each_first_response_exactly_once(lead):
    incident = declare(lead)
    cases = linked(incident, 1_000)
    answered = services.reply_as_staff(
        complaint=cases[0], body="Đã nhận.", by=lead, now=NOW + timedelta(hours=1), version=cases[0].version
    )
    Notification.objects.all().delete()

    result = reply(incident, lead)

    assert len(result.answered) == 1_000 and result.refused == [] and result.batches == 1
    first = dict(Complaint.objects.filter(incident=incident).values_list("id", "first_responded_at"))
    assert first.pop(answered.pk) == NOW + timedelta(hours=1)  # answered before: keeps its time
    assert set(first.values()) == {LATER}
    replies = ComplaintEvent.objects.filter(kind=EventKind.REPLY, created_at=LATER)
    assert replies.count() == 1_000 and len(set(replies.values_list("complaint_id", flat=True))) == 1_000
    assert {e.complaint.language: e.body for e in replies.select_related("complaint")[:4]} == {
        "vi": "Chúng tôi đã sửa lỗi.",
        "en": "We fixed it.",
    }
    notices = Notification.objects.filter(template="case_update")
    assert notices.count() == 1_000 and len(set(notices.values_list("email", flat=True))) == 1_000
    by_case = {c.pk: c.language for c in cases}
    for notice in notices:
        assert notice.language == by_case[notice.complaint_id]
        assert notice.context["kind"] == "reply"
        assert notice.context["note"] == (
            "We fixed it." if notice.language == "en" else "Chúng tôi đã sửa lỗi."
        )
    assert set(Complaint.objects.filter(incident=incident).values_list("status", flat=True)) == {Status.OPEN}

    reply(incident, lead, now=LATER + timedelta(hours=1))  # a second reply changes no first response
    assert dict(Complaint.objects.filter(incident=incident).values_list("id", "first_responded_at")) == {
        **first,
        answered.pk: NOW + timedelta(hours=1),
    }
    assert (
        ComplaintEvent.objects.filter(kind=EventKind.REPLY, created_at=LATER + timedelta(hours=1)).count()
        == 1_000
    )


def test_statements_grow_with_the_batches_not_with_the_cases(lead, monkeypatch):
    monkeypatch.setattr(incident_answers, "ANSWER_BATCH", 500)

    def statements(count):
        incident = declare(lead)
        linked(incident, count, status=Status.OPEN)
        with CaptureQueriesContext(connection) as queries:
            result = reply(incident, lead)
        assert len(result.answered) == count
        return len(queries.captured_queries), result.batches

    (small, two), (large, four) = statements(1_000), statements(2_000)
    assert (two, four) == (2, 4)
    per_batch = (large - small) / 2
    assert per_batch <= 10, (small, large)  # a locking read, one UPDATE, two INSERTs, a savepoint...
    assert small - 2 * per_batch <= 5  # and a few statements besides, whatever the number


def test_closed_and_withdrawn_cases_are_listed_as_refused_not_skipped(lead):
    incident = declare(lead)
    cases = linked(incident, 5, status=Status.OPEN)
    services.transition_complaint(complaint=cases[1], to_status=Status.WITHDRAWN, by=None, now=NOW)
    Complaint.objects.filter(pk=cases[2].pk).update(status=Status.CLOSED)
    result = reply(incident, lead)
    assert sorted(result.answered) == sorted(c.reference for c in (cases[0], *cases[3:]))
    with translation.override("en"):
        assert sorted((ref, str(why)) for ref, why in result.refused) == sorted(
            [(cases[1].reference, "closed or withdrawn"), (cases[2].reference, "closed or withdrawn")]
        )
    assert not ComplaintEvent.objects.filter(complaint__in=cases[1:3], kind=EventKind.REPLY).exists()


@pytest.mark.parametrize("held_for", [1, 2])
def test_a_case_someone_else_holds_is_tried_again_and_listed_if_still_held(lead, monkeypatch, held_for):
    incident = declare(lead)
    cases = linked(incident, 3, status=Status.OPEN)
    held = cases[1]
    real = incident_answers._answer_batch
    calls = []

    def others_hold(answer, ids, result):  # as SKIP LOCKED leaves a row someone else holds
        calls.append(ids)
        if len(calls) > held_for:
            return real(answer, ids, result)
        return [*real(answer, [i for i in ids if i != held.pk], result), held.pk]

    monkeypatch.setattr(incident_answers, "_answer_batch", others_hold)
    result = reply(incident, lead)
    assert calls[1:] == [[held.pk]]  # tried again, alone
    if held_for == 1:  # free by then: answered like the others
        assert held.reference in result.answered and result.refused == []
        assert ComplaintEvent.objects.filter(complaint=held, kind=EventKind.REPLY).count() == 1
    else:
        assert held.reference not in result.answered and len(result.answered) == 2
        assert [ref for ref, _why in result.refused] == [held.reference]


@pytest.mark.django_db(transaction=True)
def test_a_case_another_connection_holds_locked_is_listed_and_the_others_answered(lead):
    incident = declare(lead)
    cases = linked(incident, 3, status=Status.OPEN)
    held = cases[1]
    with row_locked_by_another_connection(Complaint, held.pk), lock_timeout("2s"):
        result = reply(incident, lead)  # SKIP LOCKED: neither waits for the lock nor times out
    assert sorted(result.answered) == sorted(case.reference for case in cases if case != held)
    assert [(ref, str(why)) for ref, why in result.refused] == [
        (held.reference, str(incident_answers.REFUSED_BUSY))
    ]
    assert not ComplaintEvent.objects.filter(complaint=held, kind=EventKind.REPLY).exists()
    assert Complaint.objects.get(pk=held.pk).first_responded_at is None
    later = LATER + timedelta(hours=1)
    assert held.reference in reply(incident, lead, now=later).answered  # once free, it is answered
    assert Complaint.objects.get(pk=held.pk).first_responded_at == later


def test_a_deadline_that_passed_before_the_bulk_reply_is_recorded_as_missed_first(lead):
    incident = declare(lead)
    bulk, alone = linked(incident, 2, status=Status.OPEN)
    Complaint.objects.filter(pk=alone.pk).update(incident=None)
    late = alone.first_response_due_at + timedelta(hours=3)  # no sweep ran since

    reply(incident, lead, now=late)
    services.reply_as_staff(complaint=alone, body="Fixed.", by=lead, now=late, version=alone.version)

    def outcome(complaint):
        fresh = Complaint.objects.get(pk=complaint.pk)
        kinds = list(
            ComplaintEvent.objects.filter(complaint=complaint, created_at=late)
            .order_by("id")
            .values_list("kind", flat=True)
        )
        escalation = Escalation.objects.get(complaint=complaint)
        return (
            fresh.first_response_breached_at,
            fresh.first_responded_at,
            fresh.escalation_level,
            fresh.next_check_at,
            kinds,
            (escalation.reason, escalation.due_at),
        )

    assert outcome(bulk) == outcome(alone)
    breached_at, responded_at, level, _next, kinds, _move = outcome(bulk)
    assert breached_at is not None and responded_at == late and level == 1
    assert kinds == [EventKind.ESCALATED, EventKind.REPLY]


def test_resolve_all_resolves_each_case_with_its_findings_and_its_sla_outcome(lead):
    incident = declare(lead)
    cases = linked(incident, 6, status=Status.OPEN)
    overdue = cases[0]
    Complaint.objects.filter(pk=overdue.pk).update(
        resolution_due_at=LATER - timedelta(hours=1), next_check_at=LATER - timedelta(hours=1)
    )
    services.request_information(
        complaint=cases[1], body="Số đơn hàng?", by=lead, now=NOW, version=cases[1].version
    )
    Notification.objects.all().delete()

    result = resolve_all(incident, lead)

    with translation.override("en"):
        assert [(ref, str(why)) for ref, why in result.refused] == [
            (cases[1].reference, "waiting for the complainant: resolve it on its own page once they answer")
        ]
    done = Complaint.objects.filter(incident=incident).exclude(pk=cases[1].pk)
    cause = found(overdue)["cause"]
    for case in done:
        assert (case.status, case.resolved_at, case.cause_id, case.outcome, case.remedy) == (
            Status.RESOLVED,
            LATER,
            cause.pk,
            "upheld",
            "apology",
        )
        assert case.first_responded_at == LATER and case.next_check_at is None
        assert case.resolution_summary == (
            "ShopNhanh restored log-in." if case.language == "en" else "ShopNhanh đã khôi phục đăng nhập."
        )
    missed = {c.pk for c in done if c.resolved_at > c.resolution_due_at}
    assert missed == {overdue.pk}
    assert Complaint.objects.get(pk=overdue.pk).resolution_breached_at is not None  # recorded first
    assert ComplaintEvent.objects.filter(kind=EventKind.RESOLVED, created_at=LATER).count() == 5
    notices = Notification.objects.filter(template="case_update", context__kind="resolved")
    assert notices.count() == 5
    assert Complaint.objects.get(pk=cases[1].pk).status == Status.AWAITING_COMPLAINANT

    again = resolve_all(incident, lead, now=LATER + timedelta(hours=1))
    assert again.answered == [] and len(again.refused) == 6


def test_resolve_all_refuses_a_cause_of_another_category_and_empty_texts_before_writing(lead):
    incident = declare(lead)
    linked(incident, 2, status=Status.OPEN)
    other = Category.objects.exclude(slug="account").exclude(causes=None).first()
    with pytest.raises(ActionRefused):
        resolve_all(incident, lead, cause=other.causes.filter(category=other).first())
    with pytest.raises(ActionRefused):
        services.reply_to_linked(incident=incident, body_vi="", body_en="Fixed.", by=lead, now=LATER)
    with pytest.raises(IncidentRefused):
        reply(incident, make_user(username="agent", role=Role.AGENT))
    assert not Complaint.objects.filter(incident=incident, status=Status.RESOLVED).exists()
    assert not ComplaintEvent.objects.filter(kind=EventKind.REPLY).exists()


def test_under_a_regime_each_first_resolution_sends_its_own_final_response_letter(lead):
    from escalation.models import LetterTemplate, Regime

    regime = Regime.objects.get(code="fca-disp")
    Category.objects.filter(slug="account").update(regime=regime)
    SlaPolicy.objects.filter(category__slug="account").delete()
    forget_policies()
    incident = declare(lead)
    cases = linked(incident, 4, status=Status.OPEN)
    Complaint.objects.filter(pk__in=[c.pk for c in cases]).update(regime=regime)
    LetterTemplate.objects.filter(regime=regime, kind=LetterKind.FINAL_RESPONSE, language="vi").delete()
    Notification.objects.all().delete()

    result = resolve_all(incident, lead)

    english = [c for c in cases if c.language == "en"]
    assert sorted(result.answered) == sorted(c.reference for c in english)
    assert {ref for ref, _why in result.refused} == {c.reference for c in cases if c.language == "vi"}
    letters = Notification.objects.filter(template="regime_letter")
    assert sorted(n.complaint_id for n in letters) == sorted(c.pk for c in english)
    for notice in letters:
        assert "ShopNhanh restored log-in." in notice.context["body"]
        event = ComplaintEvent.objects.get(complaint_id=notice.complaint_id, kind=EventKind.LETTER_SENT)
        assert event.payload["message_id"] == notice.message_id and event.body == notice.context["body"]
    assert not Notification.objects.filter(template="case_update").exists()
    assert all(Complaint.objects.get(pk=c.pk).final_response_at == LATER for c in english)


def test_resolve_all_on_1000_cases_resolves_each_once_in_statements_per_batch(lead, monkeypatch):
    monkeypatch.setattr(incident_answers, "ANSWER_BATCH", 500)

    def resolved(count):
        incident = declare(lead)
        cases = linked(incident, count)  # new: each is triaged by the resolution, in the same batch
        Notification.objects.all().delete()
        with CaptureQueriesContext(connection) as queries:
            result = resolve_all(incident, lead)
        assert len(result.answered) == count and result.refused == []
        done = Complaint.objects.filter(incident=incident)
        assert set(done.values_list("status", "resolved_at", "first_responded_at")) == {
            (Status.RESOLVED, LATER, LATER)
        }
        for kind in (EventKind.TRIAGED, EventKind.RESOLVED):
            events = ComplaintEvent.objects.filter(complaint__incident=incident, kind=kind)
            assert events.count() == count and events.values("complaint_id").distinct().count() == count
        notices = Notification.objects.filter(template="case_update", context__kind="resolved")
        assert sorted(notices.values_list("email", flat=True)) == sorted(c.contact_email for c in cases)
        return len(queries.captured_queries), result.batches

    (small, two), (large, four) = resolved(1_000), resolved(2_000)
    assert (two, four) == (2, 4)
    per_batch = (large - small) / 2
    assert per_batch <= 10, (small, large)


# Cases in each state a bulk reply meets, as field overrides of an open case filed at NOW: those
# whose clock is plain are answered in SQL (escalation.responses), the others through the clock.
STATES = [
    {"language": "vi"},
    {"language": "en", "complainant": True},
    {"first_responded_at": NOW + timedelta(minutes=30)},  # answered before: keeps its time
    {"next_check_at": LATER - timedelta(minutes=1), "first_response_due_at": LATER - timedelta(minutes=1)},
    {"first_response_breached_at": NOW, "escalation_level": 1, "level_since": NOW},
    {"resolution_warned_at": NOW},
    {"complexity": "complex"},  # on a business calendar below
    {"status": Status.AWAITING_COMPLAINANT, "clock_paused_at": NOW},
    {"status": Status.NEW},
    {"status": Status.CLOSED},
    {"contact_email": ""},  # anonymised: no notice
]


def cases_in_every_state(incident, complainant):
    model = make_complaint(incident=incident)
    model = services.transition_complaint(complaint=model, to_status=Status.OPEN, by=None, now=NOW)
    made = []
    for state in STATES:
        copy = Complaint.objects.get(pk=model.pk)
        copy.pk, copy.reference, copy.submission_key = None, new_reference(), None
        for name, value in state.items():
            if name == "complainant":
                copy.complainant = complainant
            else:
                setattr(copy, name, value)
        made.append(copy)
    model.delete()
    return Complaint.objects.bulk_create(made)


def written(case, incident):
    """What a reply wrote on a case: its row, its timeline entries and its notices (the incident's
    slug, in each entry and notice, as "SLUG")."""
    fresh = Complaint.objects.get(pk=case.pk)
    row = {name: getattr(fresh, name) for name in (*incident_answers.REPLY_WRITES, "version")}
    events = list(
        ComplaintEvent.objects.filter(complaint=case, created_at__gte=LATER)
        .order_by("id")
        .values("kind", "actor_id", "actor_role", "created_at", "public", "body", "payload")
    )
    notices = list(
        Notification.objects.filter(complaint=case)
        .order_by("id")
        .values("recipient_id", "email", "template", "language", "context", "created_at", "next_attempt_at")
    )
    return row, json.loads(json.dumps([events, notices], default=str).replace(incident.slug, "SLUG"))


def test_a_reply_in_sql_leaves_each_case_as_the_clock_in_python_does(lead, monkeypatch):
    from escalation import responses
    from escalation.models import BusinessCalendar

    SlaPolicy.objects.filter(complexity="complex").update(calendar=BusinessCalendar.objects.first())
    forget_policies()
    complainant = make_user(username="complainant")
    in_sql, in_python = declare(lead), declare(lead)
    cases = cases_in_every_state(in_sql, complainant)
    again = cases_in_every_state(in_python, complainant)
    Notification.objects.all().delete()
    real = responses.note_staff_responses
    plain = set()

    def spied(ids, **kwargs):
        plain.update(real(ids, **kwargs))
        return plain & set(ids)

    monkeypatch.setattr(responses, "note_staff_responses", spied)
    first = reply(in_sql, lead)
    monkeypatch.setattr(responses, "note_staff_responses", lambda ids, **kwargs: set())
    second = reply(in_python, lead)

    assert plain == {case.pk for case in cases[:3]} | {cases[5].pk, cases[10].pk}
    assert len(first.answered) == len(second.answered) == len(STATES) - 1
    for one, other in zip(cases, again, strict=True):
        assert written(one, in_sql) == written(other, in_python), STATES[cases.index(one)]
    forget_policies()
