"""Hypothesis over the intake form: any input is either filed or answered with form errors."""

from __future__ import annotations

import unicodedata

import pytest
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from complaints.models import Complaint
from tests.complaints.conftest import intake_post

pytestmark = pytest.mark.django_db

VIETNAMESE = "Khiếu nại về việc không đăng nhập được tài khoản ngân hàng điện tử"
SPECIALS = [
    "",
    " ",
    "\x00",
    "a\x00b",
    VIETNAMESE,
    unicodedata.normalize("NFD", VIETNAMESE),
    "😡📱💸 " * 20,
    "\u202eevil\u202c",  # right-to-left override
    "مرحبا بالعالم",
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    '=HYPERLINK("http://x")',
    "\r\nBcc: victim@example.org",
    "x" * 10_001,
    "ệ" * 201,
    "\ud7ff\ue000\ufffd",
]

field_text = st.one_of(
    st.sampled_from(SPECIALS),
    st.text(max_size=300),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=150, max_size=260),
)
TEXT_FIELDS = [
    "provider_name",
    "subject",
    "description",
    "desired_outcome",
    "provider_username",
    "provider_email",
    "provider_account_id",
    "steps_taken",
    "contact_name",
    "contact_email",
    "contact_phone",
    "occurred_at",
    "first_reported_at",
    "subcategory",
    "language",
    "submission_key",
    "contacts-0-channel",
    "contacts-0-contacted_at",
    "contacts-0-summary",
    "contacts-0-their_reference",
    "contacts-TOTAL_FORMS",
]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(overrides=st.dictionaries(st.sampled_from(TEXT_FIELDS), field_text, min_size=1, max_size=6))
def test_any_intake_input_is_filed_or_refused_with_errors_never_a_crash(overrides):
    client = Client(raise_request_exception=True)
    before = Complaint.objects.count()
    response = client.post(reverse("complaints:create"), intake_post(**overrides))
    assert response.status_code in (200, 302)
    if response.status_code == 302:
        complaint = Complaint.objects.order_by("-pk").first()
        assert Complaint.objects.count() == before + 1
        # Text is stored NFC-normalised and free of NUL bytes.
        for field in ("subject", "description", "contact_name"):
            value = getattr(complaint, field)
            assert value == unicodedata.normalize("NFC", value)
            assert "\x00" not in value
    else:
        assert Complaint.objects.count() == before
        assert "is-invalid" in response.content.decode() or "alert-danger" in response.content.decode()
