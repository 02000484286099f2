from __future__ import annotations

from typing import Any

import pytest


def intake_post(**overrides: Any) -> dict[str, Any]:
    """A valid intake form submission as a browser sends it (no contacts)."""
    from complaints.models import Subcategory

    data: dict[str, Any] = {
        "subcategory": str(Subcategory.objects.get(slug="cannot-log-in").pk),
        "provider_name": "ShopNhanh",
        "subject": "Không đăng nhập được",
        "description": "Tôi không nhận được mã OTP.",
        "desired_outcome": "Khôi phục tài khoản.",
        "occurred_at": "2026-01-10T09:30",
        "first_reported_at": "",
        "provider_username": "",
        "provider_email": "",
        "provider_account_id": "",
        "steps_taken": "",
        "contact_name": "Lan",
        "contact_email": "lan@example.org",
        "contact_phone": "",
        "language": "vi",
        "consent": "on",
        "submission_key": "",
        "contacts-TOTAL_FORMS": "1",
        "contacts-INITIAL_FORMS": "0",
        "contacts-MIN_NUM_FORMS": "0",
        "contacts-MAX_NUM_FORMS": "20",
        "contacts-0-channel": "",
        "contacts-0-contacted_at": "",
        "contacts-0-with_whom": "",
        "contacts-0-their_reference": "",
        "contacts-0-summary": "",
        "evidence-TOTAL_FORMS": "3",
        "evidence-INITIAL_FORMS": "0",
        "evidence-MIN_NUM_FORMS": "0",
        "evidence-MAX_NUM_FORMS": "20",
        "evidence-0-caption": "",
        "evidence-1-caption": "",
        "evidence-2-caption": "",
    }
    data.update(overrides)
    return data


@pytest.fixture
def intake():
    return intake_post
