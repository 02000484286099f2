"""`make run`'s process supervisor: the web server, a Celery worker and Celery beat together.

Started as `python -m config.devserver [ADDRESS]`. Ctrl-C (or SIGTERM) stops all three;
if any one of them exits, the others are stopped too, so nothing is left running.
"""

from __future__ import annotations

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
    """Stop each child's whole process group (the reloader's and prefork's children too)."""
    for process in processes.values():
        _signal_group(process, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for process in processes.values():
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _signal_group(process, signal.SIGKILL)
            process.wait()


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    try:
        os.killpg(process.pid, signum)
    except ProcessLookupError:
        pass


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
        name: subprocess.Popen(cmd, start_new_session=True) for name, cmd in commands(address).items()
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
