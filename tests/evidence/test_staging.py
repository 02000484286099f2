"""Files checked the moment they are chosen: staged in the visitor's session, claimed by the
complaint sent with them, reaped when nobody claims them; a refused file files nothing."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from complaints.access import STAGING_OWNER
from complaints.models import Complaint
from evidence.models import Evidence, StagedUpload
from evidence.services import reap_staged
from evidence.tasks import reap_staged_uploads
from tests.complaints.conftest import intake_post
from tests.evidence.conftest import evidence_post, pdf, png, text, upload, visible_mime_types, windows_program
from tests.factories import make_complaint, make_user, sign_in

pytestmark = pytest.mark.django_db

STAGED_INPUT = re.compile(r'name="(evidence-\d+-staged)" value="([0-9a-f-]{36})"')


def page_text(response) -> str:
    return " ".join(html.unescape(response.content.decode()).split())


def stage(client: Client, name: str, content: bytes):
    return client.post(reverse("evidence:stage"), {"file": upload(name, content)}, HTTP_ACCEPT_LANGUAGE="en")


def send_intake(client: Client, **fields):
    data = intake_post(**{"description": "Typed once, never lost.", **fields})
    return client.post(reverse("complaints:create"), data, HTTP_ACCEPT_LANGUAGE="en")


def staged_keys() -> list[str]:
    try:
        return default_storage.listdir("staging")[1]
    except FileNotFoundError:
        return []


# --- Without JavaScript ------------------------------------------------------------------


def test_a_refused_file_without_javascript_files_nothing_and_keeps_everything_typed(client):
    data = intake_post(subject="Mất tiền khi thanh toán", description="Typed once, never lost.")
    data.update(
        evidence_post([("good.pdf", pdf()), ("photo.png", windows_program())], ["statement", "my photo"])
    )
    response = client.post(reverse("complaints:create"), data, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    assert not Complaint.objects.exists() and not Evidence.objects.exists()
    body = page_text(response)
    assert "“photo.png” is a program, not a picture." in body
    assert "Mất tiền khi thanh toán" in body and "Typed once, never lost." in body
    assert "statement" in body and "my photo" in body  # the captions too
    # The good file was checked and kept: the form shows it, and sending again files it.
    assert "good.pdf" in body
    assert visible_mime_types(response.content.decode()) == []


def test_sending_the_form_again_files_the_kept_file_without_choosing_it_again(
    client, django_capture_on_commit_callbacks
):
    data = intake_post()
    data.update(evidence_post([("good.pdf", pdf()), ("photo.png", windows_program())], ["statement", ""]))
    first = client.post(reverse("complaints:create"), data, HTTP_ACCEPT_LANGUAGE="en")
    (field, staged_id), *others = STAGED_INPUT.findall(first.content.decode())
    assert others == [] and field == "evidence-0-staged"

    again = intake_post(**{field: staged_id, "evidence-0-caption": "statement"})
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("complaints:create"), again, HTTP_ACCEPT_LANGUAGE="en", follow=True)
    complaint = Complaint.objects.get()
    assert list(complaint.evidence.values_list("original_name", "caption")) == [("good.pdf", "statement")]
    assert "1 file was added." in page_text(response)
    assert not StagedUpload.objects.exists() and staged_keys() == []


def test_an_invalid_form_keeps_the_files_sent_with_it(client):
    data = intake_post(subject="")
    data.update(evidence_post([("shot.png", png())]))
    response = client.post(reverse("complaints:create"), data, HTTP_ACCEPT_LANGUAGE="en")
    assert not Complaint.objects.exists()
    assert StagedUpload.objects.get().original_name == "shot.png"
    assert len(STAGED_INPUT.findall(response.content.decode())) == 1
    assert "please choose your files again" not in page_text(response)


def test_a_kept_file_can_be_removed_without_javascript(client):
    response = stage(client, "shot.png", png())
    staged_id = response.json()["id"]
    data = intake_post(**{"evidence-0-staged": staged_id, "evidence-0-remove": "on"})
    client.post(reverse("complaints:create"), data, HTTP_ACCEPT_LANGUAGE="en")
    assert not Complaint.objects.get().evidence.exists()


# --- With JavaScript: staging on pick -------------------------------------------------------


def test_a_picked_program_is_refused_at_once_in_plain_words(client):
    response = stage(client, "photo.png", windows_program())
    assert response.status_code == 400
    assert response.json() == {"error": "“photo.png” is a program, not a picture."}
    assert visible_mime_types(response.content.decode()) == []
    assert not StagedUpload.objects.exists() and staged_keys() == []


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("too-big.txt", None, "is larger than 64.0 KB"),
        ("empty.txt", b"", "is empty"),
        ("invoice.pdf", png(), "does not match its extension"),
    ],
)
def test_the_existing_checks_refuse_a_picked_file(client, small_limits, name, content, message):
    content = text(small_limits.EVIDENCE_MAX_BYTES + 1) if content is None else content
    response = stage(client, name, content)
    assert response.status_code == 400
    assert message in " ".join(response.json()["error"].split())
    assert not StagedUpload.objects.exists()


def test_a_picture_with_too_many_pixels_is_refused_at_once(client, settings):
    settings.EVIDENCE_MAX_IMAGE_PIXELS = 1_000_000
    response = stage(client, "bomb.png", png(3000, 3000, (0, 0, 0)))
    assert "has too many pixels" in response.json()["error"]


def test_a_picked_file_is_staged_in_the_visitors_session_and_claimed_on_send(
    client, django_capture_on_commit_callbacks
):
    content = png()
    response = stage(client, "shot.png", content)
    assert response.status_code == 201
    answer = response.json()
    assert answer["name"] == "shot.png" and visible_mime_types(response.content.decode()) == []
    staged = StagedUpload.objects.get(public_id=answer["id"])
    assert staged.owner == client.session[STAGING_OWNER]
    assert staged.key.startswith("staging/") and staged_keys() != []

    with django_capture_on_commit_callbacks(execute=True):
        send_intake(client, **{"evidence-0-staged": answer["id"], "evidence-0-caption": "the error"})
    evidence = Complaint.objects.get().evidence.get()
    assert (evidence.original_name, evidence.caption) == ("shot.png", "the error")
    with default_storage.open(evidence.original_key, "rb") as stored:
        assert stored.read() == content
    assert evidence.derivative_key  # claimed files are sealed and derived like any other
    assert not StagedUpload.objects.exists() and staged_keys() == []


def test_a_staged_file_of_another_session_is_refused_and_nothing_is_filed(client):
    owner = Client()
    staged_id = stage(owner, "shot.png", png()).json()["id"]
    response = send_intake(client, **{"evidence-0-staged": staged_id})
    assert not Complaint.objects.exists()
    assert "is no longer available" in page_text(response)
    assert StagedUpload.objects.filter(public_id=staged_id).exists()  # still the owner's
    assert STAGED_INPUT.findall(response.content.decode()) == []


def test_only_the_owner_removes_a_staged_file(client, django_capture_on_commit_callbacks):
    staged_id = stage(client, "shot.png", png()).json()["id"]
    url = reverse("evidence:unstage", args=[staged_id])
    assert Client().post(url).status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(url).status_code == 204
    assert not StagedUpload.objects.exists() and staged_keys() == []


def test_staging_is_limited_per_session_by_the_evidence_limits(client, small_limits):
    for n in range(3):
        assert stage(client, f"{n}.txt", text(50)).status_code == 201
    refused = stage(client, "3.txt", text(50))
    assert refused.status_code == 400 and "at most 3 files" in refused.json()["error"]
    assert stage(Client(), "elsewhere.txt", text(50)).status_code == 201  # another session's own


def test_staged_bytes_are_limited_per_session_by_the_total(client, small_limits):
    small_limits.EVIDENCE_MAX_TOTAL_BYTES = 100 * 1024
    assert stage(client, "a.txt", text(60 * 1024)).status_code == 201
    refused = stage(client, "b.txt", text(60 * 1024))
    assert "may total at most" in refused.json()["error"]


def test_a_case_page_upload_claims_staged_files_too(client, django_capture_on_commit_callbacks):
    user = make_user()
    sign_in(client, user)
    complaint = make_complaint(by=user)
    staged_id = stage(client, "statement.pdf", pdf()).json()["id"]
    data = {
        "evidence-TOTAL_FORMS": "1",
        "evidence-INITIAL_FORMS": "0",
        "evidence-0-staged": staged_id,
        "evidence-0-caption": "bank",
    }
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("evidence:upload", args=[complaint.reference]), data)
    assert list(complaint.evidence.values_list("original_name", "caption")) == [("statement.pdf", "bank")]
    assert staged_keys() == []


# --- Reaping ------------------------------------------------------------------------------


def test_unclaimed_staged_files_are_reaped_after_a_day(client, django_capture_on_commit_callbacks):
    staged_id = stage(client, "shot.png", png()).json()["id"]
    key = StagedUpload.objects.get().key
    orphan = default_storage.save("staging/left-by-a-crash.png", ContentFile(png()))
    now = timezone.now()
    assert reap_staged(now=now + timedelta(hours=23)) == []
    assert sorted(reap_staged(now=now + timedelta(hours=25), dry_run=True)) == sorted([key, orphan])
    assert StagedUpload.objects.filter(public_id=staged_id).exists()
    with django_capture_on_commit_callbacks(execute=True):
        assert sorted(reap_staged(now=now + timedelta(hours=25))) == sorted([key, orphan])
    assert not StagedUpload.objects.exists() and staged_keys() == []


def test_the_reaper_is_on_beat_and_is_a_command(client, capsys):
    schedule = django_settings.CELERY_BEAT_SCHEDULE["reap-staged-uploads"]
    assert schedule["task"] == reap_staged_uploads.name
    stage(client, "a.txt", text(50))
    call_command("reap_staged_uploads", "--hours", "0", "--dry-run")
    assert "1 staged file(s) found" in capsys.readouterr().out
    assert StagedUpload.objects.exists()
    call_command("reap_staged_uploads", "--hours", "0")
    assert not StagedUpload.objects.exists()
    assert reap_staged_uploads.apply().get() == 0


# --- No MIME type, anywhere a complainant looks ---------------------------------------------


def test_no_mime_type_reaches_a_complainant(client):
    program = [("photo.png", windows_program()), ("page.html", b"<!DOCTYPE html><html><body>x</body></html>")]
    data = intake_post()
    data.update(evidence_post(program))
    intake = client.post(reverse("complaints:create"), data, HTTP_ACCEPT_LANGUAGE="en")
    picked = [stage(client, name, content) for name, content in program]
    user = make_user()
    sign_in(client, user)
    complaint = make_complaint(by=user)
    later = client.post(
        reverse("evidence:upload", args=[complaint.reference]),
        evidence_post(program),
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )
    for response in (intake, *picked, later):
        assert visible_mime_types(response.content.decode()) == []
    assert "“page.html” is a web page" in page_text(later)
