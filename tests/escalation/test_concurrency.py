"""Eight sweeps at once over the same due set: exactly one escalation per trigger."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connections

from complaints.models import Complaint, ComplaintEvent, EventKind
from escalation import services
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
            results.append(services.sweep(now=at, batch_size=7))
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
    services.sweep(now=NOW + timedelta(hours=24))
    # Services save only the fields they change, so the stale copy cannot write the level back.
    from complaints import services as complaint_services

    complaint_services.send_reminder(complaint=stale, by=None, now=NOW + timedelta(hours=25))
    assert Complaint.objects.get(pk=complaint.pk).escalation_level == 1


def test_a_worker_clock_ten_minutes_fast_changes_nothing():
    from unittest import mock

    from escalation.tasks import sweep_sla

    db_now = services.database_now()
    # Due in five minutes by the database's clock.
    make_complaint(now=db_now - timedelta(hours=24) + timedelta(minutes=5))
    fast = db_now + timedelta(minutes=10)
    with mock.patch("django.utils.timezone.now", return_value=fast):
        assert sweep_sla.apply().get()["escalated"] == 0
    assert not Escalation.objects.exists()
    # The same sweep at the worker's wrong time would have escalated it.
    assert services.sweep(now=fast, dry_run=True).escalated == 1
