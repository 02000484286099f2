"""The benchmarks' harness: figures, the bench database, gunicorn and Celery, wrk, /proc.

Every figure is printed as one JSON line and appended to bench/results/latest.jsonl.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from contextlib import contextmanager
from http.cookiejar import CookieJar
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "latest.jsonl"
DATABASE = "portal_bench"
PSQL_URL = "postgres://postgres@127.0.0.1:5432"
ENV = {
    **os.environ,
    "DJANGO_SETTINGS_MODULE": "bench.settings",
    "DATABASE_URL": f"{PSQL_URL}/{DATABASE}",
    "PYTHONPATH": str(ROOT),
}
LOAD_SECONDS = int(os.environ.get("BENCH_SECONDS", "20"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "8"))


def emit(name: str, value: float, unit: str, n: int) -> None:
    line = json.dumps({"name": name, "value": round(value, 3), "unit": unit, "n": n})
    print(line, flush=True)
    with RESULTS.open("a") as handle:
        handle.write(line + "\n")


def psql(sql: str, database: str = "postgres") -> str:
    return subprocess.run(
        ["psql", f"{PSQL_URL}/{database}", "-tAc", sql], check=True, capture_output=True, text=True
    ).stdout.strip()


def fresh_database() -> None:
    psql(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    psql(f"CREATE DATABASE {DATABASE}")
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=ENV, check=True
    )
    psql("CREATE TABLE bench_floor (id bigserial PRIMARY KEY, body text NOT NULL)", DATABASE)


def probe(module: str, *args: str) -> dict:
    """Run a probe module in a fresh process; its last line of output is its JSON figures."""
    output = subprocess.run(
        [sys.executable, "-m", module, *args], cwd=ROOT, env=ENV, check=True, capture_output=True, text=True
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


@contextmanager
def gunicorn(port: int, workers: int = 2, timeout: int = 30, *extra: str):
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "--workers",
            str(workers),
            "--worker-class",
            "sync",
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "--timeout",
            str(timeout),
            # gunicorn 27's control socket sits at one path per user: two runs would share it.
            "--no-control-socket",
            *extra,
        ],
        cwd=ROOT,
        env=ENV,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).read()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("gunicorn did not start") from None
                time.sleep(0.3)
        yield f"http://127.0.0.1:{port}", process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextmanager
def celery_processes(folder: Path):
    """A worker and beat as production runs them, the sweep every minute."""
    env = {**ENV, "SLA_SWEEP_INTERVAL": "60"}
    common = [sys.executable, "-m", "celery", "-A", "config"]
    processes = [
        subprocess.Popen([*common, "worker", "--loglevel=WARNING", "--concurrency=1"], cwd=ROOT, env=env),
        subprocess.Popen(
            [*common, "beat", "--loglevel=WARNING", "--schedule", str(folder / "beat-schedule")],
            cwd=ROOT,
            env=env,
        ),
    ]
    try:
        yield
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=60)


def csrf_session(base: str) -> tuple[str, str]:
    """A CSRF cookie and its form token, as a browser holds them after opening the form."""
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    html = opener.open(f"{base}/complaints/new/").read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    cookie = next(c.value for c in jar if c.name == "csrftoken")
    return cookie, token


WRK_SCRIPT = r"""
local body_template = [[__BODY__]]
local counter = 0
math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Cookie"] = "csrftoken=__COOKIE__; django_language=vi"
wrk.headers["Referer"] = "__BASE__/"
request = function()
  counter = counter + 1
  local key = string.format("%08x-%04x-4%03x-a%03x-%06x%06x", math.random(0, 0x7fffffff),
    math.random(0, 0xffff), math.random(0, 0xfff), math.random(0, 0xfff), math.random(0, 0xffffff), counter)
  return wrk.format(nil, "__PATH__", nil, (body_template:gsub("__KEY__", key)))
end
done = function(summary, latency, requests)
  io.write(string.format('\nRESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p95_us": %d, ' ..
    '"errors": %d}\n', summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.timeout))
end
"""


def run_wrk(base: str, path: str, fields: dict[str, str], cookie: str) -> dict[str, float]:
    body = urllib.parse.urlencode(fields).replace("KEYPLACEHOLDER", "__KEY__")
    script = (
        WRK_SCRIPT.replace("__BODY__", body)
        .replace("__COOKIE__", cookie)
        .replace("__BASE__", base)
        .replace("__PATH__", path)
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    try:
        output = subprocess.run(
            [
                "wrk",
                "-t1",
                f"-c{CONNECTIONS}",
                f"-d{LOAD_SECONDS}s",
                "--timeout",
                "10s",
                "-s",
                handle.name,
                base,
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    finally:
        os.unlink(handle.name)
    result = json.loads(output.split("RESULT ", 1)[1])
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    return result


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * len(ordered)))] if ordered else 0.0


def worker_pids(master: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == master:
                pids.append(int(entry.name))
    return pids


def memory_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)
