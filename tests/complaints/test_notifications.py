"""The outbox: each notice delivered once, in the recipient's language, retried with back-off."""

from __future__ import annotations

import re
from datetime import timedelta
from unittest import mock

import pytest
from django.core import mail
from django.db import OperationalError
from django.utils.html import escape

from accounts.models import Role
from complaints import notifications, records
from complaints.models import Notification, NotificationStatus, TrackingToken, hash_token
from complaints.notifications import deliver_outbox, retry_delay
from complaints.tracking import redeem_tracking_token
from tests.factories import NOW, make_complaint, make_user
from tests.locks import lock_timeout, row_locked_by_another_connection

pytestmark = pytest.mark.django_db


def test_the_acknowledgement_is_sent_once_in_the_complainants_language():
    complaint = make_complaint(language="vi")
    assert deliver_outbox(now=NOW).sent == 1
    assert deliver_outbox(now=NOW).sent == 0
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["lan@example.org"]
    assert complaint.reference in message.subject
    assert "Chúng tôi đã nhận được khiếu nại" in message.subject
    assert complaint.reference in message.body
    html = message.alternatives[0][0]
    assert "<html" in html and complaint.reference in html
    notice = Notification.objects.get()
    assert (notice.status, notice.sent_at, notice.attempts) == (NotificationStatus.SENT, NOW, 1)


def test_an_english_complainant_gets_english():
    make_complaint(language="en")
    deliver_outbox(now=NOW)
    assert "We received your complaint" in mail.outbox[0].subject


def test_each_notice_says_what_happened_in_the_recipients_language_in_every_part():
    complaint = make_complaint(language="vi")
    agent = make_user(username="agent", role=Role.AGENT, preferred_language="en")
    Notification.objects.all().delete()
    records.tell_complainant(complaint, kind="awaiting_complainant", now=NOW)
    records.notify_staff(complaint, [agent], kind="reminder", now=NOW)
    records.notify_staff(complaint, [agent], kind="a kind nobody wrote a sentence for", now=NOW)
    deliver_outbox(now=NOW)
    by_recipient = sorted(mail.outbox, key=lambda m: (m.to != [complaint.contact_email], m.body))
    to_complainant, reminder, unknown = by_recipient
    sentences = {
        to_complainant: "Chúng tôi cần thêm thông tin",  # the Vietnamese complainant's
        reminder: "The complainant sent a reminder: they are waiting for an answer.",
        unknown: "There is news on a case assigned to you.",
    }
    for message, sentence in sentences.items():
        assert sentence in message.body
        assert escape(sentence) in message.alternatives[0][0]
    assert "We need more information" not in to_complainant.body
    assert sentences[reminder] in reminder.subject and sentences[unknown] in unknown.subject


def test_the_tracking_link_is_minted_when_the_email_is_sent_and_only_its_hash_is_kept():
    complaint = make_complaint()
    assert not TrackingToken.objects.exists()
    deliver_outbox(now=NOW)
    token = re.search(r"/complaints/track/([A-Za-z0-9_-]{43,})/", mail.outbox[0].body).group(1)
    stored = TrackingToken.objects.get()
    assert stored.token_hash == hash_token(token)
    assert token not in str(Notification.objects.values_list("context", flat=True).get())
    assert redeem_tracking_token(token=token, now=NOW) == complaint


def test_user_text_cannot_inject_headers_or_markup_into_the_email():
    make_complaint(subject="Hi\r\nBcc: victim@example.org", contact_name="<script>alert(1)</script>")
    deliver_outbox(now=NOW)
    message = mail.outbox[0]
    assert "\n" not in message.subject and "Bcc" not in message.subject
    assert message.bcc == []
    html = message.alternatives[0][0]
    assert "<script>" not in html
    assert "&lt;script&gt;" in html


def test_a_failed_send_is_retried_with_back_off_then_given_up(settings):
    settings.NOTIFICATION_MAX_ATTEMPTS = 3
    make_complaint()
    with mock.patch("django.core.mail.EmailMultiAlternatives.send", side_effect=OSError("smtp down")):
        assert deliver_outbox(now=NOW).retried == 1
        notice = Notification.objects.get()
        assert notice.next_attempt_at == NOW + timedelta(seconds=30)
        assert "smtp down" in notice.last_error
        # Not due yet: nothing is attempted.
        assert deliver_outbox(now=NOW + timedelta(seconds=29)) == notifications.DeliveryResult()
        assert deliver_outbox(now=NOW + timedelta(seconds=30)).retried == 1
        assert Notification.objects.get().next_attempt_at == NOW + timedelta(seconds=90)
        assert deliver_outbox(now=NOW + timedelta(seconds=90)).failed == 1
    assert Notification.objects.get().status == NotificationStatus.FAILED
    assert deliver_outbox(now=NOW + timedelta(days=1)) == notifications.DeliveryResult()
    assert mail.outbox == []


def test_the_back_off_doubles_and_is_capped_at_an_hour():
    assert [retry_delay(n).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert retry_delay(30) == timedelta(hours=1)


@pytest.mark.django_db(transaction=True)  # committed rows, visible to the other connection
def test_a_notice_locked_by_another_worker_is_skipped(monkeypatch):
    monkeypatch.setattr(records, "nudge_delivery", lambda: None)  # no task left in the broker
    for address in ("first@example.org", "second@example.org", "third@example.org"):
        make_complaint(contact_email=address)
    notices = list(Notification.objects.order_by("next_attempt_at", "pk"))
    assert [n.email for n in notices] == ["first@example.org", "second@example.org", "third@example.org"]
    locked = notices[0]  # the first in delivery order: waiting for it would hold up the rest

    with row_locked_by_another_connection(Notification, locked.pk), lock_timeout("2s"):
        try:
            result = deliver_outbox(now=NOW)
        except OperationalError as error:  # lock_timeout: it waited for the other worker's row
            pytest.fail(f"deliver_outbox waited for the locked notice: {error}")

    assert result == notifications.DeliveryResult(sent=2)
    assert sorted(message.to[0] for message in mail.outbox) == ["second@example.org", "third@example.org"]
    locked.refresh_from_db()
    assert (locked.status, locked.attempts, locked.sent_at) == (NotificationStatus.PENDING, 0, None)
    # Skipped, not lost: once the other worker lets go it is delivered.
    assert deliver_outbox(now=NOW) == notifications.DeliveryResult(sent=1)
    assert mail.outbox[-1].to == ["first@example.org"]


def test_the_nudge_swallows_a_dead_broker(caplog):
    with mock.patch("config.celery.app.send_task", side_effect=ConnectionError("down")):
        records.nudge_delivery()
    assert "beat will deliver later" in caplog.text


def test_the_delivery_task_delegates_to_the_outbox(settings):
    from complaints.tasks import deliver_notifications

    make_complaint()
    assert deliver_notifications.apply().get() == {"sent": 1, "retried": 0, "failed": 0}


def test_a_burst_of_changes_nudges_the_worker_once_per_interval(settings, monkeypatch):
    settings.NOTIFICATION_NUDGE_INTERVAL = 60
    monkeypatch.setattr(records, "_last_nudge", float("-inf"))
    with mock.patch("config.celery.app.send_task") as apply_async:
        for _ in range(5):
            records.nudge_delivery()
    assert apply_async.call_count == 1


def test_an_unreachable_mail_server_stops_the_run_and_leaves_the_rest_untouched(settings):
    from tests.processes import free_port

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = "127.0.0.1", free_port(), False
    for address in ("first@example.org", "second@example.org", "third@example.org"):
        make_complaint(contact_email=address)
    # Nothing listens on the port: the first notice's attempt is counted, the run stops.
    assert deliver_outbox(now=NOW) == notifications.DeliveryResult(retried=1)
    attempts = dict(Notification.objects.values_list("email", "attempts"))
    assert attempts == {"first@example.org": 1, "second@example.org": 0, "third@example.org": 0}
    assert Notification.objects.filter(status=NotificationStatus.PENDING).count() == 3
