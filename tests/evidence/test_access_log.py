"""Every file downloaded, by anyone, and every dossier ZIP is one entry in the access log: the
original or the cleaned copy, who (a guest has no account), their role, when, from where.
The timeline's previews are not downloads; a refused or missing file is not one either."""

from __future__ import annotations

import pytest
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import reverse

from accounts.models import Role
from complaints.models import AccessKind, AccessRecord, AccessRole
from tests.evidence.test_originals import account_client, guest_client, with_files
from tests.factories import make_complaint, make_user

pytestmark = pytest.mark.django_db


def download(client: Client, item, variant: str):
    response = client.get(
        reverse("evidence:download", args=[item.public_id, variant]),
        REMOTE_ADDR="198.51.100.3",
        HTTP_USER_AGENT="Safari",
    )
    if response.status_code == 200:
        b"".join(response.streaming_content)
    return response


def logged() -> list[tuple]:
    return list(
        AccessRecord.objects.order_by("id").values_list(
            "kind", "evidence_id", "user_id", "role", "ip", "user_agent"
        )
    )


def test_a_guest_complainants_downloads_are_each_one_entry_without_an_account():
    complaint = make_complaint()
    image, document, *_ = with_files(complaint)
    guest = guest_client(complaint)
    for item, variant in ((image, "original"), (image, "view"), (document, "original")):
        assert download(guest, item, variant).status_code == 200
    assert logged() == [
        (AccessKind.ORIGINAL, image.pk, None, AccessRole.COMPLAINANT, "198.51.100.3", "Safari"),
        (AccessKind.COPY, image.pk, None, AccessRole.COMPLAINANT, "198.51.100.3", "Safari"),
        (AccessKind.ORIGINAL, document.pk, None, AccessRole.COMPLAINANT, "198.51.100.3", "Safari"),
    ]
    assert set(AccessRecord.objects.values_list("complaint_id", flat=True)) == {complaint.pk}


def test_staff_downloads_say_which_file_was_served_and_in_which_role():
    complaint = make_complaint()
    image, document, *_ = with_files(complaint)
    agent, manager = make_user(role=Role.AGENT), make_user(role=Role.MANAGER)
    as_agent, as_manager = account_client(agent), account_client(manager)

    assert download(as_agent, image, "view").status_code == 200  # the cleaned copy
    assert download(as_agent, document, "view").status_code == 200  # a PDF has no copy: the original
    assert download(as_agent, image, "original").status_code == 404  # not the agent's to take
    assert download(as_manager, image, "original").status_code == 200

    assert [(kind, evidence, user, role) for kind, evidence, user, role, *_ in logged()] == [
        (AccessKind.COPY, image.pk, agent.pk, AccessRole.AGENT),
        (AccessKind.ORIGINAL, document.pk, agent.pk, AccessRole.AGENT),
        (AccessKind.ORIGINAL, image.pk, manager.pk, AccessRole.MANAGER),
    ]


def test_a_preview_a_refusal_and_a_missing_file_are_not_downloads():
    complaint = make_complaint()
    image, document, *_ = with_files(complaint)
    assert download(guest_client(complaint), image, "thumb").status_code == 200
    assert download(Client(), image, "original").status_code == 404
    assert download(account_client(make_user()), document, "original").status_code == 404
    default_storage.delete(document.original_key)
    assert download(guest_client(complaint), document, "original").status_code == 404
    assert logged() == []


@pytest.mark.parametrize("who", ["guest", "account", "manager"])
def test_each_dossier_zip_is_one_entry(who):
    owner = make_user() if who == "account" else None
    complaint = make_complaint(by=owner)
    with_files(complaint)
    manager = make_user(role=Role.MANAGER)
    client = guest_client(complaint) if who == "guest" else account_client(owner or manager)
    for expected in (1, 2):
        response = client.get(
            reverse("evidence:dossier", args=[complaint.reference]), REMOTE_ADDR="198.51.100.3"
        )
        assert response.status_code == 200
        b"".join(response.streaming_content)
        assert AccessRecord.objects.count() == expected
    entry = AccessRecord.objects.latest("id")
    user, role = {
        "guest": (None, AccessRole.COMPLAINANT),
        "account": (owner.pk if owner else None, AccessRole.COMPLAINANT),
        "manager": (manager.pk, AccessRole.MANAGER),
    }[who]
    assert (entry.kind, entry.complaint_id, entry.evidence_id, entry.user_id, entry.role, entry.ip) == (
        AccessKind.DOSSIER,
        complaint.pk,
        None,
        user,
        role,
        "198.51.100.3",
    )


def test_a_refused_dossier_is_not_logged():
    complaint = make_complaint()
    client = account_client(make_user(role=Role.AGENT))
    assert client.get(reverse("evidence:dossier", args=[complaint.reference])).status_code == 404
    assert not AccessRecord.objects.exists()
