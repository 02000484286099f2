"""The benchmarks' harness: figures, the bench database, the probes, gunicorn and Celery,
wrk, percentiles and memory from /proc.

Every figure is printed as one JSON line and appended to bench/results/latest.jsonl.
gunicorn, the Celery worker and beat are started and stopped as the tests start them
(tests.processes), with their output in bench/results/*.log.
"""

from __future__ import annotations

import cProfile
import io
import json
import os
import pstats
import re
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any

from tests.processes import BeatProcess, GunicornProcess, WorkerProcess, subprocess_env

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "latest.jsonl"
# BENCH_DATABASE names another database, for a run beside someone else's.
DATABASE = os.environ.get("BENCH_DATABASE", "portal_bench")
PSQL_URL = "postgres://postgres@127.0.0.1:5432"
DATABASE_URL = f"{PSQL_URL}/{DATABASE}"
LOAD_SECONDS = int(os.environ.get("BENCH_SECONDS", "20"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "8"))


def bench_env(**overrides: str) -> dict[str, str]:
    """The environment of every process a benchmark starts: the bench settings and database."""
    return subprocess_env(DJANGO_SETTINGS_MODULE="bench.settings", DATABASE_URL=DATABASE_URL, **overrides)


def emit(name: str, value: float, unit: str, n: int) -> None:
    line = json.dumps({"name": name, "value": round(value, 3), "unit": unit, "n": n})
    print(line, flush=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
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
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=bench_env(), check=True
    )
    psql("CREATE TABLE bench_floor (id bigserial PRIMARY KEY, body text NOT NULL)", DATABASE)


def probe(module: str, *args: str, **env: str) -> dict:
    """Run a probe module in a fresh process (`env`: variables to add to the bench's); its
    last line of output is its JSON figures."""
    output = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        env=bench_env(**env),
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def process_log(name: str) -> Path:
    """A fresh log file for one process a benchmark starts, beside the results (git-ignored)."""
    path = RESULTS.parent / f"{name}.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    return path


@contextmanager
def running(
    process: WorkerProcess, *extra: str, stop_timeout: float | None = None
) -> Iterator[WorkerProcess]:
    """Start one of the test suite's processes (tests.processes) and stop it afterwards."""
    try:
        yield process.start(*extra)
    finally:
        if stop_timeout is None:
            process.stop()
        else:
            process.stop(stop_timeout)


@contextmanager
def gunicorn(
    name: str,
    *,
    workers: int = 2,
    timeout: int = 30,
    env: dict[str, str] | None = None,
    access_log: Path | None = None,
    access_log_format: str | None = None,
) -> Iterator[GunicornProcess]:
    """gunicorn (sync workers) serving the portal on a free port, until the block ends; ready
    once the home page answers. Its error log (warnings) goes to bench/results/NAME.log."""
    server = GunicornProcess(
        env or bench_env(),
        process_log(name),
        workers=workers,
        timeout=timeout,
        access_log=access_log,
        ready_path="/",
    )
    options = ["--worker-class", "sync", "--log-level", "warning"]
    if access_log_format is not None:
        options += ["--access-logformat", access_log_format]
    with running(server, *options):
        yield server


@contextmanager
def celery(name: str, folder: Path, **env: str) -> Iterator[None]:
    """A Celery worker (one prefork child) and beat, as production runs them, until the block
    ends; their logs go to bench/results/NAME-worker.log and NAME-beat.log."""
    environment = bench_env(**env)
    worker = WorkerProcess(environment, process_log(f"{name}-worker"))
    beat = BeatProcess(environment, process_log(f"{name}-beat"))
    with (
        running(worker, "--pool=prefork", "--concurrency=1", stop_timeout=60),
        running(beat, "--schedule", str(folder / "beat-schedule"), stop_timeout=60),
    ):
        yield


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


def _children(parent: int) -> list[tuple[int, list[str]]]:
    """The processes whose parent is `parent`, each with its /proc stat fields."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = _stat(entry.name)[1]
            except OSError:
                continue
            if int(fields[1]) == parent:
                found.append((int(entry.name), fields))
    return found


def worker_pids(master: int) -> list[int]:
    return [pid for pid, _fields in _children(master)]


def _stat(pid: int | str) -> tuple[str, list[str]]:
    """A process's name and the fields of /proc/PID/stat after it."""
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.index("(") + 1 : text.rindex(")")], text.rsplit(")", 1)[1].split()


def children_cpu_seconds(parent: int) -> float:
    """The CPU time (user and system) the children of `parent` have used so far: those alive
    now, and those that ended (their parent waited for them), so a child replaced during a
    run still counts."""
    alive = sum(int(fields[11]) + int(fields[12]) for _pid, fields in _children(parent))
    fields = _stat(parent)[1]
    return (alive + int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")


def postmaster_pid() -> int | None:
    """PostgreSQL's first process on this machine (its backends are its children); None when
    PostgreSQL runs elsewhere."""
    names = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                name, fields = _stat(entry.name)
            except OSError:
                continue
            names[int(entry.name)] = (name, int(fields[1]))
    for pid, (name, parent) in names.items():
        if name.startswith("postgres") and not names.get(parent, ("",))[0].startswith("postgres"):
            return pid
    return None


def memory_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


class StatementCount:
    """An execute wrapper (`connection.execute_wrapper(counter)`) counting the statements a
    probe's work sends: `counter.statements` after it."""

    def __init__(self) -> None:
        self.statements = 0

    def __call__(self, execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        self.statements += 1
        return execute(sql, params, many, context)


def heaviest(profile: cProfile.Profile, runs: int, count: int) -> dict[str, list[list[Any]]]:
    """From a cProfile over `runs` runs, the `count` heaviest of the portal's own functions by
    cumulative time and of every function by its own time, in ms per run."""
    stats = pstats.Stats(profile, stream=io.StringIO())
    root = str(ROOT)
    own, mine = [], []
    for (path, line, function), (_calls, _primitive, tottime, cumtime, _callers) in stats.stats.items():
        where = f"{os.path.relpath(path, root) if path.startswith(root) else path}:{line}({function})"
        own.append((tottime, where))
        if path.startswith(root) and "/.venv/" not in path and "/bench/" not in path:
            mine.append((cumtime, where))
    per_run = 1000 / runs
    return {
        "portal_cumulative_ms": [[round(t * per_run, 2), w] for t, w in sorted(mine, reverse=True)[:count]],
        "own_time_ms": [[round(t * per_run, 2), w] for t, w in sorted(own, reverse=True)[:count]],
    }


def print_heaviest(profile: dict[str, list[list[Any]]], unit: str, count: int = 8) -> None:
    """`heaviest`'s two lists as text beside the figures (`unit`: what each ms is per)."""
    print(f"#   the portal's functions, cumulative ms per {unit}:", flush=True)
    for ms, where in profile["portal_cumulative_ms"][:count]:
        print(f"#     {ms:8.2f}  {where}", flush=True)
    print(f"#   every function, own ms per {unit}:", flush=True)
    for ms, where in profile["own_time_ms"][:count]:
        print(f"#     {ms:8.2f}  {where}", flush=True)
