"""Retention and erasure (issue 14, points 1, 4 and 9): every field has a decision;
anonymisation leaves no personal field and no stored object, keeps what the statistics
count, so the dashboard's past weeks do not change; a legal hold stops it; a dry run shows
what would go; a complainant who withdraws consent has their case's data erased."""

from __future__ import annotations

import html
import secrets
from datetime import timedelta

import pytest
from django.apps import apps
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from complaints import tasks
from complaints.models import (
    Category,
    Complaint,
    ComplaintEvent,
    ContactAttempt,
    EventKind,
    InboundMessage,
    Notification,
    NotificationStatus,
    ReplyToken,
    Status,
    TrackingToken,
)
from complaints.personal import ELSEWHERE, ERASED, KEPT, NOT_PERSONAL
from complaints.records import queue_notification
from complaints.replies import issue_reply_tokens
from complaints.services import add_internal_note, reply_as_staff, withdraw_complaint
from complaints.services.retention import anonymise, anonymise_expired, expired
from complaints.tracking import issue_tracking_token
from escalation import moves
from escalation.models import Escalation
from evidence.models import Evidence
from evidence.services import attach_evidence
from staff.dashboard import build_dashboard
from tests.evidence.conftest import pdf, png
from tests.evidence.test_originals import sealed
from tests.factories import contact_data, make_complaint, make_user, sign_in

pytestmark = pytest.mark.django_db

PERSONAL_TEXT = ["Nguyễn Thị Lan", "lan@example.org", "0901234567", "lan.nguyen", "ACC-123456"]


def test_every_field_of_every_model_has_a_personal_data_decision():
    undecided = []
    for model in apps.get_models():
        label = model._meta.label
        if model._meta.app_label not in {"accounts", "complaints", "evidence", "escalation"}:
            continue
        if label in NOT_PERSONAL or label in ELSEWHERE:
            continue
        fields = {field.name for field in model._meta.concrete_fields}
        erased, kept = ERASED.get(label, frozenset()), KEPT.get(label, frozenset())
        assert not erased & kept, f"{label}: {sorted(erased & kept)} both erased and kept"
        undecided += [f"{label}.{name}" for name in sorted(fields - erased - kept)]
        assert not (erased | kept) - fields, f"{label}: {sorted((erased | kept) - fields)} are no fields"
    assert undecided == [], "fields without a decision (complaints/personal.py): " + ", ".join(undecided)


def a_full_case(*, now, ended_days_ago: int, **overrides):
    """A case with everything that can hold personal data, ended `ended_days_ago` days ago."""
    agent = make_user(role=Role.AGENT)
    filed = now - timedelta(days=ended_days_ago + 30)
    complaint = make_complaint(
        now=filed,
        contacts=[contact_data(contacted_at=filed - timedelta(days=1))],
        contact_name="Nguyễn Thị Lan",
        contact_phone="0901234567",
        provider_username="lan.nguyen",
        provider_account_id="ACC-123456",
        **overrides,
    )
    attach_evidence(
        complaint=complaint,
        uploads=[(sealed("man-hinh.png", png()), "Ảnh của Lan"), (sealed("bien-nhan.pdf", pdf()), "")],
        by=None,
        now=filed,
    )
    complaint = Complaint.objects.get(pk=complaint.pk)
    complaint = reply_as_staff(
        complaint=complaint,
        body="Chào chị Lan, số 0901234567",
        by=agent,
        now=filed,
        version=complaint.version,
    )
    add_internal_note(complaint=complaint, body="Lan gọi lại từ 0901234567", by=agent, now=filed)
    moves.escalate_manually(
        complaint=complaint, by=agent, now=filed, reason="Lan rất bức xúc", version=complaint.version
    )
    issue_tracking_token(complaint=complaint, now=filed)
    issue_reply_tokens(pairs=[(complaint.pk, None, complaint.contact_email)], now=filed)
    queue_notification(
        template="case_update",
        email=complaint.contact_email,
        language="vi",
        now=filed,
        complaint=complaint,
        context={"kind": "reply", "note": "Chào chị Lan"},
    )
    raw_key = default_storage.save(
        "inbound/test/lan.eml", __import__("io").BytesIO(b"From: lan@example.org\r\n\r\nHi")
    )
    InboundMessage.objects.create(
        door="folder",
        sha256=secrets.token_hex(32),
        size=10,
        received_at=filed,
        from_address="lan@example.org",
        subject="Re: Lan",
        text="Lan viết",
        raw_key=raw_key,
        status="landed",
        complaint=complaint,
    )
    withdraw_complaint(
        complaint=Complaint.objects.get(pk=complaint.pk), by=None, now=filed, reason="Lan tự xử lý"
    )
    Complaint.objects.filter(pk=complaint.pk).update(status_changed_at=now - timedelta(days=ended_days_ago))
    return Complaint.objects.get(pk=complaint.pk)


def stored_keys(complaint) -> list[str]:
    keys = [
        k
        for row in Evidence.objects.filter(complaint=complaint).values_list(
            "original_key", "derivative_key", "thumbnail_key"
        )
        for k in row
        if k
    ]
    return keys + [
        k for k in InboundMessage.objects.filter(complaint=complaint).values_list("raw_key", flat=True) if k
    ]


def test_anonymisation_leaves_no_personal_field_and_no_stored_object(django_capture_on_commit_callbacks):
    now = timezone.now()
    complaint = a_full_case(now=now, ended_days_ago=4 * 365)
    keys = stored_keys(complaint)
    assert len(keys) >= 4 and all(default_storage.exists(key) for key in keys)
    sizes = list(Evidence.objects.filter(complaint=complaint).values_list("sha256", "size"))

    with django_capture_on_commit_callbacks(execute=True):
        result = anonymise_expired(now=now)

    assert (result.complaints, result.objects) == (1, len(keys))
    assert not any(default_storage.exists(key) for key in keys)
    rows = {
        "complaints.Complaint": Complaint.objects.filter(pk=complaint.pk),
        "complaints.ComplaintEvent": ComplaintEvent.objects.filter(complaint=complaint),
        "complaints.ContactAttempt": ContactAttempt.objects.filter(complaint=complaint),
        "complaints.Notification": Notification.objects.filter(complaint=complaint),
        "complaints.InboundMessage": InboundMessage.objects.filter(complaint=complaint),
        "escalation.Escalation": Escalation.objects.filter(complaint=complaint),
        "evidence.Evidence": Evidence.objects.filter(complaint=complaint),
    }
    for label, queryset in rows.items():
        assert queryset.exists(), label
        for values in queryset.values(*sorted(ERASED[label])):
            for name, value in values.items():
                if label == "complaints.ComplaintEvent" and name == "payload":
                    assert not any(
                        isinstance(v, str) and any(t in v for t in PERSONAL_TEXT) for v in value.values()
                    )
                    continue
                assert value in ("", None, {}, []), f"{label}.{name} kept {value!r}"
    assert not TrackingToken.objects.filter(complaint=complaint).exists()
    assert not ReplyToken.objects.filter(complaint=complaint).exists()
    assert not Notification.objects.filter(complaint=complaint, status=NotificationStatus.PENDING).exists()
    # What the statistics and the proof of filing need stays.
    done = Complaint.objects.get(pk=complaint.pk)
    assert (done.reference, done.category_id, done.status, done.submitted_at) == (
        complaint.reference,
        complaint.category_id,
        Status.WITHDRAWN,
        complaint.submitted_at,
    )
    assert done.first_response_due_at == complaint.first_response_due_at and done.anonymised_at == now
    assert list(Evidence.objects.filter(complaint=complaint).values_list("sha256", "size")) == sizes
    assert done.events.filter(kind=EventKind.ANONYMISED).count() == 1
    # Every page that shows it still answers, without a trace of the person.
    for client_user, url in [
        (make_user(role=Role.MANAGER), reverse("staff:case", args=[done.reference])),
    ]:
        from django.test import Client

        browser = Client()
        sign_in(browser, client_user)
        page = html.unescape(browser.get(url).content.decode())
        assert not any(text in page for text in PERSONAL_TEXT)
    public_id = Evidence.objects.filter(complaint=complaint).first().public_id
    assert browser.get(reverse("evidence:download", args=[public_id, "view"])).status_code == 404


def test_the_dashboards_past_weeks_do_not_change():
    now = timezone.now()
    for days in (4 * 365, 4 * 365 + 3, 10):
        case = a_full_case(now=now, ended_days_ago=days)
        if days != 4 * 365 + 3:  # two missed their first response (as the sweep records it)
            Complaint.objects.filter(pk=case.pk).update(
                first_response_breached_at=case.first_response_due_at, escalation_level=1
            )
    before = build_dashboard(now=now, weeks=260)
    assert sum(week.first_response for week in before.breaches) == 2

    assert anonymise_expired(now=now).complaints == 2

    after = build_dashboard(now=now, weeks=260)
    assert after.totals == before.totals and after.categories == before.categories
    assert after.breaches == before.breaches and after.levels == before.levels


def test_only_cases_past_their_categorys_retention_go_and_a_legal_hold_stops_it():
    now = timezone.now()
    short = Category.objects.get(slug="account")
    short.retention_years = 1
    short.save()
    two_years = a_full_case(now=now, ended_days_ago=2 * 365)  # an account case: past its 1 year
    other = Category.objects.exclude(pk=short.pk).first()
    sub = other.subcategories.first()
    kept = a_full_case(now=now, ended_days_ago=2 * 365, subcategory=sub)  # default 3 years: not yet
    held = a_full_case(now=now, ended_days_ago=2 * 365)
    Complaint.objects.filter(pk=held.pk).update(
        legal_hold_reason="Toà án yêu cầu giữ hồ sơ", legal_hold_since=now
    )

    assert set(expired(now).values_list("pk", flat=True)) == {two_years.pk}
    assert anonymise_expired(now=now).complaints == 1
    assert Complaint.objects.get(pk=kept.pk).anonymised_at is None
    assert Complaint.objects.get(pk=held.pk).contact_name == "Nguyễn Thị Lan"
    # Lifted, the hold no longer keeps it.
    Complaint.objects.filter(pk=held.pk).update(legal_hold_reason="", legal_hold_since=None)
    assert anonymise_expired(now=now).complaints == 1
    assert Complaint.objects.get(pk=held.pk).anonymised_at is not None


def test_a_dry_run_shows_what_would_go_and_changes_nothing(capsys):
    now = timezone.now()
    old = a_full_case(now=now, ended_days_ago=4 * 365)
    recent = a_full_case(now=now, ended_days_ago=30)

    call_command("retention", "--dry-run")

    out = capsys.readouterr().out
    assert "1 complaints would be anonymised" in out and old.reference in out and recent.reference not in out
    assert Complaint.objects.get(pk=old.pk).anonymised_at is None
    call_command("retention")
    assert Complaint.objects.get(pk=old.pk).anonymised_at is not None


def test_the_beat_task_anonymises_what_is_due():
    now = timezone.now()
    old = a_full_case(now=now, ended_days_ago=4 * 365)

    assert tasks.anonymise_expired_complaints() == 1
    assert Complaint.objects.get(pk=old.pk).contact_email == ""
    assert tasks.anonymise_expired_complaints() == 0


def test_anonymising_twice_changes_nothing_more():
    now = timezone.now()
    old = a_full_case(now=now, ended_days_ago=4 * 365)
    assert anonymise([old.pk], now=now).complaints == 1
    assert anonymise([old.pk], now=now + timedelta(days=1)).complaints == 0
    assert Complaint.objects.get(pk=old.pk).events.filter(kind=EventKind.ANONYMISED).count() == 1


# --- Consent withdrawn from the case page ----------------------------------------------------


@pytest.fixture
def guest_case(client):
    from tests.complaints.conftest import intake_post

    response = client.post(reverse("complaints:create"), intake_post(contact_name="Nguyễn Thị Lan"))
    assert response.status_code == 302
    return Complaint.objects.get()


def test_a_complainant_withdraws_consent_and_the_case_closes_and_its_data_goes(client, guest_case):
    page = html.unescape(
        client.get(reverse("complaints:detail", args=[guest_case.reference])).content.decode()
    )
    assert "Rút lại sự đồng ý và xoá dữ liệu của tôi" in page

    unconfirmed = client.post(reverse("complaints:withdraw_consent", args=[guest_case.reference]), {})
    assert unconfirmed.status_code == 400
    assert Complaint.objects.get(pk=guest_case.pk).consent_withdrawn_at is None

    done = client.post(
        reverse("complaints:withdraw_consent", args=[guest_case.reference]),
        {"consent-confirm": "on"},
        follow=True,
    )

    complaint = Complaint.objects.get(pk=guest_case.pk)
    assert complaint.status == Status.WITHDRAWN and complaint.consent_withdrawn_at is not None
    assert (
        complaint.anonymised_at is not None and complaint.contact_name == "" and complaint.description == ""
    )
    assert list(complaint.events.values_list("kind", flat=True).order_by("pk"))[-3:] == [
        EventKind.WITHDRAWN,
        EventKind.CONSENT_WITHDRAWN,
        EventKind.ANONYMISED,
    ]
    body = html.unescape(done.content.decode())
    assert "Bạn đã rút lại sự đồng ý." in body and "Nguyễn Thị Lan" not in body


def test_a_signed_in_complainant_who_withdraws_consent_lands_on_their_complaints(client):
    """Found by tests/test_hostile_input.py: the erasure unlinks the case from the account, and
    the signed-in complainant was sent back to it: "Page not found" under the success message."""
    owner = make_user(username="lan")
    sign_in(client, owner)
    complaint = make_complaint(by=owner)
    response = client.post(
        reverse("complaints:withdraw_consent", args=[complaint.reference]),
        {"consent-confirm": "on"},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="vi",
    )
    assert response.redirect_chain == [(reverse("complaints:mine"), 302)]
    assert response.status_code == 200
    assert "Bạn đã rút lại sự đồng ý." in html.unescape(response.content.decode())
    assert Complaint.objects.get(pk=complaint.pk).anonymised_at is not None


def test_under_a_legal_hold_the_data_waits_for_the_hold_to_end(client, guest_case):
    Complaint.objects.filter(pk=guest_case.pk).update(
        legal_hold_reason="Thanh tra đang xem xét", legal_hold_since=timezone.now()
    )

    client.post(
        reverse("complaints:withdraw_consent", args=[guest_case.reference]), {"consent-confirm": "on"}
    )

    complaint = Complaint.objects.get(pk=guest_case.pk)
    assert complaint.status == Status.WITHDRAWN and complaint.anonymised_at is None
    assert complaint.contact_name == "Nguyễn Thị Lan"
    Complaint.objects.filter(pk=guest_case.pk).update(legal_hold_reason="", legal_hold_since=None)
    assert anonymise_expired(now=timezone.now()).complaints == 1  # at once, not years later
    assert Complaint.objects.get(pk=guest_case.pk).contact_name == ""
