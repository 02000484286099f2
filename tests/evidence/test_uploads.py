"""The upload catalogue through the case page: types, limits, names, images, access."""

from __future__ import annotations

import html as html_module
import io
import unicodedata

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse
from PIL import Image

from accounts.models import Role
from complaints.models import EventKind
from evidence.models import Evidence
from tests.evidence.conftest import (
    eml,
    evidence_post,
    html,
    jpeg_with_gps_and_rotation,
    mp4,
    pdf,
    png,
    svg,
    text,
    visible_mime_types,
    wav,
    windows_program,
)
from tests.factories import make_complaint, make_user, sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_client(client):
    user = make_user(preferred_language="en")
    sign_in(client, user)
    client.complaint = make_complaint(by=user)
    return client


def send(client, files, captions=None, language="en"):
    url = reverse("evidence:upload", args=[client.complaint.reference])
    return client.post(url, evidence_post(files, captions), follow=True, HTTP_ACCEPT_LANGUAGE=language)


def page_text(response) -> str:
    return " ".join(response.content.decode().split())


@pytest.mark.parametrize(
    ("name", "content", "kind"),
    [
        ("screenshot.png", png(), "image"),
        ("photo.JPG", jpeg_with_gps_and_rotation(), "image"),
        ("statement.pdf", pdf(), "pdf"),
        ("screen-recording.mp4", mp4(), "video"),
        ("call.wav", wav(), "audio"),
        ("reply-from-support.eml", eml(), "email"),
        ("notes.txt", text(), "text"),
    ],
)
def test_each_accepted_kind_is_sealed_with_its_hash(owner_client, name, content, kind):
    import hashlib

    response = send(owner_client, [(name, content)], ["what it shows"])
    assert "1 file was added." in page_text(response)
    evidence = Evidence.objects.get()
    assert (evidence.kind, evidence.original_name, evidence.size) == (kind, name, len(content))
    assert evidence.sha256 == hashlib.sha256(content).hexdigest()
    assert evidence.sha256 in response.content.decode()  # shown in the dossier
    assert name not in evidence.original_key
    assert evidence.original_key.startswith(f"evidence/{owner_client.complaint.reference}/")
    with default_storage.open(evidence.original_key, "rb") as stored:
        assert stored.read() == content
    assert owner_client.complaint.events.filter(kind=EventKind.EVIDENCE_ADDED).exists()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("invoice.pdf", png(), "does not match its extension"),  # extension/content mismatch
        ("photo.png.pdf", png(), "does not match its extension"),  # double extension
        ("photo.pdf.exe", pdf(), "does not match its extension"),
        ("page.html", html(), "“page.html” is a web page. We accept pictures, videos"),
        ("notes.txt", html(), "“notes.txt” is a web page, not a text file."),  # HTML disguised as text
        ("logo.svg", svg(), "“logo.svg” is an SVG drawing. We accept pictures"),
        ("image.png", svg(), "“image.png” is an SVG drawing, not a picture."),
        ("photo.png", windows_program(), "“photo.png” is a program, not a picture."),
        ("setup.exe", windows_program(), "“setup.exe” is a program. We accept pictures"),
        (
            "archive.pdf",
            b"PK\x03\x04" + b"\x00" * 60,
            "“archive.pdf” is a compressed archive, such as a ZIP file, not a",
        ),
        ("empty.txt", b"", "is empty"),
    ],
)
def test_refused_files_get_a_clear_reason_and_nothing_is_stored(owner_client, name, content, message):
    response = send(owner_client, [(name, content)])
    assert message in html_module.unescape(page_text(response))
    assert visible_mime_types(response.content.decode()) == []
    assert not Evidence.objects.exists()
    assert list(default_storage.listdir("")[1]) == []


@pytest.mark.parametrize(
    "rows",
    [{"evidence-TOTAL_FORMS": "0"}, {"evidence-TOTAL_FORMS": "1", "evidence-0-caption": "Ảnh chụp"}],
)
def test_sent_without_a_file_it_says_so(owner_client, rows):
    """Found by tests/test_hostile_input.py: no row, or a caption alone, went back to the case
    page saying nothing at all."""
    response = owner_client.post(
        reverse("evidence:upload", args=[owner_client.complaint.reference]),
        {
            "evidence-INITIAL_FORMS": "0",
            "evidence-MIN_NUM_FORMS": "0",
            "evidence-MAX_NUM_FORMS": "20",
            **rows,
        },
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert "No file was added: Choose a file first." in page_text(response)
    assert not Evidence.objects.exists()


def test_a_refused_file_does_not_refuse_the_others(owner_client):
    response = send(owner_client, [("good.png", png()), ("bad.png", svg()), ("good.pdf", pdf())])
    body = page_text(response)
    assert "2 files were added." in body
    assert "“bad.png” is an SVG drawing, not a picture." in html_module.unescape(body)
    assert sorted(Evidence.objects.values_list("original_name", flat=True)) == ["good.pdf", "good.png"]


def test_the_size_cap_is_exact_to_the_byte(owner_client, small_limits):
    cap = small_limits.EVIDENCE_MAX_BYTES
    response = send(owner_client, [("at-the-cap.txt", text(cap)), ("one-byte-over.txt", text(cap + 1))])
    body = page_text(response)
    assert "1 file was added." in body
    assert "“one-byte-over.txt” is larger than 64.0 KB." in body
    assert list(Evidence.objects.values_list("original_name", flat=True)) == ["at-the-cap.txt"]


def test_videos_have_their_own_larger_cap(owner_client, small_limits):
    big_video = mp4() + b"\x00" * (small_limits.EVIDENCE_MAX_BYTES + 10)
    send(owner_client, [("recording.mp4", big_video)])
    assert Evidence.objects.get().kind == "video"


def test_files_per_complaint_are_limited(owner_client, small_limits):
    response = send(owner_client, [(f"{n}.txt", text(50)) for n in range(5)])
    body = page_text(response)
    assert Evidence.objects.count() == 3
    assert "at most 3 files" in body


def test_the_total_per_complaint_is_limited(owner_client, small_limits):
    chunk = text(60 * 1024)
    send(owner_client, [("a.txt", chunk), ("b.txt", chunk), ("c.txt", chunk)])
    assert Evidence.objects.count() == 3
    response = send(owner_client, [("d.txt", chunk)])
    assert "at most 3 files" in page_text(response) or "may total at most" in page_text(response)


def test_filenames_are_display_text_only(owner_client):
    nfd = unicodedata.normalize("NFD", "ảnh chụp màn hình.png")
    send(owner_client, [("../../etc/passwd.txt", text()), (nfd, png()), ("invoice\u202egnp.exe", png())])
    names = sorted(Evidence.objects.values_list("original_name", flat=True))
    assert names == sorted(["passwd.txt", "ảnh chụp màn hình.png"])
    assert all(
        "/" not in key.removeprefix("evidence/").split("/", 1)[1]
        for key in Evidence.objects.values_list("original_key", flat=True)
    )


def test_the_image_derivative_has_no_exif_or_gps_and_is_upright(owner_client):
    send(owner_client, [("photo.jpg", jpeg_with_gps_and_rotation())])
    evidence = Evidence.objects.get()
    with default_storage.open(evidence.derivative_key, "rb") as handle:
        derived = Image.open(io.BytesIO(handle.read()))
        assert derived.size == (20, 60)  # orientation 6 applied: 60x20 becomes 20x60
        assert not derived.getexif()
        assert b"PhoneMaker" not in handle.read()
    with default_storage.open(evidence.original_key, "rb") as handle:
        assert Image.open(handle).getexif().get_ifd(0x8825)  # the sealed original keeps its GPS
    assert evidence.thumbnail_key


def test_a_png_with_html_appended_is_served_re_encoded(owner_client):
    polyglot = png() + html()
    send(owner_client, [("innocent.png", polyglot)])
    evidence = Evidence.objects.get()
    response = owner_client.get(reverse("evidence:download", args=[evidence.public_id, "view"]))
    body = b"".join(response.streaming_content)
    assert b"<script>" not in body
    assert body.startswith(b"\x89PNG") or body.startswith(b"\xff\xd8")
    assert response["Content-Disposition"].startswith("attachment;")


def test_a_decompression_bomb_is_refused_before_decoding(owner_client, settings):
    settings.EVIDENCE_MAX_IMAGE_PIXELS = 1_000_000
    bomb = png(3000, 3000, (0, 0, 0))  # small file, 9 million pixels
    assert len(bomb) < 100_000
    response = send(owner_client, [("bomb.png", bomb)])
    assert "has too many pixels" in page_text(response)
    assert not Evidence.objects.exists()


def test_downloads_are_attachments_that_never_run(owner_client):
    send(owner_client, [("statement.pdf", pdf()), ("shot.png", png())])
    for evidence in Evidence.objects.all():
        response = owner_client.get(reverse("evidence:download", args=[evidence.public_id, "original"]))
        assert response.status_code == 200
        assert response["Content-Disposition"].startswith("attachment;")
        assert "sandbox" in response["Content-Security-Policy"]
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Content-Type"] == evidence.content_type


def test_vietnamese_file_names_download_with_an_rfc_6266_filename(owner_client):
    send(owner_client, [("sao kê tháng 1.pdf", pdf())])
    evidence = Evidence.objects.get()
    response = owner_client.get(reverse("evidence:download", args=[evidence.public_id, "original"]))
    assert "filename*=utf-8''sao%20k%C3%AA%20th%C3%A1ng%201.pdf" in response["Content-Disposition"]


@pytest.mark.parametrize("visitor", ["stranger", "other_complainant", "anonymous"])
def test_another_users_evidence_is_404(owner_client, client, visitor):
    send(owner_client, [("shot.png", png())])
    evidence = Evidence.objects.get()
    other = client.__class__()
    if visitor != "anonymous":
        sign_in(other, make_user(username=visitor))
    for variant in ("original", "view", "thumb"):
        assert other.get(reverse("evidence:download", args=[evidence.public_id, variant])).status_code == 404
    assert other.get(reverse("evidence:dossier", args=[owner_client.complaint.reference])).status_code == 404
    upload_url = reverse("evidence:upload", args=[owner_client.complaint.reference])
    assert other.post(upload_url, evidence_post([("x.png", png())])).status_code == 404


def test_agents_see_the_derivative_and_managers_the_original(owner_client, client):
    send(owner_client, [("shot.png", png()), ("statement.pdf", pdf())])
    image = Evidence.objects.get(kind="image")
    document = Evidence.objects.get(kind="pdf")
    agent, manager = client.__class__(), client.__class__()
    sign_in(agent, make_user(role=Role.AGENT))
    sign_in(manager, make_user(role=Role.MANAGER))
    assert agent.get(reverse("evidence:download", args=[image.public_id, "view"])).status_code == 200
    assert agent.get(reverse("evidence:download", args=[image.public_id, "original"])).status_code == 404
    assert agent.get(reverse("evidence:download", args=[document.public_id, "original"])).status_code == 200
    assert manager.get(reverse("evidence:download", args=[image.public_id, "original"])).status_code == 200


def test_staff_can_upload_to_a_case(client):
    complaint = make_complaint()
    sign_in(client, make_user(role=Role.AGENT))
    client.post(reverse("evidence:upload", args=[complaint.reference]), evidence_post([("log.txt", text())]))
    evidence = Evidence.objects.get()
    assert evidence.uploader_role == "staff"


def test_thumbnails_show_on_the_timeline_without_extra_queries(owner_client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    url = reverse("complaints:detail", args=[owner_client.complaint.reference])
    send(owner_client, [("a.png", png())])
    with CaptureQueriesContext(connection) as one:
        owner_client.get(url)
    send(owner_client, [("b.png", png()), ("c.png", png()), ("d.pdf", pdf())])
    with CaptureQueriesContext(connection) as four:
        body = owner_client.get(url).content.decode()
    assert len(one.captured_queries) == len(four.captured_queries)
    assert body.count('class="evidence-thumb') >= 3
