"""The S3 backend of django-storages against moto's S3 server over real HTTP."""

from __future__ import annotations

import hashlib
import urllib.parse
import urllib.request

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.urls import reverse

from evidence.models import Evidence
from tests.conftest import free_port
from tests.evidence.conftest import evidence_post, pdf, png
from tests.factories import make_complaint, make_user, sign_in

pytestmark = pytest.mark.django_db

BUCKET = "portal-evidence"


@pytest.fixture(scope="module")
def moto_endpoint():
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3(settings, moto_endpoint, monkeypatch):
    import boto3

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    client = boto3.client(
        "s3",
        endpoint_url=moto_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    client.create_bucket(Bucket=BUCKET)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": BUCKET,
                "access_key": "testing",
                "secret_key": "testing",
                "region_name": "us-east-1",
                "endpoint_url": moto_endpoint,
                "default_acl": "private",
                "querystring_auth": True,
                "querystring_expire": 300,
                "signature_version": "s3v4",
                "file_overwrite": False,
            },
        },
    }
    yield client
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


def test_evidence_is_stored_privately_and_downloaded_through_a_short_signed_link(client, s3):
    user = make_user()
    sign_in(client, user)
    complaint = make_complaint(by=user)
    content = pdf()
    client.post(
        reverse("evidence:upload", args=[complaint.reference]),
        evidence_post([("sao kê.pdf", content), ("shot.png", png())]),
    )
    keys = {item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
    document = Evidence.objects.get(kind="pdf")
    assert set(Evidence.objects.get(kind="image").stored_keys()) <= keys
    assert document.original_key in keys
    grants = s3.get_object_acl(Bucket=BUCKET, Key=document.original_key)["Grants"]
    assert [g["Permission"] for g in grants] == ["FULL_CONTROL"]  # the owner only: private

    response = client.get(reverse("evidence:download", args=[document.public_id, "original"]))
    assert response.status_code == 302
    signed = response["Location"]
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(signed).query)
    assert query["X-Amz-Expires"] == ["300"]
    assert "X-Amz-Signature" in query
    with urllib.request.urlopen(signed, timeout=10) as fetched:  # noqa: S310 - the signed http URL under test
        assert hashlib.sha256(fetched.read()).hexdigest() == document.sha256
        assert fetched.headers["Content-Disposition"].startswith("attachment;")
        assert fetched.headers["Content-Type"] == "application/pdf"


def test_stored_objects_are_never_overwritten(s3):
    first = default_storage.save("evidence/KN-TEST-0001/same.pdf", ContentFile(b"%PDF-1.4 first"))
    second = default_storage.save("evidence/KN-TEST-0001/same.pdf", ContentFile(b"%PDF-1.4 second"))
    assert first != second
    assert s3.get_object(Bucket=BUCKET, Key=first)["Body"].read() == b"%PDF-1.4 first"


def test_verify_and_export_work_on_s3(client, s3, capsys):
    user = make_user()
    sign_in(client, user)
    complaint = make_complaint(by=user)
    client.post(reverse("evidence:upload", args=[complaint.reference]), evidence_post([("a.pdf", pdf())]))
    call_command("verify_evidence")
    assert "0 mismatch(es)" in capsys.readouterr().out
    response = client.get(reverse("evidence:dossier", args=[complaint.reference]))
    assert response.status_code == 200


def test_the_healthz_storage_check_asks_the_bucket(client, s3):
    assert client.get("/healthz").json()["checks"]["storage"] == "ok"
    s3.delete_bucket(Bucket=BUCKET)  # still empty here
    assert client.get("/healthz").json()["checks"]["storage"] == "down"
    s3.create_bucket(Bucket=BUCKET)


def test_files_are_staged_claimed_and_reaped_on_s3(client, s3, django_capture_on_commit_callbacks):
    from datetime import timedelta

    from django.utils import timezone

    from complaints.models import Complaint
    from evidence.models import StagedUpload
    from evidence.services import reap_staged
    from tests.complaints.conftest import intake_post
    from tests.evidence.conftest import upload

    def keys() -> set[str]:
        return {item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])}

    content = pdf()
    claimed = client.post(reverse("evidence:stage"), {"file": upload("sao kê.pdf", content)}).json()["id"]
    left = client.post(reverse("evidence:stage"), {"file": upload("left.png", png())}).json()["id"]
    staged = {row.public_id.hex: row.key for row in StagedUpload.objects.all()}
    assert set(staged.values()) <= keys() and all(key.startswith("staging/") for key in staged.values())

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("complaints:create"), intake_post(**{"evidence-0-staged": claimed}))
    evidence = Complaint.objects.get().evidence.get()
    assert s3.get_object(Bucket=BUCKET, Key=evidence.original_key)["Body"].read() == content
    assert hashlib.sha256(content).hexdigest() == evidence.sha256
    assert staged[claimed.replace("-", "")] not in keys()  # claimed: it left the staging area

    with django_capture_on_commit_callbacks(execute=True):
        reap_staged(now=timezone.now() + timedelta(days=2))
    assert staged[left.replace("-", "")] not in keys()
    assert not StagedUpload.objects.exists()
