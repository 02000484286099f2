"""/healthz reports the database, the broker and the storage.

By default it answers 200 while the portal can take complaints (the database answers) and
names the degraded parts; `?strict=1` answers 503 unless every part answers.
"""

from __future__ import annotations

import pytest
from django.db import OperationalError

from config import views
from config.celery import app as celery_app

pytestmark = pytest.mark.django_db


def test_healthz_is_200_when_everything_answers(client, redis_url):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "broker": "ok", "storage": "ok"},
        "failing": [],
        "degraded": [],
    }
    assert client.get("/healthz?strict=1").status_code == 200
    assert "no-cache" in response["Cache-Control"]


def test_without_the_broker_healthz_is_200_and_degraded_and_strict_is_503(client, monkeypatch):
    from tests.conftest import free_port

    # Celery reads CELERY_BROKER_URL from the environment before its own settings.
    dead = f"redis://127.0.0.1:{free_port()}/0"
    monkeypatch.setenv("CELERY_BROKER_URL", dead)
    monkeypatch.setitem(celery_app.conf, "broker_url", dead)
    response = client.get("/healthz")
    # Intake still works without Redis: a load balancer must keep sending visitors.
    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["degraded"] == ["broker"]
    assert response.json()["checks"]["broker"] == "down"
    strict = client.get("/healthz?strict=1")
    assert strict.status_code == 503
    assert strict.json()["failing"] == ["broker"]


def test_an_unwritable_storage_degrades_healthz_and_fails_it_when_strict(client, settings, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the storage folder should be")
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": blocker / "files"},
        },
    }
    response = client.get("/healthz")
    assert response.status_code == 200
    assert "storage" in response.json()["degraded"]
    strict = client.get("/healthz?strict=1")
    assert strict.status_code == 503
    assert "storage" in strict.json()["failing"]


def test_healthz_is_503_naming_a_failing_database(client, monkeypatch):
    def broken() -> None:
        raise OperationalError("connection refused")

    monkeypatch.setitem(views.CHECKS, "database", broken)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "down"
    assert "database" in response.json()["failing"]
    assert "database" not in response.json()["degraded"]


def test_healthz_answers_only_get(client):
    assert client.post("/healthz").status_code == 405
