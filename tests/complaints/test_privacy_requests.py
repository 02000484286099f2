"""Requests about personal data (issue 14, point 3): their own kind of case for the privacy
officers, with a deadline from the SLA engine and an audit trail on the timeline; erasure
erases, restriction freezes the case's processing (no notices, no dossier, no export) until
lifted."""

from __future__ import annotations

import html
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from complaints.models import (
    Complaint,
    EventKind,
    Notification,
    NotificationStatus,
    PrivacyRequest,
    PrivacyRequestStatus,
)
from complaints.notifications import deliver_outbox
from complaints.records import notify_complainant
from complaints.services import withdraw_complaint
from escalation import sla
from escalation.policies import policy_for
from tests.complaints.conftest import intake_post
from tests.factories import make_user, sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(client):
    assert (
        client.post(reverse("complaints:create"), intake_post(contact_name="Nguyễn Thị Lan")).status_code
        == 302
    )
    deliver_outbox(now=timezone.now())
    mail.outbox.clear()
    return Complaint.objects.get()


@pytest.fixture
def officer():
    user = make_user(
        username="dpo", email="dpo@example.org", role=Role.PRIVACY_OFFICER, preferred_language="vi"
    )
    browser = Client()
    sign_in(browser, user)
    browser.user = user
    return browser


def ask(client, case, kind: str, details: str = "") -> PrivacyRequest:
    response = client.post(
        reverse("complaints:privacy_request", args=[case.reference]),
        {"privacy-kind": kind, "privacy-details": details},
    )
    assert response.status_code == 302
    return PrivacyRequest.objects.latest("pk")


def answer(officer, item, outcome: str, text: str = "", **extra):
    return officer.post(
        reverse("staff:privacy_answer", args=[item.pk]),
        {"outcome": outcome, "answer": text},
        follow=True,
        **extra,
    )


def test_a_request_is_a_case_of_its_own_with_a_deadline_from_the_sla_engine(client, case, officer):
    before = timezone.now()
    item = ask(client, case, "correction", "Số điện thoại đúng là 0912345678")

    _policy, calendar = policy_for(case)
    assert item.due_at == sla.add_business_time(item.created_at, timedelta(hours=72), calendar)
    assert item.created_at >= before and item.status == PrivacyRequestStatus.OPEN
    event = case.events.get(kind=EventKind.PRIVACY_REQUEST)
    assert event.body == "Số điện thoại đúng là 0912345678" and event.payload["kind"] == "correction"
    # Acknowledged to the requester, told to the privacy officers: notices not tied to the case.
    deliver_outbox(now=timezone.now())
    subjects = {message.to[0]: message.subject for message in mail.outbox}
    assert "Chúng tôi đã nhận được yêu cầu của bạn" in subjects["lan@example.org"]
    assert "đang chờ cán bộ bảo vệ dữ liệu" in subjects["dpo@example.org"]
    # The officers' queue lists it; an agent has no such page.
    page = html.unescape(officer.get(reverse("staff:privacy_requests")).content.decode())
    assert "Chỉnh sửa dữ liệu của tôi" in page and case.reference in page
    agent = Client()
    sign_in(agent, make_user(role=Role.AGENT))
    assert agent.get(reverse("staff:privacy_requests")).status_code == 404
    assert agent.get(reverse("staff:privacy_request", args=[item.pk])).status_code == 404


def test_a_refusal_needs_its_reason_and_the_answer_reaches_the_requester(client, case, officer):
    item = ask(client, case, "objection", "Tôi phản đối")

    assert "Hãy nêu lý do từ chối yêu cầu." in answer(officer, item, "refused").content.decode()
    assert PrivacyRequest.objects.get(pk=item.pk).status == PrivacyRequestStatus.OPEN

    answer(officer, item, "refused", "Dữ liệu cần để giải quyết khiếu nại đang mở.")
    done = PrivacyRequest.objects.get(pk=item.pk)
    assert (done.status, done.handled_by_id) == (PrivacyRequestStatus.REFUSED, officer.user.pk)
    assert case.events.get(kind=EventKind.PRIVACY_REQUEST_ANSWERED).body.startswith("Dữ liệu cần")
    deliver_outbox(now=timezone.now())
    message = [m for m in mail.outbox if m.to == ["lan@example.org"]][-1]
    assert "bị từ chối" in message.subject and "Dữ liệu cần để giải quyết" in message.body


def test_erasure_erases_an_ended_case_and_not_an_open_or_held_one(client, case, officer):
    item = ask(client, case, "erasure")

    assert "Hồ sơ vẫn đang mở" in answer(officer, item, "done").content.decode()
    withdraw_complaint(complaint=case, by=None, now=timezone.now())
    Complaint.objects.filter(pk=case.pk).update(legal_hold_reason="Toà án yêu cầu")
    assert "lưu giữ theo yêu cầu pháp lý" in answer(officer, item, "done").content.decode()
    Complaint.objects.filter(pk=case.pk).update(legal_hold_reason="")

    answer(officer, item, "done", "Đã xoá.")

    erased = Complaint.objects.get(pk=case.pk)
    assert erased.anonymised_at is not None and erased.contact_name == ""
    assert PrivacyRequest.objects.get(pk=item.pk).email == ""  # the request's own personal data too


def test_a_restriction_freezes_notices_dossier_and_export_until_lifted(client, case, officer, settings):
    item = ask(client, case, "restriction")
    answer(officer, item, "done", "Đã hạn chế xử lý.")
    restricted = Complaint.objects.get(pk=case.pk)
    assert restricted.processing_restricted_at is not None
    deliver_outbox(now=timezone.now())
    mail.outbox.clear()

    notice = notify_complainant(
        restricted, template="case_update", now=timezone.now(), kind="reply", note="x"
    )
    deliver_outbox(now=timezone.now())
    assert mail.outbox == []
    assert Notification.objects.get(pk=notice.pk).status == NotificationStatus.PENDING
    manager = Client()
    sign_in(manager, make_user(role=Role.MANAGER))
    assert manager.get(reverse("evidence:dossier", args=[case.reference])).status_code == 404
    csv = b"".join(manager.get(reverse("staff:export")).streaming_content).decode()
    assert case.reference not in csv

    officer.post(reverse("staff:privacy_lift", args=[case.reference]))

    deliver_outbox(now=timezone.now())
    assert [m.to for m in mail.outbox] == [["lan@example.org"]]
    assert manager.get(reverse("evidence:dossier", args=[case.reference])).status_code == 200
    assert case.reference in b"".join(manager.get(reverse("staff:export")).streaming_content).decode()
