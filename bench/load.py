"""The mixed-load benchmark: wrk replaying complainants' and agents' requests on gunicorn at
a million complaints while a Celery worker and beat sweep every minute."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.harness import DATABASE, ROOT, bench_env, celery, emit, gunicorn, percentile, probe, psql
from bench.seed import make_due_during, seed_staff_world

LOAD_SCRIPT = r"""
local thread_count = 0
function setup(thread)
  thread:set("id", thread_count)
  thread_count = thread_count + 1
end

function init(args)
  local folder, plan_name, offset = args[1], args[2], tonumber(args[3])
  local function lines(name)
    local t = {}
    for line in io.lines(folder .. "/" .. name) do t[#t + 1] = line end
    return t
  end
  cookies, bodies, steps = lines("cookies.txt"), lines("bodies.txt"), {}
  for _, line in ipairs(lines((plan_name:gsub("{id}", tostring(id))))) do
    local m, p, c, b = line:match("^(%S+)\t(%S+)\t(%d+)\t(%d+)$")
    steps[#steps + 1] = {m, p, tonumber(c) + 1, tonumber(b) + 1}
  end
  n = offset
  math.randomseed(os.time() + id * 7919)
end

request = function()
  n = n + 1
  local step = steps[(n - 1) % #steps + 1]
  local headers = {["Referer"] = "__BASE__/"}
  if cookies[step[3]] ~= "" then headers["Cookie"] = cookies[step[3]] end
  local body = bodies[step[4]]
  if body == "" then
    body = nil
  else
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    local key = string.format("%08x-%04x-4%03x-a%03x-%06x%06x", math.random(0, 0x7fffffff),
      math.random(0, 0xffff), math.random(0, 0xfff), math.random(0, 0xfff), math.random(0, 0xffffff), n)
    body = body:gsub("__KEY__", key)
  end
  return wrk.format(step[1], step[2], headers, body)
end

done = function(summary, latency, requests)
  io.write(string.format('\nRESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p95_us": %d, ' ..
    '"p99_us": %d, "status_errors": %d, "socket_errors": %d}\n', summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
"""
# The pages of the mix, named by what a person does, for the per-page figures.
LOAD_PAGES = [
    ("file", re.compile(r"^POST /complaints/new/$")),
    ("follow_case", re.compile(r"^GET /(complaints|staff/cases)/KN-[^/]+/$")),  # complainants and agents
    ("queue", re.compile(r"^GET /staff/queue/")),
    ("reply", re.compile(r"^POST /staff/cases/[^/]+/reply/$")),
    ("floor", re.compile(r"^GET /bench/floor-page/$")),
]
TRIAL_P95_US = 240_000  # the target (300 ms) less a fifth


def run_plan(base: str, folder: Path, plan: str, *, connections: int, seconds: int, offset: int = 0) -> dict:
    """wrk (two threads, closed loop) replaying the prepared plan from step `offset` on."""
    script = folder / "load.lua"
    script.write_text(LOAD_SCRIPT.replace("__BASE__", base))
    output = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            base,
            "--",
            str(folder),
            plan,
            str(offset),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result = json.loads(output.split("RESULT ", 1)[1])
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    result["errors"] = result["status_errors"] + result["socket_errors"]
    return result


def page_times(access_log: Path, start: int) -> dict[str, list[float]]:
    """Server time (ms) per page of the mix from gunicorn's access log, after byte `start`."""
    times: dict[str, list[float]] = {name: [] for name, _pattern in LOAD_PAGES}
    with access_log.open() as handle:
        handle.seek(start)
        for line in handle:
            method, path, _status, micros = line.split()
            for name, pattern in LOAD_PAGES:
                if pattern.match(f"{method} {path}"):
                    times[name].append(int(micros) / 1000)
                    break
    return times


def run() -> None:
    """A mixed workload on gunicorn at a million complaints (seed_staff_world) for
    BENCH_LOAD_SECONDS (300): complainants file and follow their cases, agents page the
    queues, open cases and reply, while beat sweeps every minute. The rate is the highest of
    a few concurrency levels whose 20-second trial keeps p95 within 240 ms (the 300 ms target
    less a fifth) without an error."""
    seed_staff_world()
    folder = Path(tempfile.mkdtemp(prefix="portal-load-"))
    subprocess.run(
        [sys.executable, "-m", "bench.load_probe", "prepare", str(folder)],
        cwd=ROOT,
        env=bench_env(),
        check=True,
    )
    psql("VACUUM ANALYZE", DATABASE)
    access_log = folder / "access.log"
    seconds = int(os.environ.get("BENCH_LOAD_SECONDS", "300"))
    with (
        celery("load", folder, SLA_SWEEP_INTERVAL="60"),
        gunicorn(
            "load-gunicorn", workers=4, access_log=access_log, access_log_format="%(m)s %(U)s %(s)s %(D)s"
        ) as server,
    ):
        base = server.url
        floor = run_plan(base, folder, "floor.txt", connections=8, seconds=15)
        offset, chosen = 0, None
        for connections in (4, 8, 16, 24, 32):
            trial = run_plan(
                base, folder, "plan-{id}.txt", connections=connections, seconds=20, offset=offset
            )
            offset += trial["requests"]
            emit(f"load_trial_c{connections}_rps", trial["rps"], "req/s", trial["requests"])
            emit(f"load_trial_c{connections}_p95_ms", trial["p95_us"] / 1000, "ms", trial["requests"])
            # A 20-second trial is noisier than the run: it must keep a fifth in hand.
            if trial["errors"] or trial["p95_us"] > TRIAL_P95_US:
                break
            chosen = connections
        if chosen is None:
            raise SystemExit("no concurrency kept p95 within 300 ms without errors")
        since = make_due_during(max(seconds - 80, 30), 2000)
        start = access_log.stat().st_size
        measured = run_plan(base, folder, "plan-{id}.txt", connections=chosen, seconds=seconds, offset=offset)
        time.sleep(5)  # the last sweep's writes
    if measured["errors"]:
        raise SystemExit(f"the load run saw errors: {measured}")
    detection = probe("bench.load_probe", "detection", since)
    emit("load_connections", chosen, "connections", measured["requests"])
    emit("load_floor_rps", floor["rps"], "req/s", floor["requests"])
    emit("load_rps", measured["rps"], "req/s", measured["requests"])
    emit("load_ratio_to_floor", measured["rps"] / floor["rps"], "ratio", measured["requests"])
    emit("load_p50_ms", measured["p50_us"] / 1000, "ms", measured["requests"])
    emit("load_p95_ms", measured["p95_us"] / 1000, "ms", measured["requests"])
    emit("load_p99_ms", measured["p99_us"] / 1000, "ms", measured["requests"])
    emit("load_errors", measured["errors"], "errors", measured["requests"])
    for name, values in page_times(access_log, start).items():
        if name == "floor" or not values:
            continue
        for share, label in ((0.5, "p50"), (0.95, "p95"), (0.99, "p99")):
            emit(f"load_{name}_server_{label}_ms", percentile(values, share), "ms", len(values))
    emit("detection_count", detection["count"], "cases", detection["count"])
    if detection["count"]:
        emit("detection_p50_s", detection["p50_s"], "s", detection["count"])
        emit("detection_p99_s", detection["p99_s"], "s", detection["count"])
        emit("detection_max_s", detection["max_s"], "s", detection["count"])
    shutil.rmtree(folder, ignore_errors=True)
