"""A person's own data (issue 14, point 2): the ZIP of everything the portal holds about
them (a page to read, JSON, the original files with their SHA-256), checked against every
personal field the portal has; and the correction of their contact details."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from complaints.models import (
    AccessRecord,
    Complaint,
    ComplaintEvent,
    ContactAttempt,
    EventKind,
    InboundMessage,
    Notification,
    PrivacyRequest,
    ReplyToken,
)
from complaints.personal import ERASED, EXPORTED, NOT_EXPORTED
from complaints.replies import issue_reply_tokens
from complaints.services import privacy
from evidence.models import Evidence
from tests.complaints.conftest import intake_post
from tests.complaints.test_retention import a_full_case
from tests.factories import make_user, sign_in

pytestmark = pytest.mark.django_db


def test_every_personal_field_is_exported_or_says_why_not():
    undecided = [
        f"{label}.{name}"
        for label, names in ERASED.items()
        for name in sorted(names)
        if name not in EXPORTED.get(label, frozenset()) and (label, name) not in NOT_EXPORTED
    ]
    assert undecided == []
    assert all(names <= ERASED[label] for label, names in EXPORTED.items())


def unzip(response) -> tuple[dict, zipfile.ZipFile]:
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    return json.loads(archive.read("data.json")), archive


def test_the_export_holds_every_row_of_the_persons_data_and_their_files():
    owner = make_user(first_name="Lan", email="lan.account@example.org")
    complaint = a_full_case(now=timezone.now(), ended_days_ago=10, by=owner)
    privacy.make_request(
        complaint=complaint,
        kind="correction",
        details="Số điện thoại đúng là 0912345678",
        by=owner,
        now=timezone.now(),
    )
    browser = Client()
    sign_in(browser, owner)

    data, archive = unzip(browser.get(reverse("complaints:export", args=[complaint.reference])))

    text = json.dumps(data, ensure_ascii=False)
    rows = {
        "complaints.Complaint": Complaint.objects.filter(pk=complaint.pk),
        "complaints.ComplaintEvent": ComplaintEvent.objects.filter(complaint=complaint, public=True),
        "complaints.ContactAttempt": ContactAttempt.objects.filter(complaint=complaint),
        "complaints.Notification": Notification.objects.filter(complaint=complaint, recipient__isnull=True),
        "complaints.InboundMessage": InboundMessage.objects.filter(complaint=complaint),
        "evidence.Evidence": Evidence.objects.filter(complaint=complaint),
        "complaints.PrivacyRequest": PrivacyRequest.objects.filter(complaint=complaint),
    }
    assert set(rows) == set(EXPORTED)
    for label, queryset in rows.items():
        assert queryset.exists(), label
        for values in queryset.values(*sorted(EXPORTED[label] - {"original_key"})):
            for name, value in values.items():
                if value:
                    assert json.dumps(value, ensure_ascii=False).strip('"') in text, f"{label}.{name}"
    # The files, each the original, with its SHA-256.
    (item,) = data["complaints"]
    assert data["account"]["email"] == "lan.account@example.org"
    for entry in item["evidence"]:
        content = archive.read(entry["file"])
        assert hashlib.sha256(content).hexdigest() == entry["sha256"]
    assert len(item["evidence"]) == Evidence.objects.filter(complaint=complaint).count() == 2
    page = archive.read("index.html").decode()
    assert "Nguyễn Thị Lan" in page and complaint.reference in page and '<html lang="vi">' in page
    # Who handled it, by role only: the agent who opened the case page is in it.
    agent = make_user(role=Role.AGENT, first_name="Trần Văn Minh")
    staff = Client()
    sign_in(staff, agent)
    assert staff.get(reverse("staff:case", args=[complaint.reference])).status_code == 200
    data, _archive = unzip(browser.get(reverse("complaints:export", args=[complaint.reference])))
    assert [(item["role"], item["what"]) for item in data["complaints"][0]["handled_by"]][-1:] == [
        ("agent", "case_view")
    ]
    assert "Trần Văn Minh" not in json.dumps(data["complaints"][0]["handled_by"], ensure_ascii=False)
    # Internal notes stay internal.
    assert "Lan gọi lại từ" not in text


def test_an_account_downloads_all_its_complaints_from_my_complaints():
    owner = make_user()
    first = a_full_case(now=timezone.now(), ended_days_ago=10, by=owner)
    second = a_full_case(now=timezone.now(), ended_days_ago=5, by=owner)
    a_full_case(now=timezone.now(), ended_days_ago=5)  # someone else's
    browser = Client()
    sign_in(browser, owner)
    assert reverse("complaints:my_data") in browser.get(reverse("complaints:mine")).content.decode()

    data, _archive = unzip(browser.get(reverse("complaints:my_data")))

    assert [c["reference"] for c in data["complaints"]] == [first.reference, second.reference]


def test_a_guest_gets_what_their_browser_holds_not_what_shares_their_address(client):
    assert client.post(reverse("complaints:create"), intake_post()).status_code == 302
    mine = Complaint.objects.get()
    Client().post(
        reverse("complaints:create"), intake_post(subject="Của người khác")
    )  # same e-mail, another browser

    data, _archive = unzip(client.get(reverse("complaints:export", args=[mine.reference])))

    assert [c["reference"] for c in data["complaints"]] == [mine.reference]
    assert data["account"] is None
    # Logged like every export: one entry for the complaint, by its complainant.
    assert list(AccessRecord.objects.filter(complaint=mine).values_list("kind", "role")) == [
        ("export", "complainant")
    ]
    assert Client().get(reverse("complaints:export", args=[mine.reference])).status_code == 404


def test_a_complainant_corrects_their_contact_details_and_the_timeline_says_so(client):
    assert client.post(reverse("complaints:create"), intake_post()).status_code == 302
    complaint = Complaint.objects.get()
    issue_reply_tokens(pairs=[(complaint.pk, None, complaint.contact_email)], now=timezone.now())
    url = reverse("complaints:correct_contact", args=[complaint.reference])
    data = {
        "correct-contact_name": "Nguyễn Thị Lan",
        "correct-contact_email": "lan.moi@example.org",
        "correct-contact_phone": "0912345678",
        "correct-language": "vi",
    }

    response = client.post(url, data, follow=True)

    done = Complaint.objects.get(pk=complaint.pk)
    assert (done.contact_name, done.contact_email, done.contact_phone) == (
        "Nguyễn Thị Lan",
        "lan.moi@example.org",
        "0912345678",
    )
    event = done.events.get(kind=EventKind.CONTACT_CORRECTED)
    assert sorted(event.payload["fields"]) == ["contact_email", "contact_name", "contact_phone"]
    assert "Thông tin liên hệ của bạn đã được sửa." in response.content.decode()
    assert not ReplyToken.objects.filter(complaint=complaint, revoked_at__isnull=True).exists()
    # The same details again change nothing, and say so; a bad address is refused in words.
    again = client.post(url, data, follow=True)
    assert "Không có gì thay đổi." in again.content.decode()
    bad = client.post(url, {**data, "correct-contact_email": "not-an-address"})
    assert (
        bad.status_code == 400
        and Complaint.objects.get(pk=complaint.pk).contact_email == "lan.moi@example.org"
    )
