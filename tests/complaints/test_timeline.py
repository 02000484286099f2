"""The timeline names who acted, as the viewer should read it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import Role
from complaints import services
from tests.factories import NOW, make_complaint, make_user, sign_in

pytestmark = pytest.mark.django_db


def test_the_timeline_says_you_to_the_complainant_and_support_team_for_staff(client):
    user = make_user(preferred_language="en")
    complaint = make_complaint(by=user)
    services.transition_complaint(
        complaint=complaint, to_status="open", by=make_user(role=Role.AGENT), now=NOW
    )
    sign_in(client, user)
    body = client.get(reverse("complaints:detail", args=[complaint.reference]), HTTP_ACCEPT_LANGUAGE="en")
    text = body.content.decode()
    assert "· You" in " ".join(text.split())
    assert "· Support team" in " ".join(text.split())
