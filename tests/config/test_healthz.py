"""/healthz reports the database, the broker and the storage: 200 when all answer, 503 naming the rest."""

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
    }
    assert "no-cache" in response["Cache-Control"]


def test_healthz_is_503_naming_an_unreachable_broker(client, monkeypatch):
    from tests.conftest import free_port

    # Celery reads CELERY_BROKER_URL from the environment before its own settings.
    dead = f"redis://127.0.0.1:{free_port()}/0"
    monkeypatch.setenv("CELERY_BROKER_URL", dead)
    monkeypatch.setitem(celery_app.conf, "broker_url", dead)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["broker"]
    assert response.json()["checks"]["broker"] == "down"


def test_healthz_is_503_naming_an_unwritable_storage(client, settings, tmp_path):
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
    assert response.status_code == 503
    assert "storage" in response.json()["failing"]


def test_healthz_is_503_naming_a_failing_database(client, monkeypatch):
    def broken() -> None:
        raise OperationalError("connection refused")

    monkeypatch.setitem(views.CHECKS, "database", broken)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert "database" in response.json()["failing"]


def test_healthz_answers_only_get(client):
    assert client.post("/healthz").status_code == 405
