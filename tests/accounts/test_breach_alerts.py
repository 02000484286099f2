"""A breach leaves traces (issue 14, point 7): failed sign-ins (tests/config/test_ratelimit.py),
second-factor failures, permission refusals on staff URLs and bulk downloads alert the
privacy officers by e-mail, once an hour per account and kind."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from complaints.models import Notification
from complaints.notifications import render_notification
from evidence.models import Evidence
from evidence.services import attach_evidence
from tests.evidence.conftest import pdf, png
from tests.evidence.test_originals import sealed
from tests.factories import enrol, make_complaint, make_user, sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def officer():
    return make_user(
        username="dpo", email="dpo@example.org", role=Role.PRIVACY_OFFICER, preferred_language="en"
    )


def alerts(kind: str) -> list[Notification]:
    return [n for n in Notification.objects.filter(template="security_alert") if n.context["kind"] == kind]


def test_a_refused_staff_page_alerts_the_privacy_officers_once_an_hour(client, officer):
    complainant = make_user(username="lan")
    sign_in(client, complainant)

    assert client.get(reverse("staff:queue")).status_code == 404
    assert client.get(reverse("staff:dashboard")).status_code == 404

    (alert,) = alerts("permission_refused")
    assert alert.recipient_id == officer.pk and alert.context["account"] == "lan"
    message = render_notification(alert, now=timezone.now())
    assert "An account reached for a staff page its role does not open." in message.subject
    assert "Page: /staff/queue/" in message.body


@pytest.mark.parametrize(
    ("path", "shown"),
    [
        ("/staff/cases/%00/note/", "/staff/cases/%00/note/"),
        ("/staff/cases/a%0D%0ABcc:x/note/", "/staff/cases/a%0D%0ABcc:x/note/"),
        ("/staff/cases/Khi%E1%BA%BFu/note/", "/staff/cases/Khi%E1%BA%BFu/note/"),
    ],
)
def test_the_refused_page_is_named_as_it_was_requested(client, officer, path, shown):
    """Found by tests/test_hostile_input.py: a path holding %00 was stored decoded, a NUL no JSON
    column takes, and the refusal was a 500 whenever a privacy officer was there to be told."""
    sign_in(client, make_user(username="lan"))
    assert client.get(path).status_code == 404
    (alert,) = alerts("permission_refused")
    assert alert.context["path"] == shown
    assert f"Page: {shown}" in render_notification(alert, now=timezone.now()).body


def test_a_wrong_second_factor_code_alerts_the_privacy_officers(client, officer):
    agent = make_user(username="minh", role=Role.AGENT)
    enrol(agent)
    client.force_login(agent)  # the password step only

    response = client.post(reverse("accounts:second_factor_verify"), {"code": "000000"})

    assert response.status_code == 200  # the code step again, with its message
    (alert,) = alerts("second_factor_failure")
    assert alert.context["account"] == "minh"


def test_bulk_downloads_alert_once_past_the_limit(client, officer, settings):
    settings.BULK_DOWNLOAD_ALERT = 2
    complaint = make_complaint()
    attach_evidence(
        complaint=complaint,
        uploads=[(sealed(f"f{n}.pdf", pdf()), "") for n in range(3)] + [(sealed("a.png", png()), "")],
        by=None,
        now=timezone.now(),
    )
    manager = make_user(username="bao", role=Role.MANAGER)
    sign_in(client, manager)
    items = list(Evidence.objects.filter(complaint=complaint))

    for item in items[:2]:
        assert client.get(reverse("evidence:download", args=[item.public_id, "original"])).status_code == 200
    assert alerts("bulk_download") == []
    for item in items[2:]:
        assert client.get(reverse("evidence:download", args=[item.public_id, "original"])).status_code == 200

    (alert,) = alerts("bulk_download")
    assert alert.context["account"] == "bao" and alert.context["limit"] == 2
