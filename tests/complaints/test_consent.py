"""Informed consent at intake (issue 14, point 1): the filing form says who processes the
data, for what, for how long and with whom it is shared, in the visitor's language, and
asks for explicit consent (an unticked box); the consent, the version of its wording and
its time are stored with the complaint, and every wording consented to is kept."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from complaints.consent import current_version, record_consent_wording
from complaints.models import Complaint, ConsentWording
from tests.complaints.conftest import intake_post

pytestmark = pytest.mark.django_db

NOTICE = {
    "vi": [
        "Dữ liệu cá nhân của bạn",
        "Ai xử lý dữ liệu",
        "Để làm gì",
        "Trong bao lâu",
        "Ai được xem",
        "3 năm",
    ],
    "en": ["Your personal data", "Who processes it", "What for", "For how long", "Who sees it", "3 years"],
}


def text(response) -> str:
    return html.unescape(response.content.decode())


@pytest.mark.parametrize("language", ["vi", "en"])
def test_the_form_says_how_the_data_is_processed_and_asks_with_an_unticked_box(client, language):
    page = text(client.get(reverse("complaints:create"), HTTP_ACCEPT_LANGUAGE=language))

    assert all(part in page for part in NOTICE[language])
    box = re.search(r"<input[^>]*id=\"id_consent\"[^>]*>", page).group(0)
    assert 'type="checkbox"' in box and "checked" not in box and "required" in box


def test_the_notice_names_the_operator_and_where_to_write(client, settings):
    settings.PORTAL_OPERATOR_NAME = "Hội Bảo vệ người tiêu dùng Hà Nội"
    settings.PRIVACY_CONTACT_EMAIL = "dulieu@example.org"
    settings.RETENTION_DEFAULT_YEARS = 5

    page = text(client.get(reverse("complaints:create"), HTTP_ACCEPT_LANGUAGE="vi"))

    assert "Hội Bảo vệ người tiêu dùng Hà Nội, đơn vị vận hành cổng khiếu nại này." in page
    assert "dulieu@example.org" in page and "5 năm sau khi khiếu nại đóng" in page


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("vi", "Chúng tôi chỉ có thể xử lý khiếu nại khi có sự đồng ý của bạn: vui lòng đánh dấu vào ô này."),
        ("en", "We can only handle your complaint with your consent: please tick the box."),
    ],
)
def test_filing_without_consent_is_refused_with_the_reason_and_nothing_is_kept(client, language, message):
    data = intake_post()
    del data["consent"]

    response = client.post(reverse("complaints:create"), data, HTTP_ACCEPT_LANGUAGE=language)

    assert response.status_code == 200
    assert message in text(response)
    assert "Tôi không nhận được mã OTP." in text(response)  # everything typed is kept
    assert not Complaint.objects.exists()


def test_the_consent_its_wordings_version_and_time_are_stored_with_the_complaint(client):
    before = timezone.now()
    assert client.post(reverse("complaints:create"), intake_post()).status_code == 302

    complaint = Complaint.objects.get()
    version, texts = current_version()
    assert complaint.consent_version == version and version.startswith("pn-")
    assert before <= complaint.consent_given_at <= timezone.now()
    wording = ConsentWording.objects.get(version=version)
    assert "Ai được xem" in wording.text_vi and "Who sees it" in wording.text_en
    assert (wording.text_vi, wording.text_en) == (texts["vi"], texts["en"])


def test_a_changed_wording_is_a_new_version_and_the_old_one_is_kept(client, settings):
    assert client.post(reverse("complaints:create"), intake_post()).status_code == 302
    settings.PORTAL_OPERATOR_NAME = "Công ty Cổ phần Cổng Khiếu Nại"

    assert (
        client.post(reverse("complaints:create"), intake_post(contact_email="mai@example.org")).status_code
        == 302
    )

    first, second = Complaint.objects.order_by("pk")
    assert first.consent_version != second.consent_version
    assert ConsentWording.objects.count() == 2
    assert (
        "Công ty Cổ phần Cổng Khiếu Nại" in ConsentWording.objects.get(version=second.consent_version).text_vi
    )


def test_a_wording_once_recorded_is_read_again_not_written(django_assert_num_queries):
    now = timezone.now()
    version = record_consent_wording(now=now)
    wording = ConsentWording.objects.get(version=version)

    # Every later filing asks once, in one read (no savepoint, no write), and gets the same version.
    with django_assert_num_queries(1):
        assert record_consent_wording(now=now + timedelta(days=1)) == version
    assert ConsentWording.objects.get() == wording and wording.created_at == now


@pytest.mark.parametrize("language", ["vi", "en"])
def test_the_notice_has_a_page_of_its_own_linked_from_every_page(client, language):
    home = text(client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE=language))
    assert f'href="{reverse("privacy")}"' in home

    page = text(client.get(reverse("privacy"), HTTP_ACCEPT_LANGUAGE=language))

    assert all(part in page for part in NOTICE[language])
    assert current_version()[0] in page
