"""The complainant's pages through the test client."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from complaints.access import GUEST_COOKIE
from complaints.models import Complaint, ContactAttempt, EventKind, Notification, Status
from complaints.notifications import deliver_outbox
from tests.complaints.conftest import intake_post
from tests.factories import make_complaint, make_user, resolve, sign_in

pytestmark = pytest.mark.django_db


def file_as_guest(client, **overrides) -> Complaint:
    response = client.post(reverse("complaints:create"), intake_post(**overrides))
    assert response.status_code == 302, response.content.decode()[:2000]
    return Complaint.objects.get(reference=response["Location"].split("/")[-3])


def test_the_intake_page_shows_every_part_of_the_dossier(client):
    response = client.get(reverse("complaints:create"), HTTP_ACCEPT_LANGUAGE="en")
    body = response.content.decode()
    assert response.status_code == 200
    for name in (
        "subcategory",
        "provider_name",
        "subject",
        "description",
        "desired_outcome",
        "occurred_at",
        "first_reported_at",
        "provider_username",
        "provider_email",
        "provider_account_id",
        "steps_taken",
        "contact_name",
        "contact_email",
        "contact_phone",
        "language",
        "contacts-0-channel",
        "contacts-0-summary",
        "submission_key",
    ):
        assert f'name="{name}"' in body, name
    assert '<optgroup label="Account">' in body
    assert "What makes a complaint strong" in body


def test_a_guest_files_a_complaint_and_can_follow_it_in_the_same_session(client):
    complaint = file_as_guest(
        client,
        **{
            "contacts-0-channel": "chat",
            "contacts-0-contacted_at": "2026-01-11T08:00",
            "contacts-0-summary": "Họ hứa gọi lại.",
            "contacts-0-their_reference": "T-1",
        },
    )
    assert complaint.complainant is None
    assert complaint.occurred_at == timezone.make_aware(timezone.datetime(2026, 1, 10, 9, 30))
    assert ContactAttempt.objects.get().their_reference == "T-1"
    submitted = client.get(reverse("complaints:submitted", args=[complaint.reference]))
    assert complaint.reference in submitted.content.decode()
    detail = client.get(reverse("complaints:detail", args=[complaint.reference]))
    assert detail.status_code == 200
    assert "Họ hứa gọi lại." in detail.content.decode()


def test_an_invalid_submission_keeps_everything_typed_and_shows_the_errors(client):
    response = client.post(
        reverse("complaints:create"),
        intake_post(
            subject="",
            contact_email="not-an-email",
            description="Mô tả dài của tôi",
            **{"contacts-0-summary": "chưa có ngày"},
        ),
        HTTP_ACCEPT_LANGUAGE="en",
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "Mô tả dài của tôi" in body
    assert "not-an-email" in body
    assert "chưa có ngày" in body
    assert "Enter a valid email address." in body
    assert Complaint.objects.count() == 0


def test_a_double_submit_files_one_complaint(client):
    key = str(uuid.uuid4())
    first = client.post(reverse("complaints:create"), intake_post(submission_key=key))
    second = client.post(reverse("complaints:create"), intake_post(submission_key=key))
    assert first["Location"] == second["Location"]
    assert Complaint.objects.count() == 1


def test_a_form_sent_again_from_another_browser_gets_neither_the_complaint_nor_access_to_it(client):
    key = str(uuid.uuid4())
    filed = client.post(reverse("complaints:create"), intake_post(submission_key=key))
    complaint = Complaint.objects.get()
    assert filed["Location"] == reverse("complaints:submitted", args=[complaint.reference])

    stranger = Client()
    again = stranger.post(
        reverse("complaints:create"), intake_post(submission_key=key), HTTP_ACCEPT_LANGUAGE="en"
    )

    assert again.status_code == 302 and again["Location"] == reverse("complaints:find")
    assert GUEST_COOKIE not in again.cookies
    assert Complaint.objects.count() == 1
    page = stranger.get(reverse("complaints:find"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "This form was sent before" in page
    assert stranger.get(reverse("complaints:detail", args=[complaint.reference])).status_code == 404
    assert stranger.get(reverse("complaints:submitted", args=[complaint.reference])).status_code == 404
    # The browser that filed it still follows it when it sends the form again.
    assert (
        client.post(reverse("complaints:create"), intake_post(submission_key=key))["Location"]
        == (filed["Location"])
    )


def test_a_date_in_the_future_or_a_report_before_the_event_is_refused(client):
    future = (timezone.localtime() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        reverse("complaints:create"),
        intake_post(occurred_at=future, first_reported_at="2025-01-01T00:00"),
        HTTP_ACCEPT_LANGUAGE="en",
    )
    body = response.content.decode()
    assert "This date is in the future." in body
    response = client.post(
        reverse("complaints:create"),
        intake_post(first_reported_at="2026-01-01T00:00"),
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert "You cannot have reported it before it happened." in response.content.decode()


def test_a_signed_in_complainant_sees_it_under_my_complaints(client):
    user = make_user()
    sign_in(client, user)
    complaint = file_as_guest(client)
    assert complaint.complainant == user
    client.logout()
    sign_in(client, user)
    response = client.get(reverse("complaints:mine"))
    assert complaint.reference in response.content.decode()


def test_my_complaints_needs_an_account(client):
    response = client.get(reverse("complaints:mine"))
    assert response.status_code == 302


def test_the_tracking_link_from_the_email_opens_the_case_on_a_new_device(
    client, django_capture_on_commit_callbacks
):
    complaint = file_as_guest(client)
    deliver_outbox(now=timezone.now())
    path = re.search(r"https?://[^/\s]+(/complaints/track/\S+/)", mail.outbox[0].body).group(1)
    client.cookies.clear()  # another device
    assert client.get(reverse("complaints:detail", args=[complaint.reference])).status_code == 404
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == reverse("complaints:detail", args=[complaint.reference])
    assert response["Referrer-Policy"] == "no-referrer"
    assert client.get(response["Location"]).status_code == 200


def test_an_unknown_or_expired_tracking_link_is_404(client):
    assert client.get(reverse("complaints:track", args=["x" * 43])).status_code == 404


def test_find_my_complaint_answers_the_same_whether_or_not_it_matches(client):
    complaint = make_complaint()
    Notification.objects.all().delete()
    url = reverse("complaints:find")
    matching = client.post(url, {"reference": complaint.reference, "email": "lan@example.org"}, follow=True)
    other = client.post(url, {"reference": complaint.reference, "email": "x@example.org"}, follow=True)
    strip = lambda r: re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", r.content.decode())  # noqa: E731
    assert strip(matching) == strip(other)
    assert Notification.objects.count() == 1


def test_find_my_complaint_is_rate_limited(client, settings):
    settings.FIND_COMPLAINT_LIMIT = 2
    from django.core.cache import cache

    cache.clear()
    url = reverse("complaints:find")
    for _ in range(2):
        assert client.post(url, {"reference": "KN-AAAA-AAAA", "email": "a@example.org"}).status_code == 302
    response = client.post(
        url, {"reference": "KN-AAAA-AAAA", "email": "a@example.org"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 429
    assert "Too many requests" in response.content.decode()
    assert int(response["Retry-After"]) > 0


def test_the_complainant_replies_reminds_and_adds_a_contact(client):
    complaint = file_as_guest(client)
    detail = reverse("complaints:detail", args=[complaint.reference])
    assert (
        client.post(reverse("complaints:reply", args=[complaint.reference]), {"body": "Còn ai ở đó không?"})[
            "Location"
        ]
        == detail
    )
    client.post(reverse("complaints:remind", args=[complaint.reference]))
    response = client.post(
        reverse("complaints:remind", args=[complaint.reference]), follow=True, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert "You already sent a reminder in the last 24 hours" in response.content.decode()
    client.post(
        reverse("complaints:add_contact", args=[complaint.reference]),
        {
            "contact-channel": "phone",
            "contact-contacted_at": "2026-01-12T10:00",
            "contact-summary": "Gọi 1900",
        },
    )
    kinds = list(complaint.events.values_list("kind", flat=True))
    assert kinds == [EventKind.SUBMITTED, EventKind.REPLY, EventKind.REMINDER, EventKind.CONTACT_LOGGED]


def test_an_empty_reply_re_renders_the_page_with_the_error(client):
    complaint = file_as_guest(client)
    response = client.post(
        reverse("complaints:reply", args=[complaint.reference]), {"body": "   "}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 400
    assert "Write a message first." in response.content.decode()


def test_accept_dispute_and_rate_after_resolution(client):
    complaint = file_as_guest(client)
    agent = make_user(role=Role.AGENT)
    resolve(complaint, by=agent, now=timezone.now())
    response = client.post(
        reverse("complaints:dispute", args=[complaint.reference]), {"dispute-reason": "Chưa"}
    )
    assert response.status_code == 302
    complaint.refresh_from_db()
    assert complaint.status == Status.OPEN
    resolve(complaint, by=agent, now=timezone.now())
    client.post(reverse("complaints:accept", args=[complaint.reference]))
    client.post(
        reverse("complaints:rate", args=[complaint.reference]), {"rating-rating": "5", "rating-comment": "ok"}
    )
    complaint.refresh_from_db()
    assert (complaint.status, complaint.rating) == (Status.CLOSED, 5)


def test_a_forbidden_action_is_a_clear_message_not_an_error(client):
    complaint = file_as_guest(client)
    response = client.post(
        reverse("complaints:accept", args=[complaint.reference]), follow=True, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 200
    assert "Only a resolved complaint can be accepted." in response.content.decode()


def test_withdrawing_needs_no_reason(client):
    complaint = file_as_guest(client)
    client.post(reverse("complaints:withdraw", args=[complaint.reference]), {"withdraw-reason": ""})
    complaint.refresh_from_db()
    assert complaint.status == Status.WITHDRAWN


def test_actions_are_post_only(client):
    complaint = file_as_guest(client)
    assert client.get(reverse("complaints:remind", args=[complaint.reference])).status_code == 405
