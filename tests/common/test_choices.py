"""get_FOO_display() from common.choices.ChoiceLabels: the same answers as Django's own, in the
language active when asked, at the cost of a lookup."""

from __future__ import annotations

from unittest import mock

from django.db.models import Model
from django.utils import translation

from complaints.models import ComplaintEvent, EventKind, Status
from tests.factories import make_complaint


def test_a_label_is_translated_into_the_language_active_when_it_is_asked_for():
    event = ComplaintEvent(kind=EventKind.EVIDENCE_ADDED, actor_role="complainant")
    with translation.override("en"):
        assert event.get_kind_display() == "Evidence added"
        assert event.get_actor_role_display() == "Complainant"
    with translation.override("vi"):
        assert event.get_kind_display() == "Đã thêm bằng chứng"
        assert event.get_actor_role_display() == "Người khiếu nại"


def test_every_choice_reads_as_django_itself_reads_it_and_an_unknown_value_shows_as_it_is(db):
    complaint = make_complaint()
    field = complaint._meta.get_field("status")
    for language in ("vi", "en"):
        with translation.override(language):
            for value, _label in Status.choices:
                complaint.status = value
                assert complaint.get_status_display() == Model._get_FIELD_display(complaint, field)
    complaint.status = "not-a-status"
    assert complaint.get_status_display() == "not-a-status"


def test_a_label_costs_one_translation_not_one_per_choice():
    """Django's own get_FOO_display() translates every label of the field on each call (some
    forty for an event's kind); the mixin's translates the one it shows."""
    event = ComplaintEvent(kind=EventKind.EVIDENCE_ADDED, actor_role="complainant")
    real = translation._trans.gettext
    calls = []

    def counting(message):
        calls.append(message)
        return real(message)

    with translation.override("vi"), mock.patch.object(translation._trans, "gettext", counting):
        event.get_kind_display()
    assert len(EventKind.choices) > 20
    assert len(calls) == 1
