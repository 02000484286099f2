"""The production shape end to end: gunicorn, a Celery worker pair and one beat on
PostgreSQL, Redis and S3, with e-mail going out over SMTP.

Real processes throughout, started with `config.settings` (DEBUG off) as README's
Production section says: gunicorn with two workers, two Celery worker nodes, one beat
sweeping every second, a private redis-server (broker and cache) that the test stops
and starts, moto's S3 server for evidence, and an SMTP sink in this process. Chromium
files complaints with a screenshot; a first-response target of a few seconds lets beat
breach and escalate them. Then Redis goes away and a worker is killed with SIGKILL in
the middle of a second wave: intake still works, and once Redis and the worker are back
every complaint is escalated once and every notice arrives once.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from complaints.models import Complaint, Notification, NotificationStatus, Subcategory
from escalation.models import Escalation, Reason, SlaPolicy
from evidence.models import Evidence
from tests.conftest import ROOT, BeatProcess, GunicornProcess, WorkerProcess, celery_env, wait_for
from tests.evidence import test_s3
from tests.evidence.conftest import png
from tests.factories import make_user

# moto's S3 server, started once per module by the S3 tests' fixture.
moto_endpoint = test_s3.moto_endpoint

pytestmark = [pytest.mark.browser, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

BUCKET = "portal-evidence-production"
FIRST_RESPONSE = timedelta(seconds=4)
LEAD_EMAIL = "lead@portal.example"


def healthz(base: str, *, strict: bool = False) -> tuple[int, dict]:
    try:
        url = f"{base}/healthz" + ("?strict=1" if strict else "")
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - http only
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def file_complaint(browser, base: str, screenshot: Path, *, subject: str, email: str, language: str) -> str:
    """File a guest complaint with one screenshot through the intake form; return its reference."""
    context = browser.new_context(locale="en-US" if language == "en" else "vi-VN")
    page = context.new_page()
    try:
        page.goto(f"{base}/complaints/new/")
        page.select_option("#id_subcategory", str(Subcategory.objects.get(slug="cannot-log-in").pk))
        page.fill("#id_provider_name", "MoMoney")
        page.fill("#id_subject", subject)
        page.fill("#id_description", "The one-time code never arrives, so I cannot sign in.")
        page.fill("#id_desired_outcome", "Access to my account again.")
        page.fill("#id_occurred_at", "2026-01-10T09:30")
        page.fill("#id_contact_name", "Lan")
        page.fill("#id_contact_email", email)
        page.select_option("#id_language", language)
        page.set_input_files("#id_evidence-0-file", str(screenshot))
        page.fill("#id_evidence-0-caption", "the error screen")
        page.check("#id_consent")
        page.get_by_role("button", name="Send the complaint" if language == "en" else "Gửi khiếu nại").click()
        try:
            page.wait_for_url(re.compile(r"/complaints/KN-[0-9A-Z-]+/submitted/$"), timeout=30_000)
        except PlaywrightTimeoutError:
            raise AssertionError(f"intake did not finish at {page.url}:\n{page.inner_text('body')}") from None
        return page.get_by_test_id("reference").inner_text()
    finally:
        context.close()


def mail_for(sink, reference: str) -> list:
    return [message for message in list(sink.messages) if reference in message["Subject"]]


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def server_errors(gunicorn: GunicornProcess) -> list[str]:
    """Access-log lines with a 5xx status, except /healthz's 503 while a service is down."""
    errors = []
    for line in gunicorn.output().splitlines():
        match = re.search(r'"[A-Z]+ (\S+) HTTP/[\d.]+" (\d{3}) ', line)
        if match and match.group(2).startswith("5") and not match.group(1).startswith("/healthz"):
            errors.append(line)
    return errors


def test_gunicorn_celery_and_beat_file_escalate_and_notify_and_lose_nothing_when_redis_and_a_worker_die(
    browser, redis_server, moto_endpoint, smtp_sink, tmp_path
):
    import boto3

    started = time.monotonic()
    redis_server.start()
    s3 = boto3.client(
        "s3",
        endpoint_url=moto_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    s3.create_bucket(Bucket=BUCKET)

    # What an administrator sets up: a team lead with an e-mail address, and a short
    # first-response target for the Account category (wall clock, no business calendar).
    make_user(username="lead", email=LEAD_EMAIL, role="Team leads")
    policies = SlaPolicy.objects.filter(category__slug="account")
    assert policies.exists()
    policies.update(first_response_target=FIRST_RESPONSE, resolution_target=timedelta(days=1), calendar=None)

    env = celery_env(
        redis_server.url,
        DJANGO_SETTINGS_MODULE="config.settings",  # the production settings, not the test ones
        DEBUG="false",
        SECRET_KEY="production-shaped-test-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        # Plain HTTP on 127.0.0.1: no TLS proxy in front, so no HTTPS redirect or secure cookies.
        SECURE_SSL_REDIRECT="false",
        SESSION_COOKIE_SECURE="false",
        CSRF_COOKIE_SECURE="false",
        SECURE_HSTS_SECONDS="0",
        CACHE_URL=redis_server.url.rsplit("/", 1)[0] + "/1",
        CELERY_RESULT_BACKEND="",
        EVIDENCE_STORAGE="s3",
        AWS_STORAGE_BUCKET_NAME=BUCKET,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_S3_REGION_NAME="us-east-1",
        AWS_S3_ENDPOINT_URL=moto_endpoint,
        EMAIL_BACKEND="smtp",
        EMAIL_HOST=smtp_sink.host,
        EMAIL_PORT=str(smtp_sink.port),
        EMAIL_USE_TLS="false",
        DEFAULT_FROM_EMAIL="Complaint portal <no-reply@portal.example>",
        SLA_SWEEP_INTERVAL="1",
        NOTIFICATION_DELIVERY_INTERVAL="1",
        VAR_DIR=str(tmp_path / "var"),
        STATIC_ROOT=str(tmp_path / "static"),
    )
    gunicorn = GunicornProcess(env, tmp_path / "gunicorn.log", workers=2)
    env["SITE_URL"] = gunicorn.url
    # A deploy step: static files for WhiteNoise's manifest storage (DEBUG is off).
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    screenshot = tmp_path / "error-screen.png"
    screenshot.write_bytes(png(320, 200))

    workers: dict[str, WorkerProcess] = {}
    beat = None
    try:
        gunicorn.start()
        for name in ("w1", "w2"):
            workers[name] = WorkerProcess(env, tmp_path / f"{name}.log").start("-n", f"{name}@%h")
        beat = BeatProcess(env, tmp_path / "beat.log").start("--schedule", str(tmp_path / "beat-schedule"))
        assert healthz(gunicorn.url) == (
            200,
            {
                "status": "ok",
                "checks": {"database": "ok", "broker": "ok", "storage": "ok"},
                "failing": [],
                "degraded": [],
            },
        )
        # Static files come from collectstatic's hashed names through WhiteNoise.
        home = urllib.request.urlopen(f"{gunicorn.url}/", timeout=10).read().decode()  # noqa: S310
        css = re.search(r'href="(/static/[^"]+\.[0-9a-f]{12}\.css)"', home)
        assert css, "no hashed stylesheet link: collectstatic's manifest is not in use"
        assert urllib.request.urlopen(f"{gunicorn.url}{css.group(1)}", timeout=10).status == 200  # noqa: S310

        # --- First wave: file with evidence; beat breaches and escalates; the notices arrive.
        first = file_complaint(
            browser, gunicorn.url, screenshot, subject="Locked out", email="lan@example.org", language="en"
        )
        evidence = Evidence.objects.get(complaint__reference=first)
        for key in (evidence.original_key, evidence.derivative_key, evidence.thumbnail_key):
            assert key
            s3.head_object(Bucket=BUCKET, Key=key)  # in the bucket, where gunicorn put it
        original = s3.get_object(Bucket=BUCKET, Key=evidence.original_key)["Body"].read()
        assert original == screenshot.read_bytes()

        wait_for(
            lambda: Escalation.objects.filter(complaint__reference=first).exists(),
            timeout=30,
            what="beat's sweep to escalate the first complaint",
        )
        wait_for(lambda: len(mail_for(smtp_sink, first)) >= 3, timeout=30, what="the first wave's e-mails")
        by_recipient = {message["To"]: message for message in mail_for(smtp_sink, first)}
        alert = by_recipient[LEAD_EMAIL]
        assert "chuyển lên cấp của bạn" in text_of(alert)  # in the lead's language (default vi)
        complainant_mail = [m for m in mail_for(smtp_sink, first) if m["To"] == "lan@example.org"]
        assert sorted(m["Subject"] for m in complainant_mail) == [
            f"[{first}] Update on your complaint",
            f"[{first}] We received your complaint",
        ]
        notice = next(m for m in complainant_mail if "Update" in m["Subject"])
        assert "passed up to someone with more authority" in text_of(notice)
        # The link in the escalation notice opens the case on gunicorn (SITE_URL).
        link = re.search(r"(http://\S+/complaints/track/\S+/)", text_of(notice)).group(1)
        assert link.startswith(gunicorn.url)
        context = browser.new_context(locale="en-US")
        page = context.new_page()
        page.goto(link)
        assert page.url == f"{gunicorn.url}/complaints/{first}/", page.inner_text("body")
        assert page.get_by_test_id("reference").inner_text() == first
        context.close()

        # --- Second wave: Redis goes away, a worker is killed, complaints keep coming.
        redis_server.stop()
        # The load balancer's check keeps the node in (it still takes complaints); monitoring's fails.
        status, body = healthz(gunicorn.url)
        assert (status, body["status"], body["degraded"]) == (200, "degraded", ["broker"])
        status, body = healthz(gunicorn.url, strict=True)
        assert (status, body["failing"]) == (503, ["broker"])
        second = file_complaint(
            browser,
            gunicorn.url,
            screenshot,
            subject="Khong dang nhap duoc",
            email="minh@example.org",
            language="vi",
        )  # intake does not need Redis: the outbox row is in PostgreSQL
        workers["w1"].process.send_signal(signal.SIGKILL)
        workers["w1"].process.wait()
        workers["w1"].log.close()
        # The second complaint's deadline passes while the broker is down; nothing can run.
        time.sleep(FIRST_RESPONSE.total_seconds() + 1)
        assert not Escalation.objects.filter(complaint__reference=second).exists()
        assert mail_for(smtp_sink, second) == []
        assert Notification.objects.filter(complaint__reference=second).get().status == "pending"
        assert beat.process.poll() is None and workers["w2"].process.poll() is None

        redis_server.start()  # same port, empty: whatever was queued in Redis is gone
        workers["w1"] = WorkerProcess(env, tmp_path / "w1-restarted.log").start("-n", "w1@%h")
        third = file_complaint(
            browser,
            gunicorn.url,
            screenshot,
            subject="Still locked out",
            email="hoa@example.org",
            language="en",
        )
        references = [first, second, third]
        wait_for(
            lambda: (
                Escalation.objects.filter(complaint__reference__in=references).count() == 3
                and not Notification.objects.exclude(status=NotificationStatus.SENT).exists()
                and Notification.objects.count() == 9
            ),
            timeout=45,
            what="every complaint escalated and every notice sent after the outage",
        )
        time.sleep(2.5)  # more sweeps and deliveries: they must find nothing left to do
        assert healthz(gunicorn.url)[0] == 200
    finally:
        if beat is not None:
            beat.stop()
        for worker in workers.values():
            worker.stop()
        gunicorn.stop()
        for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []):
            s3.delete_object(Bucket=BUCKET, Key=item["Key"])
        s3.delete_bucket(Bucket=BUCKET)

    # Every complaint escalated exactly once, for its first-response deadline.
    escalations = Escalation.objects.filter(complaint__reference__in=references)
    assert sorted(escalations.values_list("complaint__reference", "reason", "to_level")) == sorted(
        (reference, Reason.FIRST_RESPONSE_BREACHED, 1) for reference in references
    )
    assert set(Complaint.objects.values_list("escalation_level", flat=True)) == {1}
    assert Evidence.objects.count() == 3

    # Every notice sent once, and every e-mail delivered once: acknowledgement and
    # escalation notice to the complainant, an alert to the team lead, per complaint.
    notifications = Notification.objects.all()
    assert {(n.status, n.attempts) for n in notifications} == {(NotificationStatus.SENT, 1)}
    delivered = Counter((m["To"], m["Subject"]) for m in smtp_sink.messages)
    assert max(delivered.values()) == 1, [key for key, count in delivered.items() if count > 1]
    assert len(smtp_sink.messages) == notifications.count() == 9
    for reference, email in zip(
        references, ("lan@example.org", "minh@example.org", "hoa@example.org"), strict=True
    ):
        assert sorted(m["To"] for m in mail_for(smtp_sink, reference)) == sorted([email, email, LEAD_EMAIL])

    assert server_errors(gunicorn) == []
    assert "Internal Server Error" not in gunicorn.output()
    for worker in workers.values():
        assert "raised unexpected" not in worker.output()
    print(f"\nproduction-shaped run: {time.monotonic() - started:.1f} s")
