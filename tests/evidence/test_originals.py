"""The case page's evidence links: each says whether it is the original or the cleaned copy,
and gives exactly that; the complainant (guest or account) has both, strangers neither."""

from __future__ import annotations

import re

import pytest
from django.core.files.storage import default_storage
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from complaints.access import GUEST_COOKIE, grant_guest_access
from evidence.models import Evidence
from evidence.services import attach_evidence
from tests.evidence.conftest import jpeg_with_gps_and_rotation, pdf, sealed
from tests.factories import make_complaint, make_user, sign_in

pytestmark = pytest.mark.django_db

LINK = re.compile(r'<a href="(/evidence/[0-9a-f-]+/(\w+)/)"[^>]*>([^<]+)</a>')


def with_files(complaint) -> tuple[Evidence, Evidence, bytes, bytes]:
    photo, statement = jpeg_with_gps_and_rotation(), pdf()
    attach_evidence(
        complaint=complaint,
        uploads=[(sealed("photo.jpg", photo), ""), (sealed("statement.pdf", statement), "")],
        by=None,
        now=timezone.now(),
    )
    return Evidence.objects.get(kind="image"), Evidence.objects.get(kind="pdf"), photo, statement


def links(client: Client, complaint) -> dict[tuple[str, str], str]:
    """{(label text, variant): url} of the evidence list's download links."""
    body = client.get(reverse("complaints:detail", args=[complaint.reference]), HTTP_ACCEPT_LANGUAGE="en")
    section = body.content.decode().split('id="evidence-heading"', 1)[1]
    return {(" ".join(text.split()), variant): url for url, variant, text in LINK.findall(section)}


def fetched(client: Client, url: str) -> bytes:
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    return b"".join(response.streaming_content)


def stored(key: str) -> bytes:
    with default_storage.open(key, "rb") as handle:
        return handle.read()


def guest_client(complaint) -> Client:
    client = Client()
    cookie = grant_guest_access(HttpRequest(), HttpResponse(), complaint).cookies[GUEST_COOKIE]
    client.cookies[GUEST_COOKIE] = cookie.value
    return client


def account_client(user) -> Client:
    client = Client()
    sign_in(client, user)
    return client


@pytest.mark.parametrize("who", ["guest", "account"])
def test_the_complainant_downloads_the_original_and_the_cleaned_copy_each_by_its_own_link(who):
    user = make_user() if who == "account" else None
    complaint = make_complaint(by=user)
    image, document, photo, statement = with_files(complaint)
    client = guest_client(complaint) if who == "guest" else account_client(user)

    found = links(client, complaint)
    original = found[("Original", "original")]
    cleaned = found[("Cleaned copy", "view")]
    assert str(image.public_id) in original and str(image.public_id) in cleaned
    assert fetched(client, original) == photo  # the bytes sent, GPS and all
    assert fetched(client, cleaned) == stored(image.derivative_key) != photo
    # A PDF is never re-encoded: its one link is the original, and says so.
    assert fetched(client, found[("statement.pdf (original)", "original")]) == statement
    document_variants = {variant for (_, variant), url in found.items() if str(document.public_id) in url}
    assert document_variants == {"original"}


def test_the_cleaned_copy_downloads_under_a_name_that_says_so():
    user = make_user()
    complaint = make_complaint(by=user)
    image, *_ = with_files(complaint)
    response = account_client(user).get(reverse("evidence:download", args=[image.public_id, "view"]))
    assert "photo-cleaned.jpg" in response["Content-Disposition"]


@pytest.mark.parametrize("visitor", ["anonymous", "other_complainant", "other_guest"])
def test_another_visitor_gets_neither_link_nor_file(visitor):
    complaint = make_complaint(by=make_user())
    image, document, *_ = with_files(complaint)
    if visitor == "other_guest":
        other = guest_client(make_complaint())
    elif visitor == "other_complainant":
        other = account_client(make_user())
    else:
        other = Client()
    assert other.get(reverse("complaints:detail", args=[complaint.reference])).status_code == 404
    for item in (image, document):
        for variant in ("original", "view", "thumb"):
            url = reverse("evidence:download", args=[item.public_id, variant])
            assert other.get(url).status_code == 404


def test_staff_see_the_same_labels_agents_the_cleaned_copy_only_managers_both():
    complaint = make_complaint()
    with_files(complaint)
    agent = account_client(make_user(role=Role.AGENT))
    manager = account_client(make_user(role=Role.MANAGER))

    def staff_links(client):
        body = client.get(reverse("staff:case", args=[complaint.reference]), HTTP_ACCEPT_LANGUAGE="en")
        section = body.content.decode().split('id="evidence-heading"', 1)[1]
        return {(" ".join(text.split()), variant) for _, variant, text in LINK.findall(section)}

    assert ("Cleaned copy", "view") in staff_links(agent)
    assert ("Original", "original") not in staff_links(agent)
    assert {("Cleaned copy", "view"), ("Original", "original")} <= staff_links(manager)
