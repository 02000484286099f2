"""Complaint services, with `now` passed in."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from accounts.models import Role
from complaints import refusals, services, tracking
from complaints.models import (
    DISPUTE_WINDOW,
    Complaint,
    ComplaintEvent,
    ContactAttempt,
    EventKind,
    Notification,
    Status,
    TrackingToken,
    hash_token,
)
from tests.factories import NOW, contact_data, intake_data, make_complaint, make_user, resolve

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent():
    return make_user(username="agent", role=Role.AGENT, preferred_language="en")


def kinds(complaint: Complaint) -> list[str]:
    return list(complaint.events.values_list("kind", flat=True))


def test_submitting_files_the_dossier_with_an_event_and_an_acknowledgement():
    complaint = make_complaint(contacts=[contact_data()])
    assert complaint.status == Status.NEW
    assert complaint.category.slug == "account"
    assert complaint.complexity == "simple"  # the subcategory's default
    assert complaint.submitted_at == NOW
    assert kinds(complaint) == [EventKind.SUBMITTED]
    contact = ContactAttempt.objects.get()
    assert contact.their_reference == "TICKET-991"
    assert complaint.events.get().payload == {"contacts": [contact.pk]}
    notice = Notification.objects.get()
    assert (notice.template, notice.email, notice.language) == ("complaint_received", "lan@example.org", "vi")
    assert notice.context == {"with_tracking_link": True}


def test_a_complex_subcategory_defaults_to_complex():
    from complaints.models import Subcategory

    sub = Subcategory.objects.get(slug="not-received")
    assert make_complaint(subcategory=sub).complexity == "complex"


def test_the_same_submission_key_files_one_complaint():
    key = uuid.uuid4()
    first, created = services.submit_complaint(
        data=intake_data(), contacts=[], by=None, now=NOW, submission_key=key
    )
    again, created_again = services.submit_complaint(
        data=intake_data(), contacts=[], by=None, now=NOW, submission_key=key
    )
    assert (created, created_again) == (True, False)
    assert first.pk == again.pk
    assert Complaint.objects.count() == 1
    assert Notification.objects.count() == 1


def test_a_signed_in_complainant_owns_the_complaint():
    user = make_user()
    complaint = make_complaint(by=user)
    assert complaint.complainant == user
    assert complaint.events.get().actor == user


def test_a_reply_to_a_request_for_information_reopens_the_case(agent):
    complaint = make_complaint()
    complaint = services.transition_complaint(complaint=complaint, to_status="open", by=agent, now=NOW)
    complaint = services.transition_complaint(
        complaint=complaint, to_status="awaiting_complainant", by=agent, now=NOW, note="Số đơn hàng là gì?"
    )
    complaint = services.reply_as_complainant(complaint=complaint, body="Đơn số 12345", by=None, now=NOW)
    assert complaint.status == Status.OPEN
    assert kinds(complaint)[-3:] == [EventKind.INFO_REQUESTED, EventKind.REPLY, EventKind.STATUS_CHANGED]


def test_a_reply_notifies_the_assignee_in_their_language(agent):
    complaint = make_complaint()
    Complaint.objects.filter(pk=complaint.pk).update(assignee=agent)
    services.reply_as_complainant(complaint=complaint, body="Xin chào", by=None, now=NOW)
    notice = Notification.objects.get(template="staff_alert")
    assert (notice.email, notice.language, notice.context) == (
        agent.email,
        "en",
        {"kind": "complainant_reply"},
    )


def test_a_reminder_can_be_sent_once_per_24_hours():
    complaint = make_complaint()
    services.send_reminder(complaint=complaint, by=None, now=NOW)
    with pytest.raises(refusals.ActionRefused):
        services.send_reminder(
            complaint=complaint, by=None, now=NOW + timedelta(hours=24) - timedelta(seconds=1)
        )
    services.send_reminder(complaint=complaint, by=None, now=NOW + timedelta(hours=24))
    assert kinds(complaint).count(EventKind.REMINDER) == 2
    assert ComplaintEvent.objects.filter(kind=EventKind.REMINDER, public=True).count() == 2


def test_a_complaint_can_be_withdrawn_any_time_before_it_is_closed(agent):
    complaint = resolve(make_complaint(), by=agent)
    complaint = services.withdraw_complaint(complaint=complaint, by=None, now=NOW, reason="Đã tự giải quyết")
    assert complaint.status == Status.WITHDRAWN
    with pytest.raises(refusals.TransitionNotAllowed):
        services.withdraw_complaint(complaint=complaint, by=None, now=NOW)


def test_a_closed_complaint_cannot_be_withdrawn_or_replied_to(agent):
    complaint = resolve(make_complaint(), by=agent)
    complaint = services.accept_resolution(complaint=complaint, by=None, now=NOW)
    assert complaint.status == Status.CLOSED
    with pytest.raises(refusals.TransitionNotAllowed):
        services.withdraw_complaint(complaint=complaint, by=None, now=NOW)
    with pytest.raises(refusals.ActionRefused):
        services.reply_as_complainant(complaint=complaint, body="?", by=None, now=NOW)


def test_a_forbidden_transition_says_so_in_the_users_language():
    from django.utils import translation

    complaint = make_complaint()
    with translation.override("vi"), pytest.raises(refusals.TransitionNotAllowed) as caught:
        services.transition_complaint(complaint=complaint, to_status="closed", by=None, now=NOW)
    assert "không thể" in caught.value.messages[0]
    assert Complaint.objects.get().status == Status.NEW


def test_a_dispute_within_14_days_reopens_the_case(agent):
    complaint = resolve(make_complaint(), by=agent)
    complaint = services.dispute_resolution(
        complaint=complaint, by=None, now=NOW + DISPUTE_WINDOW - timedelta(seconds=1), reason="Vẫn bị khoá"
    )
    assert complaint.status == Status.OPEN
    assert complaint.resolved_at is None
    assert kinds(complaint)[-1] == EventKind.DISPUTED


@pytest.mark.parametrize("after", [timedelta(0), timedelta(seconds=1)])
def test_a_dispute_at_or_after_14_days_is_refused(agent, after):
    complaint = resolve(make_complaint(), by=agent)
    with pytest.raises(refusals.ActionRefused):
        services.dispute_resolution(
            complaint=complaint, by=None, now=NOW + DISPUTE_WINDOW + after, reason="x"
        )
    assert Complaint.objects.get().status == Status.RESOLVED


def test_resolved_complaints_close_themselves_when_the_dispute_window_ends(agent):
    complaint = resolve(make_complaint(), by=agent)
    assert services.close_expired_resolutions(now=NOW + DISPUTE_WINDOW - timedelta(seconds=1)) == 0
    assert services.close_expired_resolutions(now=NOW + DISPUTE_WINDOW) == 1
    assert services.close_expired_resolutions(now=NOW + DISPUTE_WINDOW + timedelta(seconds=1)) == 0
    complaint.refresh_from_db()
    assert complaint.status == Status.CLOSED
    event = complaint.events.last()
    assert (event.kind, event.actor_role, event.payload["reason"]) == (
        "closed",
        "system",
        "dispute_window_ended",
    )


def test_handling_is_rated_once_after_resolution(agent):
    complaint = make_complaint()
    with pytest.raises(refusals.ActionRefused):
        services.rate_handling(complaint=complaint, rating=5, comment="", by=None, now=NOW)
    complaint = resolve(complaint, by=agent)
    complaint = services.rate_handling(complaint=complaint, rating=4, comment="Nhanh", by=None, now=NOW)
    assert (complaint.rating, complaint.rating_comment) == (4, "Nhanh")
    with pytest.raises(refusals.ActionRefused):
        services.rate_handling(complaint=complaint, rating=1, comment="", by=None, now=NOW)


def test_every_change_bumps_the_version():
    complaint = make_complaint()
    assert complaint.version == 1
    complaint = services.send_reminder(complaint=complaint, by=None, now=NOW)
    assert complaint.version == 2
    services.add_contact(complaint=complaint, data=contact_data(), by=None, now=NOW)
    assert Complaint.objects.get().version == 3


def test_a_tracking_token_works_until_it_expires(settings):
    complaint = make_complaint()
    token = tracking.issue_tracking_token(complaint=complaint, now=NOW)
    assert len(token) >= 43  # 256 bits, URL-safe base64
    assert TrackingToken.objects.get().token_hash == hash_token(token)
    assert not TrackingToken.objects.filter(token_hash=token).exists()
    expiry = NOW + settings.TRACKING_LINK_TTL
    assert tracking.redeem_tracking_token(token=token, now=expiry - timedelta(seconds=1)) == complaint
    assert tracking.redeem_tracking_token(token=token, now=expiry) is None
    assert tracking.redeem_tracking_token(token=token, now=expiry + timedelta(seconds=1)) is None
    assert tracking.redeem_tracking_token(token="not-a-token", now=NOW) is None


def test_resending_the_link_only_writes_when_reference_and_email_match():
    complaint = make_complaint()
    Notification.objects.all().delete()
    assert not services.resend_tracking_link(
        reference=complaint.reference, email="other@example.org", now=NOW
    )
    assert not services.resend_tracking_link(reference="KN-0000-0000", email="lan@example.org", now=NOW)
    assert Notification.objects.count() == 0
    assert services.resend_tracking_link(
        reference=complaint.reference.lower(), email="LAN@example.org", now=NOW
    )
    assert Notification.objects.get().template == "tracking_link"
