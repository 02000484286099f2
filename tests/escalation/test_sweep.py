"""The sweep on PostgreSQL: every deadline just before, at and just after; exactly once."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Role
from complaints import refusals
from complaints import services as complaint_services
from complaints.models import Complaint, ComplaintEvent, EventKind, Notification
from escalation import clock, policies
from escalation import sweep as sweeping
from escalation.models import Escalation, Reason
from tests.factories import NOW, make_complaint, make_user, sign_in
from tests.locks import lock_timeout, row_locked_by_another_connection

pytestmark = pytest.mark.django_db

HOUR = timedelta(hours=1)
SECOND = timedelta(seconds=1)


@pytest.fixture
def staff():
    return {
        "agent": make_user(username="agent", role=Role.AGENT),
        "lead": make_user(username="lead", role=Role.TEAM_LEAD),
        "manager": make_user(username="manager", role=Role.MANAGER),
    }


def fresh(complaint: Complaint) -> Complaint:
    return Complaint.objects.get(pk=complaint.pk)


def test_intake_sets_the_deadlines_of_the_policy():
    complaint = make_complaint()
    assert complaint.first_response_due_at == NOW + 24 * HOUR
    assert complaint.resolution_due_at == NOW + timedelta(days=3)
    assert complaint.next_check_at == NOW + 18 * HOUR  # warning at 75 % of the first response target


def test_the_warning_fires_once_at_the_warning_point(staff):
    complaint = make_complaint()
    assert sweeping.sweep(now=NOW + 18 * HOUR - SECOND).warned == 0
    assert sweeping.sweep(now=NOW + 18 * HOUR).warned == 1
    assert sweeping.sweep(now=NOW + 18 * HOUR + SECOND).warned == 0
    event = ComplaintEvent.objects.get(kind=EventKind.SLA_WARNING)
    assert not event.public
    notice = Notification.objects.get(template="staff_alert")
    assert (notice.email, notice.context) == (staff["agent"].email, {"kind": "sla_warning"})
    assert fresh(complaint).next_check_at == NOW + 24 * HOUR


def test_a_first_response_breach_escalates_one_level_exactly_at_the_deadline(staff):
    complaint = make_complaint()
    sweeping.sweep(now=NOW + 18 * HOUR)
    assert sweeping.sweep(now=NOW + 24 * HOUR - SECOND).breached == 0
    result = sweeping.sweep(now=NOW + 24 * HOUR)
    assert (result.breached, result.escalated) == (1, 1)
    complaint = fresh(complaint)
    assert complaint.escalation_level == 1
    assert complaint.first_response_breached_at == NOW + 24 * HOUR
    escalation = Escalation.objects.get()
    assert (escalation.from_level, escalation.to_level, escalation.reason) == (
        0,
        1,
        Reason.FIRST_RESPONSE_BREACHED,
    )
    assert escalation.deadline_at == NOW + 24 * HOUR
    event = complaint.events.latest("pk")
    assert event.kind == EventKind.ESCALATED and event.public
    assert event.payload == {
        "from": 0,
        "to": 1,
        "reason": Reason.FIRST_RESPONSE_BREACHED,
        "deadline": "first_response",
        "due_at": (NOW + 24 * HOUR).isoformat(),
        "fell_due_at": (NOW + 24 * HOUR).isoformat(),
    }
    assert complaint.events.filter(kind=EventKind.SLA_BREACHED).count() == 0
    assert Notification.objects.filter(template="staff_alert", email=staff["lead"].email).exists()
    told = Notification.objects.get(template="case_update", email=complaint.contact_email)
    assert (told.language, told.context["kind"]) == ("vi", "escalated")
    assert sweeping.sweep(now=NOW + 24 * HOUR + SECOND).escalated == 0


def test_two_sweeps_at_the_same_moment_escalate_once(staff):
    make_complaint()
    sweeping.sweep(now=NOW + 24 * HOUR)
    sweeping.sweep(now=NOW + 24 * HOUR)
    assert Escalation.objects.count() == 1


def test_an_unresolved_case_climbs_after_climb_after_and_stops_at_the_top(staff):
    complaint = make_complaint()
    sweeping.sweep(now=NOW + 24 * HOUR)  # -> Team lead, climbs after 48 h there
    assert sweeping.sweep(now=NOW + 72 * HOUR - SECOND).escalated == 0
    result = sweeping.sweep(now=NOW + 72 * HOUR)  # the resolution deadline too: one bump, to Manager
    assert fresh(complaint).escalation_level == 2
    assert result.escalated == 1
    assert sweeping.sweep(now=NOW + timedelta(days=30)).escalated == 0
    assert list(Escalation.objects.values_list("to_level", flat=True)) == [1, 2]
    assert fresh(complaint).next_check_at is None


def test_a_resolved_complaint_is_never_escalated(staff):
    from tests.factories import resolve

    complaint = resolve(make_complaint(), by=staff["agent"], now=NOW + HOUR)
    assert complaint.next_check_at is None
    assert sweeping.sweep(now=NOW + timedelta(days=30)).escalated == 0
    assert not Escalation.objects.exists()


def test_a_public_staff_message_satisfies_the_first_response(staff):
    complaint = make_complaint()
    complaint = complaint_services.transition_complaint(
        complaint=complaint, to_status="open", by=staff["agent"], now=NOW
    )
    complaint = complaint_services.transition_complaint(
        complaint=complaint,
        to_status="awaiting_complainant",
        by=staff["agent"],
        now=NOW + HOUR,
        note="Mã đơn?",
    )
    assert fresh(complaint).first_responded_at == NOW + HOUR


def test_waiting_for_the_complainant_pauses_the_clock_and_resuming_moves_the_deadlines(staff):
    complaint = make_complaint()
    complaint = complaint_services.transition_complaint(
        complaint=complaint, to_status="open", by=staff["agent"], now=NOW
    )
    complaint = complaint_services.transition_complaint(
        complaint=complaint, to_status="awaiting_complainant", by=staff["agent"], now=NOW + 2 * HOUR, note="?"
    )
    assert fresh(complaint).next_check_at is None
    assert sweeping.sweep(now=NOW + timedelta(days=10)).escalated == 0
    complaint = complaint_services.reply_as_complainant(
        complaint=complaint, body="Đây", by=None, now=NOW + 12 * HOUR
    )
    complaint = fresh(complaint)
    assert complaint.resolution_due_at == NOW + timedelta(days=3) + 10 * HOUR
    assert complaint.next_check_at is not None


def waited(complaint: Complaint, agent, *, asked, answered) -> Complaint:
    """The case triaged an hour before `asked`, staff asking the complainant at `asked` (the
    clock paused), the complainant answering at `answered` (resumed); read again."""
    complaint = complaint_services.transition_complaint(
        complaint=fresh(complaint), to_status="open", by=agent, now=asked - HOUR
    )
    complaint = complaint_services.transition_complaint(
        complaint=complaint, to_status="awaiting_complainant", by=agent, now=asked, note="?"
    )
    complaint_services.reply_as_complainant(complaint=complaint, body="Đây", by=None, now=answered)
    return fresh(complaint)


def test_a_wait_after_a_deadline_was_missed_leaves_its_date_and_moves_the_running_one(staff):
    from escalation.explain import service_deadlines

    complaint = make_complaint()
    assert sweeping.sweep(now=NOW + 24 * HOUR).breached == 1  # the first response is missed
    complaint = waited(complaint, staff["agent"], asked=NOW + 26 * HOUR, answered=NOW + 36 * HOUR)
    # The missed date stays as it was missed; the resolution, still running, moves by the wait.
    assert complaint.first_response_due_at == NOW + 24 * HOUR
    assert complaint.first_response_breached_at == NOW + 24 * HOUR
    assert complaint.resolution_due_at == NOW + timedelta(days=3) + 10 * HOUR
    accounts = service_deadlines(complaint)
    steps = {
        kind: [(s.kind, s.kept) for s in account.explanation.steps] for kind, account in accounts.items()
    }
    assert steps == {"first_response": [("paused", True)], "resolution": [("paused", False)]}
    assert not accounts["first_response"].recounted and not accounts["resolution"].recounted


def test_the_case_page_says_a_wait_after_the_resolution_was_missed_left_its_date(staff, client):
    complaint = make_complaint()
    sweeping.sweep(now=NOW + 24 * HOUR)
    assert sweeping.sweep(now=NOW + 72 * HOUR).breached == 1  # the resolution is missed too
    complaint = waited(complaint, staff["agent"], asked=NOW + 74 * HOUR, answered=NOW + 84 * HOUR)
    assert complaint.resolution_due_at == NOW + 72 * HOUR
    sign_in(client, staff["lead"])
    page = client.get(reverse("staff:case", args=[complaint.reference]), HTTP_ACCEPT_LANGUAGE="vi")
    text = page.content.decode()
    assert "thời hạn này đã được đáp ứng hoặc đã bị lỡ, nên ngày hạn giữ nguyên" in text
    assert "nên hạn chuyển sang" not in text  # no wait moved it


def test_a_dispute_restarts_the_resolution_clock(staff):
    from tests.factories import resolve

    complaint = resolve(make_complaint(), by=staff["agent"], now=NOW + HOUR)
    complaint = complaint_services.dispute_resolution(
        complaint=complaint, by=None, now=NOW + 2 * HOUR, reason="Chưa"
    )
    assert fresh(complaint).resolution_due_at == NOW + 2 * HOUR + timedelta(days=3)


def test_a_dry_run_changes_nothing(staff):
    complaint = make_complaint()
    result = sweeping.sweep(now=NOW + 24 * HOUR, dry_run=True)
    assert result.escalated == 1
    assert fresh(complaint).escalation_level == 0
    assert not Escalation.objects.exists()


def test_one_broken_complaint_does_not_block_the_rest(staff, monkeypatch, caplog):
    broken, fine = make_complaint(), make_complaint()
    real = policies.policy_for

    def policy_for(complaint):
        if complaint.id == broken.pk:
            raise RuntimeError("corrupt policy")
        return real(complaint)

    monkeypatch.setattr(sweeping, "policy_for", policy_for)
    result = sweeping.sweep(now=NOW + 24 * HOUR)
    assert result.escalated == 1 and result.failed == [broken.pk]
    assert fresh(fine).escalation_level == 1
    assert fresh(broken).next_check_at == NOW + 24 * HOUR + sweeping.RETRY_BROKEN_AFTER
    assert f"sweep failed on complaint {broken.pk}" in caplog.text


def test_the_statements_grow_with_batches_not_with_complaints(staff):
    for _ in range(30):
        make_complaint()
    with CaptureQueriesContext(connection) as queries:
        result = sweeping.sweep(now=NOW + 24 * HOUR, batch_size=10)
    assert result.escalated == 30 and result.batches == 3
    per_batch = len(queries.captured_queries) / 3
    assert per_batch <= 12


def test_the_sla_sweep_command_runs_the_same_sweep(staff, capsys):
    make_complaint()
    call_command("sla_sweep", "--at", (NOW + 24 * HOUR).isoformat(), "--dry-run")
    assert "would have: warned 0, breached 1, escalated 1" in capsys.readouterr().out
    call_command("sla_sweep", "--at", (NOW + 24 * HOUR).isoformat())
    assert "warned 0, breached 1, escalated 1" in capsys.readouterr().out
    assert Escalation.objects.count() == 1


def test_a_dry_run_reports_every_batch_in_the_conditional_and_changes_nothing(
    staff, settings, capsys, caplog
):
    settings.SLA_SWEEP_BATCH_SIZE = 2  # five due complaints: three batches
    for _ in range(5):
        make_complaint()
    at = NOW + 24 * HOUR

    def everything() -> list[list[dict]]:
        return [
            list(model.objects.order_by("pk").values())
            for model in (Complaint, ComplaintEvent, Escalation, Notification)
        ]

    before = everything()
    with caplog.at_level(logging.INFO, logger="escalation.sweep"):
        call_command("sla_sweep", "--at", at.isoformat(), "--dry-run")
    out = capsys.readouterr().out
    assert "would have: warned 0, breached 5, escalated 5" in out
    assert "nothing was changed" in out
    said = [record.getMessage() for record in caplog.records if record.name == "escalation.sweep"]
    assert len([line for line in said if line.startswith("would escalate KN-")]) == 5
    assert not [line for line in said if line.startswith("escalated")]
    assert everything() == before
    # The sweep itself then does what the dry run said.
    assert sweeping.sweep(now=at, batch_size=2).escalated == 5


def python_clock_at(patch: pytest.MonkeyPatch, moment: datetime) -> None:
    """Make every Python clock the sweep task could read say `moment`.

    Django's `timezone.now`, `datetime.now`/`utcnow`/`today` through the `datetime` name
    of the escalation modules, and `time.time`. (Not the `datetime` module's own class:
    Django's `isinstance(value, datetime.datetime)` checks would then misread every real
    datetime as a date.)
    """

    class PythonClock(datetime):
        @classmethod
        def now(cls, tz=None):
            return moment.astimezone(tz) if tz is not None else moment.astimezone().replace(tzinfo=None)

        @classmethod
        def utcnow(cls):
            return moment.astimezone(UTC).replace(tzinfo=None)

        @classmethod
        def today(cls):
            return cls.now()

    patch.setattr("django.utils.timezone.now", lambda: moment)
    for module in ("escalation.clock", "escalation.sweep", "escalation.moves", "escalation.tasks"):
        patch.setattr(f"{module}.datetime", PythonClock, raising=False)
    patch.setattr("time.time", moment.timestamp)


def test_the_sweep_task_reads_the_database_clock(staff, monkeypatch):
    import time

    from django.utils import timezone

    from escalation.tasks import sweep_sla

    # Inside the test's transaction PostgreSQL's CURRENT_TIMESTAMP stays at the
    # transaction's start: the task reads this very moment.
    db_now = clock.database_now()
    assert db_now.tzinfo is not None
    # First response due exactly at the database's now: the task must escalate it.
    due = make_complaint(now=db_now - 24 * HOUR)
    # By the database's clock a second short of its warning point (its deadline is 6 h
    # later); by the Python clock, three days ahead, past both of its deadlines.
    not_yet = make_complaint(now=db_now - 18 * HOUR + SECOND)
    not_yet_check = fresh(not_yet).next_check_at
    assert not_yet_check == db_now + SECOND
    python_now = db_now + timedelta(days=3)

    with monkeypatch.context() as patch:
        python_clock_at(patch, python_now)
        # The Python clock disagrees with the database's.
        assert timezone.now() == python_now
        assert sweeping.datetime.now(UTC) == python_now
        assert time.time() == python_now.timestamp()
        assert clock.database_now() == db_now
        result = sweep_sla.apply().get()

    assert result == {"warned": 0, "breached": 1, "escalated": 1, "skipped": 0, "failed": 0}
    due = fresh(due)
    assert (due.escalation_level, due.first_response_breached_at, due.level_since) == (1, db_now, db_now)
    escalation = Escalation.objects.get()
    assert (escalation.complaint_id, escalation.created_at) == (due.pk, db_now)
    # Nothing was done to the complaint that is only due by the Python clock.
    not_yet = fresh(not_yet)
    assert (not_yet.escalation_level, not_yet.first_response_warned_at, not_yet.next_check_at) == (
        0,
        None,
        not_yet_check,
    )
    # At the Python clock's time the sweep would have breached both: the first one's resolution
    # deadline and both of the second's.
    assert sweeping.sweep(now=python_now, dry_run=True).breached == 3


def test_the_case_page_shows_the_deadlines_in_the_viewers_language_and_time_zone(client, staff):
    user = make_user()
    complaint = make_complaint(by=user)
    sweeping.sweep(now=NOW + 24 * HOUR)
    sign_in(client, user)
    body = client.get(f"/complaints/{complaint.reference}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "First response" in body and "missed" in body
    assert "Now handled at the “Team lead” level" in body
    # 3 March 2026 03:00 UTC is 10:00 in Ho Chi Minh City.
    assert 'datetime="2026-03-03T10:00:00+07:00"' in body
    body_vi = client.get(f"/complaints/{complaint.reference}/", HTTP_ACCEPT_LANGUAGE="vi").content.decode()
    assert "Trưởng nhóm" in body_vi


def test_reclassifying_recomputes_the_deadlines_with_an_event(staff):
    from complaints.models import Subcategory

    complaint = make_complaint()
    complex_sub = Subcategory.objects.get(slug="not-received")
    complaint = complaint_services.reclassify_complaint(
        complaint=complaint,
        subcategory=complex_sub,
        complexity="complex",
        by=staff["agent"],
        now=NOW + HOUR,
        version=complaint.version,
    )
    complaint = fresh(complaint)
    assert complaint.resolution_due_at == NOW + timedelta(days=10)
    assert complaint.category.slug == "quality"
    event = complaint.events.last()
    assert (event.kind, event.public) == (EventKind.TRIAGED, False)
    assert event.payload["to"]["resolution_due_at"] == (NOW + timedelta(days=10)).isoformat()
    with pytest.raises(refusals.StaleForm):
        complaint_services.reclassify_complaint(
            complaint=complaint,
            subcategory=complex_sub,
            complexity="simple",
            by=staff["agent"],
            now=NOW,
            version=complaint.version - 1,
        )


def test_a_sweep_with_nothing_due_is_one_locking_select_in_next_check_order(staff):
    # The plan at scale (an index probe of complaint_next_check_idx) is checked by `make bench`.
    make_complaint()
    policies.ladder()  # the ladder is cached per process
    with CaptureQueriesContext(connection) as queries:
        assert sweeping.sweep(now=NOW + HOUR).as_dict()["warned"] == 0
    selects = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT")]
    assert len(selects) == 1
    assert "next_check_at" in selects[0] and "SKIP LOCKED" in selects[0] and "LIMIT" in selects[0]


@pytest.mark.django_db(transaction=True)  # committed rows, visible to the other connection
def test_a_complaint_locked_by_another_sweep_is_left_alone_and_the_rest_are_swept(staff, monkeypatch):
    monkeypatch.setattr("complaints.records.nudge_delivery", lambda: None)  # no task in the broker
    locked = make_complaint(now=NOW - HOUR)  # the first due: waiting for it would hold up the rest
    others = [make_complaint(), make_complaint()]
    locked_check = fresh(locked).next_check_at
    at = NOW + 24 * HOUR

    with row_locked_by_another_connection(Complaint, locked.pk), lock_timeout("2s"):
        try:
            result = sweeping.sweep(now=at)
        except OperationalError as error:  # lock_timeout: it waited for the other sweep's row
            pytest.fail(f"the sweep waited for the locked complaint: {error}")

    assert (result.breached, result.escalated, result.failed) == (2, 2, [])
    assert [fresh(other).escalation_level for other in others] == [1, 1]
    untouched = fresh(locked)
    assert (untouched.escalation_level, untouched.first_response_warned_at, untouched.next_check_at) == (
        0,
        None,
        locked_check,
    )
    assert not Escalation.objects.filter(complaint=locked).exists()
    # Left for the sweep that holds it (or the next one), not lost.
    assert sweeping.sweep(now=at).escalated == 1
    assert fresh(locked).escalation_level == 1


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "The first-response deadline ({due}) passed; the case moved up to “Team lead”."),
        ("vi", "Đã quá hạn phản hồi đầu tiên ({due}); hồ sơ được chuyển lên cấp “Trưởng nhóm”."),
    ],
)
def test_the_timeline_says_which_deadline_broke_and_where_the_case_went(staff, client, language, expected):
    from django.urls import reverse
    from django.utils import formats, timezone, translation

    owner = make_user(username=f"owner-{language}")
    owner.preferred_language = language
    owner.save(update_fields=["preferred_language"])
    complaint = make_complaint(by=owner)
    sweeping.sweep(now=NOW + 24 * HOUR)
    sign_in(client, owner)
    response = client.get(
        reverse("complaints:detail", args=[complaint.reference]), HTTP_ACCEPT_LANGUAGE=language
    )
    with translation.override(language), timezone.override("Asia/Ho_Chi_Minh"):
        due = formats.date_format(timezone.localtime(NOW + 24 * HOUR), "DATETIME_FORMAT")
    assert expected.format(due=due) in response.content.decode()


def test_a_trigger_already_taken_is_skipped_without_events_or_notices(staff):
    complaint = make_complaint()
    due = NOW + 24 * HOUR
    Escalation.objects.create(
        complaint=complaint,
        from_level=0,
        to_level=1,
        reason=Reason.FIRST_RESPONSE_BREACHED,
        trigger_key=f"{complaint.pk}:breach_first_response:0:{due.isoformat()}",
        due_at=due,
        created_at=NOW,
    )
    events_before = complaint.events.count()
    notices_before = Notification.objects.count()
    result = sweeping.sweep(now=due)
    assert (result.skipped, result.escalated, result.breached) == (1, 0, 0)
    assert Escalation.objects.count() == 1
    assert complaint.events.count() == events_before
    assert Notification.objects.count() == notices_before
    # The clock still moves on, so the same trigger is not looked at again.
    assert fresh(complaint).first_response_breached_at == due
    assert sweeping.sweep(now=due + SECOND).skipped == 0


def test_reclassifying_after_a_wait_for_the_complainant_still_leaves_the_wait_uncounted(staff):
    from complaints.models import Subcategory

    complaint = make_complaint()
    complaint = complaint_services.request_information(
        complaint=complaint,
        body="Cần ảnh chụp màn hình.",
        by=staff["agent"],
        now=NOW + HOUR,
        version=complaint.version,
    )
    complaint = complaint_services.reply_as_complainant(
        complaint=complaint, body="Đây ạ.", by=None, now=NOW + 5 * HOUR
    )
    assert fresh(complaint).resolution_due_at == NOW + 72 * HOUR + 4 * HOUR  # the four hours' wait
    complaint = fresh(complaint)
    complaint = complaint_services.reclassify_complaint(
        complaint=complaint,
        subcategory=Subcategory.objects.get(slug="not-received"),
        complexity="complex",
        by=staff["agent"],
        now=NOW + 6 * HOUR,
        version=complaint.version,
    )
    # Ten days from the clock's start under the new policy, and still not the wait.
    assert fresh(complaint).resolution_due_at == NOW + timedelta(days=10) + 4 * HOUR
