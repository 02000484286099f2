"""`make run`'s process supervisor: the web server, a Celery worker and Celery beat together.

Started as `python -m config.devserver [ADDRESS]`. Ctrl-C (or SIGTERM) stops all three;
if any one of them exits, the others are stopped too, so nothing is left running.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time

DEFAULT_ADDRESS = "127.0.0.1:8000"


def commands(address: str) -> dict[str, list[str]]:
    python = sys.executable
    return {
        "web": [python, "manage.py", "runserver", address],
        "worker": [python, "-m", "celery", "-A", "config", "worker", "--loglevel=INFO", "--concurrency=2"],
        "beat": [python, "-m", "celery", "-A", "config", "beat", "--loglevel=INFO"],
    }


def stop(processes: dict[str, subprocess.Popen[bytes]], timeout: float = 15) -> None:
    """Ask each child to shut down; then kill whatever is left of its process group.

    SIGTERM goes to the child itself, so Celery makes a warm shutdown and the reloader
    takes its server down; the group kill catches anything that outlived its parent.
    """
    for process in processes.values():
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + timeout
    for process in processes.values():
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)


def main(argv: list[str]) -> int:
    address = argv[0] if argv else DEFAULT_ADDRESS
    stopping = False

    def request_stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    # Children start in their own process group, so a terminal's Ctrl-C reaches only this
    # supervisor, which then stops each of them once and in order.
    processes = {
        name: subprocess.Popen(cmd, start_new_session=True)  # noqa: S603 - fixed argument lists
        for name, cmd in commands(address).items()
    }
    print(f"Serving http://{address}/ with a Celery worker and beat; Ctrl-C stops all three.", flush=True)
    status = 0
    try:
        while not stopping:
            exited = [name for name, process in processes.items() if process.poll() is not None]
            if exited:
                print(f"{', '.join(exited)} stopped; stopping the rest.", file=sys.stderr, flush=True)
                status = 1
                break
            time.sleep(0.5)
    finally:
        stop(processes)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
