"""Sealed originals, nothing half-saved, no orphans, no temporary files left behind."""

from __future__ import annotations

import hashlib
import html
import io
import json
import os
import time
import zipfile
from datetime import timedelta
from pathlib import Path
from unittest import mock

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.db import DatabaseError
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from complaints.models import Complaint
from complaints.services.inbound import receive_raw
from evidence.models import Evidence
from evidence.uploadhandler import EvidenceUploadHandler
from tests.complaints.conftest import intake_post
from tests.evidence.conftest import eml, evidence_post, pdf, png, text, upload
from tests.factories import make_complaint, make_user, sign_in

pytestmark = pytest.mark.django_db


def stored_files() -> list[str]:
    root = Path(default_storage.location)
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def file_with_evidence(client, files, **overrides):
    data = intake_post(**overrides)
    data.update(evidence_post(files))
    return client.post(reverse("complaints:create"), data, HTTP_ACCEPT_LANGUAGE="en")


def test_intake_takes_several_files_with_captions_in_one_submission(client):
    data = intake_post()
    data.update(evidence_post([("shot.png", png()), ("mail.eml", eml())], ["error screen", "their reply"]))
    response = client.post(reverse("complaints:create"), data, HTTP_ACCEPT_LANGUAGE="en", follow=True)
    complaint = Complaint.objects.get()
    assert list(complaint.evidence.values_list("original_name", "caption")) == [
        ("shot.png", "error screen"),
        ("mail.eml", "their reply"),
    ]
    assert "2 files were added." in response.content.decode()


def test_a_refused_file_at_intake_files_nothing_and_names_the_file(client):
    data = intake_post()
    data.update(evidence_post([("ok.pdf", pdf()), ("fake.pdf", png())]))
    response = client.post(reverse("complaints:create"), data, HTTP_ACCEPT_LANGUAGE="en", follow=True)
    assert not Complaint.objects.exists() and not Evidence.objects.exists()
    assert "“fake.pdf”: the file's content does not match its extension." in html.unescape(
        response.content.decode()
    )


def test_a_storage_failure_saves_nothing_and_keeps_the_text(client):
    real_save = default_storage.save
    calls = {"n": 0}

    def failing_save(name, content, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("disk full")
        return real_save(name, content, *args, **kwargs)

    with mock.patch.object(default_storage, "save", side_effect=failing_save):
        response = file_with_evidence(
            client, [("a.png", png()), ("b.pdf", pdf())], description="Mô tả không được mất"
        )
    body = response.content.decode()
    assert response.status_code == 200
    assert "We could not store your files, so nothing was sent. Please try again." in body
    assert "Mô tả không được mất" in body
    assert not Complaint.objects.exists() and not Evidence.objects.exists()
    assert stored_files() == []


def test_a_database_failure_after_storing_removes_the_stored_objects(client):
    complaint = make_complaint()
    user = make_user(role=Role.AGENT)
    sign_in(client, user)
    with mock.patch("evidence.models.Evidence.objects.bulk_create", side_effect=DatabaseError("boom")):
        response = client.post(
            reverse("evidence:upload", args=[complaint.reference]),
            evidence_post([("a.png", png())]),
            follow=True,
            HTTP_ACCEPT_LANGUAGE="en",
        )
    assert "We could not store your files. Nothing was saved; please try again." in response.content.decode()
    assert not Evidence.objects.exists()
    assert stored_files() == []


def test_a_database_failure_at_intake_keeps_the_text_and_saves_nothing(client):
    # The last write of the filing: its notice to the complainant.
    with mock.patch("complaints.records._INSERT_NOTICE", side_effect=DatabaseError("boom")):
        response = file_with_evidence(client, [("a.png", png())], description="Giữ nguyên mô tả này")
    body = response.content.decode()
    assert response.status_code == 200
    assert "Something went wrong on our side, so nothing was sent. Please try again." in body
    assert "Giữ nguyên mô tả này" in body
    assert not Complaint.objects.exists() and not Evidence.objects.exists()
    assert stored_files() == []


def test_an_interrupted_upload_leaves_no_temporary_file():
    handler = EvidenceUploadHandler(None)
    handler.new_file("evidence-0-file", "big.mp4", "video/mp4", None)
    handler.receive_data_chunk(b"\x00" * 70_000, 0)
    path = handler.file.name
    assert os.path.exists(path)
    handler.upload_interrupted()
    assert not os.path.exists(path)


def test_the_handler_streams_to_disk_and_hashes_on_the_way():
    handler = EvidenceUploadHandler(None)
    handler.new_file("evidence-0-file", "notes.txt", "text/plain", None)
    content = text(200_000)
    for start in range(0, len(content), 65536):
        handler.receive_data_chunk(content[start : start + 65536], start)
    sealed = handler.file_complete(len(content))
    assert sealed.sha256 == hashlib.sha256(content).hexdigest()
    assert sealed.detected_type in ("text/plain", "text/csv")
    assert os.path.getsize(sealed.temporary_file_path()) == len(content)


def test_verify_evidence_reports_an_altered_or_missing_original(client, capsys):
    complaint = make_complaint()
    sign_in(client, make_user(role=Role.AGENT))
    client.post(
        reverse("evidence:upload", args=[complaint.reference]),
        evidence_post([("a.pdf", pdf()), ("b.txt", text())]),
    )
    call_command("verify_evidence")
    assert "checked 2 original(s); 0 mismatch(es)" in capsys.readouterr().out
    altered, missing = Evidence.objects.order_by("pk")
    with open(default_storage.path(altered.original_key), "ab") as handle:
        handle.write(b"tampered")
    default_storage.delete(missing.original_key)
    with pytest.raises(CommandError):
        call_command("verify_evidence")
    err = capsys.readouterr().err
    assert f"ALTERED {complaint.reference} evidence {altered.public_id}" in err
    assert f"MISSING {complaint.reference} evidence {missing.public_id}" in err


def test_the_reaper_removes_only_old_objects_without_a_row(client):
    complaint = make_complaint()
    sign_in(client, make_user(role=Role.AGENT))
    client.post(reverse("evidence:upload", args=[complaint.reference]), evidence_post([("kept.png", png())]))
    old_orphan = default_storage.save(f"evidence/{complaint.reference}/orphan.pdf", ContentFile(pdf()))
    young_orphan = default_storage.save(f"evidence/{complaint.reference}/young.pdf", ContentFile(pdf()))
    two_days_ago = time.time() - 2 * 86400
    os.utime(default_storage.path(old_orphan), (two_days_ago, two_days_ago))
    kept = Evidence.objects.get()
    for key in kept.stored_keys():
        os.utime(default_storage.path(key), (two_days_ago, two_days_ago))
    call_command("reap_evidence")
    remaining = set(stored_files())
    assert old_orphan not in remaining
    assert young_orphan in remaining
    assert set(kept.stored_keys()) <= remaining


def test_the_reaper_removes_received_messages_no_record_holds_and_keeps_the_recorded_ones():
    recorded = receive_raw(
        (Path(__file__).resolve().parent.parent / "mail_corpus" / "gmail_reply_vi.eml").read_bytes()
    )
    # A worker killed after storing a message and before its record committed leaves this:
    lost = default_storage.save("inbound/2026/11/lost.eml", ContentFile(b"Subject: x\r\n\r\nlost"))
    two_days_ago = time.time() - 2 * 86400
    for key in (recorded.raw_key, lost):
        os.utime(default_storage.path(key), (two_days_ago, two_days_ago))
    call_command("reap_evidence")
    assert default_storage.exists(recorded.raw_key)
    assert not default_storage.exists(lost)


def test_the_reaper_task_delegates_to_the_service():
    from evidence.tasks import reap_orphaned_evidence

    assert reap_orphaned_evidence.apply().get() == 0


def test_the_dossier_zip_has_originals_timeline_and_manifest(client):
    user = make_user(preferred_language="en")
    sign_in(client, user)
    complaint = make_complaint(by=user, subject="<b>Double charge</b>")
    client.post(
        reverse("evidence:upload", args=[complaint.reference]),
        evidence_post([("statement.pdf", pdf()), ("ảnh.png", png())], ["bank statement", ""]),
    )
    response = client.get(reverse("evidence:dossier", args=[complaint.reference]))
    assert response["Content-Disposition"].startswith("attachment;")
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["reference"] == complaint.reference
    for entry in manifest["files"]:
        assert hashlib.sha256(archive.read(entry["path"])).hexdigest() == entry["sha256"]
    assert [e["original_name"] for e in manifest["files"]] == ["statement.pdf", "ảnh.png"]
    page = archive.read("dossier.html").decode()
    assert "&lt;b&gt;Double charge&lt;/b&gt;" in page and "<b>Double charge</b>" not in page
    assert "Evidence added" in page or "Đã thêm bằng chứng" in page


@pytest.mark.parametrize(("role", "status"), [(Role.AGENT, 404), (Role.MANAGER, 200)])
def test_managers_export_the_dossier_and_agents_do_not(client, role, status):
    complaint = make_complaint()
    sign_in(client, make_user(role=role))
    assert client.get(reverse("evidence:dossier", args=[complaint.reference])).status_code == status


def test_uploads_to_a_closed_complaint_are_refused(client):
    from complaints import services
    from tests.factories import resolve

    user = make_user()
    sign_in(client, user)
    complaint = resolve(make_complaint(by=user), by=make_user(role=Role.AGENT))
    services.accept_resolution(complaint=complaint, by=user, now=timezone.now() + timedelta(minutes=1))
    response = client.post(
        reverse("evidence:upload", args=[complaint.reference]), {"evidence-0-file": upload("a.pdf", pdf())}
    )
    assert response.status_code == 404
