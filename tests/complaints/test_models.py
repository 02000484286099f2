"""The lifecycle table and the complaint's own rules."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from complaints.models import DISPUTE_WINDOW, TRANSITIONS, Complaint, Status, new_reference
from tests.factories import NOW

ALLOWED = {
    ("new", "open"),
    ("new", "withdrawn"),
    ("open", "awaiting_complainant"),
    ("open", "resolved"),
    ("open", "withdrawn"),
    ("awaiting_complainant", "open"),
    ("awaiting_complainant", "withdrawn"),
    ("resolved", "closed"),
    ("resolved", "open"),
    ("resolved", "withdrawn"),
}


@pytest.mark.parametrize("source", Status.values)
@pytest.mark.parametrize("target", Status.values)
def test_the_transition_table_is_exactly_the_designed_lifecycle(source, target):
    complaint = Complaint(status=source)
    assert complaint.can_transition_to(target) == ((source, target) in ALLOWED)


def test_every_status_has_a_row_in_the_table():
    assert set(TRANSITIONS) == set(Status.values)


def test_references_are_random_and_readable():
    references = {new_reference() for _ in range(2000)}
    assert len(references) == 2000
    assert all(re.fullmatch(r"KN-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}", r) for r in references)


def test_resolving_then_reopening_clears_the_resolution_time():
    complaint = Complaint(status=Status.OPEN)
    assert complaint.apply_status(Status.RESOLVED, now=NOW) == ["status", "status_changed_at", "resolved_at"]
    assert complaint.resolved_at == NOW
    complaint.apply_status(Status.OPEN, now=NOW + timedelta(days=1))
    assert complaint.resolved_at is None


def test_the_dispute_window_is_fourteen_days_to_the_second():
    complaint = Complaint(status=Status.RESOLVED, resolved_at=NOW)
    assert complaint.can_dispute(NOW + DISPUTE_WINDOW - timedelta(seconds=1))
    assert not complaint.can_dispute(NOW + DISPUTE_WINDOW)
    assert not complaint.can_dispute(NOW + DISPUTE_WINDOW + timedelta(seconds=1))


def test_a_reminder_is_allowed_again_exactly_24_hours_later():
    complaint = Complaint(status=Status.OPEN, last_reminder_at=NOW)
    assert not complaint.can_remind(NOW + timedelta(hours=24) - timedelta(seconds=1))
    assert complaint.can_remind(NOW + timedelta(hours=24))
    assert complaint.can_remind(NOW + timedelta(hours=24, seconds=1))
