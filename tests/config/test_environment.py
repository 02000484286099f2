"""config/settings.py reads the environment with safe defaults and fails loudly on half-configuration."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT

BASE_ENV = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}


def load_settings(tmp_path, **env: str) -> subprocess.CompletedProcess[str]:
    """Import config.settings in a fresh interpreter with exactly `env`; print a few values."""
    code = (
        "import json, config.settings as s; "
        "print(json.dumps({'DEBUG': s.DEBUG, 'DB': s.DATABASES['default']['ENGINE'], "
        "'DB_NAME': str(s.DATABASES['default']['NAME']), 'BROKER': s.CELERY_BROKER_URL, "
        "'STORAGE': s.STORAGES['default']['BACKEND'], 'LANGUAGE_CODE': s.LANGUAGE_CODE, "
        "'TIME_ZONE': s.TIME_ZONE, 'EMAIL': s.EMAIL_BACKEND, 'SSL': s.SECURE_SSL_REDIRECT, "
        "'SESSION_SECURE': s.SESSION_COOKIE_SECURE}))"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**BASE_ENV, "VAR_DIR": str(tmp_path / "var"), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def loaded(tmp_path, **env: str) -> dict:
    result = load_settings(tmp_path, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_debug_run_needs_nothing_but_the_checkout(tmp_path):
    values = loaded(tmp_path, DEBUG="true")
    assert values["DEBUG"] is True
    assert values["DB"] == "django.db.backends.sqlite3"
    assert values["DB_NAME"].startswith(str(tmp_path / "var"))
    assert values["BROKER"] == "filesystem://"
    assert values["STORAGE"] == "django.core.files.storage.FileSystemStorage"
    assert values["LANGUAGE_CODE"] == "vi"
    assert values["TIME_ZONE"] == "Asia/Ho_Chi_Minh"
    assert values["EMAIL"].endswith("filebased.EmailBackend")
    assert values["SSL"] is False


def test_debug_is_off_and_cookies_are_secure_unless_told_otherwise(tmp_path):
    values = loaded(tmp_path, SECRET_KEY="x" * 60)
    assert values["DEBUG"] is False
    assert values["SSL"] is True
    assert values["SESSION_SECURE"] is True
    assert values["EMAIL"].endswith("smtp.EmailBackend")


def test_there_is_no_default_secret_key_outside_debug(tmp_path):
    result = load_settings(tmp_path)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


@pytest.mark.parametrize("value", ["maybe", "2", "yes please"])
def test_a_boolean_that_is_neither_true_nor_false_is_refused(tmp_path, value):
    result = load_settings(tmp_path, DEBUG=value)
    assert result.returncode != 0
    assert "DEBUG must be true or false" in result.stderr


def test_database_url_selects_postgresql(tmp_path):
    values = loaded(tmp_path, DEBUG="true", DATABASE_URL="postgres://u:p@db.internal:5432/portal")
    assert values["DB"] == "django.db.backends.postgresql"
    assert values["DB_NAME"] == "portal"


def test_s3_storage_without_a_bucket_fails_at_start_up(tmp_path):
    result = load_settings(tmp_path, DEBUG="true", EVIDENCE_STORAGE="s3")
    assert result.returncode != 0
    assert "AWS_STORAGE_BUCKET_NAME" in result.stderr


def test_s3_storage_with_half_the_credentials_fails_at_start_up(tmp_path):
    result = load_settings(
        tmp_path, DEBUG="true", EVIDENCE_STORAGE="s3", AWS_STORAGE_BUCKET_NAME="b", AWS_ACCESS_KEY_ID="k"
    )
    assert result.returncode != 0
    assert "AWS_SECRET_ACCESS_KEY" in result.stderr


def test_s3_storage_fully_configured_uses_django_storages(tmp_path):
    values = loaded(
        tmp_path,
        DEBUG="true",
        EVIDENCE_STORAGE="s3",
        AWS_STORAGE_BUCKET_NAME="evidence",
        AWS_ACCESS_KEY_ID="k",
        AWS_SECRET_ACCESS_KEY="s",
    )
    assert values["STORAGE"] == "storages.backends.s3.S3Storage"


def test_an_unknown_language_code_is_refused(tmp_path):
    result = load_settings(tmp_path, DEBUG="true", LANGUAGE_CODE="fr")
    assert result.returncode != 0
    assert "LANGUAGE_CODE" in result.stderr


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    env = {
        **BASE_ENV,
        "VAR_DIR": str(tmp_path / "var"),
        "SECRET_KEY": "p" * 20 + "r0duct10n-s3cr3t-k3y-w1th-3n0ugh-ch4r4ct3rs-" + "z" * 10,
        "ALLOWED_HOSTS": "portal.example.org",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/portal",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def inbound_address(tmp_path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "import config.settings as s; print(repr(s.INBOUND_EMAIL_ADDRESS))"],
        cwd=ROOT,
        env={**BASE_ENV, "VAR_DIR": str(tmp_path / "var"), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_debug_run_has_an_inbound_address_and_production_has_one_only_when_given(tmp_path):
    assert inbound_address(tmp_path, DEBUG="true").stdout.strip() == "'replies@localhost'"
    assert inbound_address(tmp_path, SECRET_KEY="x" * 60).stdout.strip() == "''"
    given = inbound_address(tmp_path, SECRET_KEY="x" * 60, INBOUND_EMAIL_ADDRESS=" support@example.org ")
    assert given.stdout.strip() == "'support@example.org'"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("support+cases@example.org", "must have no '+' in the part before the @"),
        ("Support <support@example.org>", "must be one e-mail address"),
        ("support@example.org, help@example.org", "must be one e-mail address"),
        ("support", "must be one e-mail address"),
        ("s" * 32 + "@example.org", "at most 31 characters"),
    ],
)
def test_an_inbound_address_a_token_cannot_be_added_to_stops_start_up(tmp_path, value, message):
    result = inbound_address(tmp_path, DEBUG="true", INBOUND_EMAIL_ADDRESS=value)
    assert result.returncode != 0
    assert "ImproperlyConfigured: INBOUND_EMAIL_ADDRESS" in result.stderr
    assert message in result.stderr
