"""What `make run` starts: SQLite, the filesystem broker, a worker, and the web server, with no services."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request

from tests.conftest import ROOT, WorkerProcess, free_port, wait_for


def embedded_env(tmp_path) -> dict[str, str]:
    import os

    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTEST_", "DATABASE_URL", "CELERY_", "EVIDENCE_", "SECRET_KEY"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DEBUG="true",
        VAR_DIR=str(tmp_path / "var"),
        PYTHONPATH=str(ROOT),
    )
    return env


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_the_embedded_default_runs_web_worker_and_broker_without_any_server(tmp_path):
    env = embedded_env(tmp_path)
    manage(env, "migrate", "--noinput")
    manage(env, "seed_demo")
    manage(env, "seed_demo")  # running it again duplicates nothing
    counts = manage(
        env,
        "shell",
        "-c",
        "from accounts.models import User; import json; "
        "print(json.dumps(sorted(User.objects.values_list('username', flat=True))))",
    )
    assert json.loads(counts.strip().splitlines()[-1]) == ["admin", "agent", "complainant", "lead", "manager"]

    worker = WorkerProcess(env, tmp_path / "worker.log").start()
    port = free_port()
    web_log = (tmp_path / "web.log").open("wb")
    web = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=web_log,
        stderr=subprocess.STDOUT,
    )
    try:

        def healthy() -> bool:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
                    return json.load(response)["status"] == "ok"
            except OSError:
                return False

        wait_for(healthy, timeout=60, interval=0.5, what="the web server's /healthz to answer 200")
        manage(env, "shell", "-c", "from config.celery import ping; print(ping.delay().id)")
        wait_for(
            lambda: "Task portal.ping[" in worker.output() and "succeeded" in worker.output(),
            timeout=60,
            what="the worker to run a task from the filesystem broker",
        )
    finally:
        web.terminate()
        web.wait(timeout=20)
        web_log.close()
        worker.stop()
