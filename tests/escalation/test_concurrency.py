"""Eight sweeps at once over the same due set: exactly one escalation per trigger."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connections

from complaints.models import Complaint, ComplaintEvent, EventKind
from escalation import clock
from escalation import sweep as sweeping
from escalation.models import Escalation
from tests.factories import NOW, make_complaint

pytestmark = pytest.mark.django_db(transaction=True)


def test_eight_concurrent_sweeps_escalate_each_complaint_exactly_once():
    complaints = [make_complaint() for _ in range(60)]
    at = NOW + timedelta(hours=24)
    barrier = threading.Barrier(8)
    results, errors = [], []

    def run() -> None:
        try:
            barrier.wait()
            results.append(sweeping.sweep(now=at, batch_size=7))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert sum(r.escalated for r in results) == len(complaints)
    assert Escalation.objects.count() == len(complaints)
    assert ComplaintEvent.objects.filter(kind=EventKind.ESCALATED).count() == len(complaints)
    assert set(Complaint.objects.values_list("escalation_level", flat=True)) == {1}


def test_a_stale_copy_saved_after_an_escalation_does_not_undo_it():
    complaint = make_complaint()
    stale = Complaint.objects.get(pk=complaint.pk)  # an agent's form opened before the sweep
    sweeping.sweep(now=NOW + timedelta(hours=24))
    # Services save only the fields they change, so the stale copy cannot write the level back.
    from complaints import services as complaint_services

    complaint_services.send_reminder(complaint=stale, by=None, now=NOW + timedelta(hours=25))
    assert Complaint.objects.get(pk=complaint.pk).escalation_level == 1


def test_a_worker_clock_ten_minutes_fast_changes_nothing():
    from unittest import mock

    from escalation.tasks import sweep_sla

    db_now = clock.database_now()
    # Due in five minutes by the database's clock.
    make_complaint(now=db_now - timedelta(hours=24) + timedelta(minutes=5))
    fast = db_now + timedelta(minutes=10)
    with mock.patch("django.utils.timezone.now", return_value=fast):
        assert sweep_sla.apply().get()["escalated"] == 0
    assert not Escalation.objects.exists()
    # The same sweep at the worker's wrong time would have escalated it.
    assert sweeping.sweep(now=fast, dry_run=True).escalated == 1


def test_a_threaded_sweep_shares_the_batches_and_escalates_each_complaint_once(monkeypatch):
    complaints = [make_complaint() for _ in range(45)]
    helpers = []
    real_thread = threading.Thread

    def counting_thread(*args, **kwargs):
        thread = real_thread(*args, **kwargs)
        helpers.append(thread)
        return thread

    monkeypatch.setattr(sweeping.threading, "Thread", counting_thread)
    result = sweeping.sweep(now=NOW + timedelta(hours=24), batch_size=4, threads=3)
    assert len(helpers) == 2  # the first batch was full, so two helpers joined in
    assert (result.breached, result.escalated, result.failed) == (45, 45, [])
    assert result.batches >= 12  # 45 complaints in batches of 4, whoever took them
    assert Escalation.objects.count() == len(complaints)
    assert ComplaintEvent.objects.filter(kind=EventKind.ESCALATED).count() == len(complaints)
    assert set(Complaint.objects.values_list("escalation_level", flat=True)) == {1}
    assert sweeping.sweep(now=NOW + timedelta(hours=24), threads=3).escalated == 0


def test_a_sweep_with_one_batch_due_starts_no_thread(monkeypatch):
    make_complaint()
    monkeypatch.setattr(sweeping.threading, "Thread", None)  # any thread would fail here
    assert sweeping.sweep(now=NOW + timedelta(hours=24), batch_size=4, threads=3).escalated == 1


def test_an_error_in_a_sweep_thread_reaches_the_caller(monkeypatch):
    for _ in range(12):
        make_complaint()
    real = sweeping._sweep_batch
    calls = []

    def failing_after_the_first(*args, **kwargs):
        calls.append(1)
        if len(calls) > 1:
            raise RuntimeError("database went away")
        return real(*args, **kwargs)

    monkeypatch.setattr(sweeping, "_sweep_batch", failing_after_the_first)
    with pytest.raises(RuntimeError, match="database went away"):
        sweeping.sweep(now=NOW + timedelta(hours=24), batch_size=4, threads=2)
    # The first batch committed; the failed ones rolled back and are still due.
    assert Escalation.objects.count() == 4
    assert Complaint.objects.filter(next_check_at__lte=NOW + timedelta(hours=24)).count() == 8
