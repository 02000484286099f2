"""What `make run` starts: SQLite, the filesystem broker, web, worker and beat, with no servers.

The test drives `python -m config.devserver`, the supervisor `make run` ends with.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

from tests.conftest import ROOT, free_port, wait_for


def embedded_env(tmp_path: Path) -> dict[str, str]:
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
        PYTHONUNBUFFERED="1",
    )
    return env


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def processes_with(marker: str) -> list[int]:
    """Pids of live processes whose environment holds `marker` (this run's VAR_DIR)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker.encode() in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def test_demo_data_is_seeded_once_however_often_it_runs(tmp_path):
    env = embedded_env(tmp_path)
    manage(env, "migrate", "--noinput")
    manage(env, "seed_demo")
    manage(env, "seed_demo")
    usernames = manage(
        env,
        "shell",
        "-c",
        "from accounts.models import User; import json; "
        "print(json.dumps(sorted(User.objects.values_list('username', flat=True))))",
    )
    assert json.loads(usernames.strip().splitlines()[-1]) == [
        "admin",
        "agent",
        "complainant",
        "lead",
        "manager",
    ]


def test_web_worker_and_beat_run_together_and_ctrl_c_stops_all_of_them(tmp_path):
    env = embedded_env(tmp_path)
    manage(env, "migrate", "--noinput")
    port = free_port()
    log_path = tmp_path / "devserver.log"
    with log_path.open("wb") as log:
        supervisor = subprocess.Popen(
            [sys.executable, "-m", "config.devserver", f"127.0.0.1:{port}"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:

            def healthy() -> bool:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
                        return json.load(response)["status"] == "ok"
                except OSError:
                    return False

            wait_for(healthy, timeout=90, interval=0.5, what="/healthz to answer 200")
            wait_for(lambda: b"beat: Starting" in log_path.read_bytes(), timeout=60, what="beat to start")
            task_id = manage(env, "shell", "-c", "from config.celery import ping; print(ping.delay().id)")
            expected = f"Task portal.ping[{task_id.strip().splitlines()[-1]}] succeeded".encode()
            wait_for(
                lambda: expected in log_path.read_bytes(),
                timeout=60,
                what="the worker to run a task from the filesystem broker",
            )

            # The folder door: an .eml dropped in var/inbox/ is taken in by the worker.
            inbox = tmp_path / "var" / "inbox"
            inbox.mkdir(parents=True, exist_ok=True)
            corpus = ROOT / "tests" / "mail_corpus"
            (inbox / ".reply.eml").write_bytes((corpus / "gmail_reply_vi.eml").read_bytes())
            (inbox / ".reply.eml").rename(inbox / "reply.eml")
            wait_for(
                lambda: (inbox / "processed" / "reply.eml").exists(),
                timeout=60,
                what="the worker to take the e-mail from var/inbox/",
            )
            count = "from complaints.models import InboundMessage; print(InboundMessage.objects.count())"
            recorded = manage(env, "shell", "-c", count)
            assert recorded.strip().splitlines()[-1] == "1"

            supervisor.send_signal(signal.SIGINT)
            assert supervisor.wait(timeout=60) == 0
            marker = f"VAR_DIR={tmp_path / 'var'}"
            wait_for(
                lambda: processes_with(marker) == [], timeout=30, what="every process of the run to stop"
            )
        finally:
            if supervisor.poll() is None:
                os.killpg(supervisor.pid, signal.SIGKILL)
            for pid in processes_with(f"VAR_DIR={tmp_path / 'var'}"):
                os.kill(pid, signal.SIGKILL)
