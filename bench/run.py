"""`make bench`: measure the portal on PostgreSQL and print one JSON line per figure.

Every figure stands beside a baseline measured in the same run, so it reads as a ratio.
Results also go to bench/results/latest.jsonl. Benchmarks never gate CI.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid
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


def intake_fields(token: str) -> dict[str, str]:
    subcategory = psql("SELECT id FROM complaints_subcategory WHERE slug = 'cannot-log-in'", DATABASE)
    return {
        "csrfmiddlewaretoken": token,
        "subcategory": subcategory,
        "provider_name": "Ví điện tử MoMoney",
        "subject": "Không nhận được mã OTP khi đăng nhập",
        "description": "Từ hôm qua tôi không nhận được mã OTP khi đăng nhập vào ứng dụng. " * 5,
        "desired_outcome": "Khôi phục quyền truy cập tài khoản của tôi.",
        "occurred_at": "2026-01-10T09:30",
        "first_reported_at": "2026-01-11T08:00",
        "provider_username": "lan.nguyen",
        "provider_email": "",
        "provider_account_id": "ACC-123456",
        "steps_taken": "Đã gửi e-mail cho bộ phận hỗ trợ hai lần.",
        "contact_name": "Nguyễn Thị Lan",
        "contact_email": "lan@example.org",
        "contact_phone": "0901234567",
        "language": "vi",
        "submission_key": "KEYPLACEHOLDER",
        "contacts-TOTAL_FORMS": "1",
        "contacts-INITIAL_FORMS": "0",
        "contacts-MIN_NUM_FORMS": "0",
        "contacts-MAX_NUM_FORMS": "20",
        "contacts-0-channel": "chat",
        "contacts-0-contacted_at": "2026-01-11T08:00",
        "contacts-0-with_whom": "CSKH",
        "contacts-0-their_reference": "T-991",
        "contacts-0-summary": "Nhân viên hứa sẽ gọi lại.",
        "evidence-TOTAL_FORMS": "3",
        "evidence-INITIAL_FORMS": "0",
        "evidence-MIN_NUM_FORMS": "0",
        "evidence-MAX_NUM_FORMS": "20",
    }


def bench_intake() -> None:
    """Text-only intake through gunicorn (2 sync workers) beside the floor views.

    The floor is a bare Django view that inserts one row through the ORM and redirects
    (intake_floor_rps); the same with a raw INSERT is reported for reference.
    """
    fresh_database()
    with gunicorn(port=8765) as (base, _master):
        cookie, token = csrf_session(base)
        fields = intake_fields(token)
        floor = run_wrk(base, "/bench/floor/", {"csrfmiddlewaretoken": token, "subject": "x"}, cookie)
        floor_raw = run_wrk(base, "/bench/floor-raw/", {"csrfmiddlewaretoken": token, "subject": "x"}, cookie)
        intake = run_wrk(base, "/complaints/new/", fields, cookie)
    filed = int(psql("SELECT count(*) FROM complaints_complaint", DATABASE))
    # wrk counts completed responses; requests still in flight when it stops were filed too.
    if (
        intake["errors"]
        or floor["errors"]
        or not intake["requests"] <= filed <= intake["requests"] + CONNECTIONS
    ):
        raise SystemExit(f"intake benchmark saw errors: {intake=} {floor=} {filed=}")
    emit("intake_floor_rps", floor["rps"], "req/s", floor["requests"])
    emit("intake_floor_raw_sql_rps", floor_raw["rps"], "req/s", floor_raw["requests"])
    emit("intake_rps", intake["rps"], "req/s", intake["requests"])
    emit("intake_ratio_to_floor", intake["rps"] / floor["rps"], "ratio", intake["requests"])
    emit("intake_p95_ms", intake["p95_us"] / 1000, "ms", intake["requests"])


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


def make_video(path: Path, size: int) -> None:
    header = struct.pack(">I", 24) + b"ftypisom" + struct.pack(">I", 512) + b"isommp41"
    with path.open("wb") as handle:
        handle.write(header + struct.pack(">I", size - len(header)) + b"mdat")
        remaining = size - len(header) - 8
        block = os.urandom(1024 * 1024)
        while remaining > 0:
            handle.write(block[: min(remaining, len(block))])
            remaining -= len(block)


def multipart_upload(base: str, path: Path, fields: dict[str, str], cookie: str) -> int:
    """POST the intake form with one file, streaming it from disk (the client holds no copy)."""
    boundary = "----portalbench" + os.urandom(8).hex()
    head = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    )
    head += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="evidence-0-file"; filename="{path.name}"\r\n'
        "Content-Type: video/mp4\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    length = len(head) + path.stat().st_size + len(tail)

    def body():
        yield head
        with path.open("rb") as handle:
            while chunk := handle.read(1024 * 1024):
                yield chunk
        yield tail

    host = urllib.parse.urlsplit(base).netloc
    connection = http.client.HTTPConnection(host, timeout=600)
    connection.request(
        "POST",
        "/complaints/new/",
        body=body(),
        headers={
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Content-Length": str(length),
            "Cookie": f"csrftoken={cookie}",
        },
        encode_chunked=False,
    )
    status = connection.getresponse().status
    connection.close()
    return status


def bench_upload() -> None:
    """A 200 MB video through gunicorn: the worker's RSS growth and MB/s beside a plain copy."""
    fresh_database()
    size = 200 * 1000 * 1000
    # On the repository's disk (var/, git-ignored), which a fresh clone does not have yet.
    (ROOT / "var").mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="bench-upload-", dir=ROOT / "var"))
    files_dir = work / "files"
    os.environ["MEDIA_ROOT"] = ENV["MEDIA_ROOT"] = str(files_dir)
    ENV["FILE_UPLOAD_TEMP_DIR"] = str(work)
    try:
        video = work / "screen-recording.mp4"
        make_video(video, size)
        started = time.perf_counter()
        shutil.copyfile(video, work / "copy.mp4")
        with (work / "copy.mp4").open("rb+") as handle:
            os.fsync(handle.fileno())
        copy_seconds = time.perf_counter() - started
        (work / "copy.mp4").unlink()

        with gunicorn(port=8766, workers=1, timeout=600) as (base, master):
            cookie, token = csrf_session(base)
            fields = {k: v for k, v in intake_fields(token).items() if not k.startswith("contacts-0-")}
            fields["contacts-TOTAL_FORMS"] = "0"
            fields["submission_key"] = str(uuid.uuid4())
            (worker,) = worker_pids(master)
            before = memory_kb(worker, "VmRSS")
            started = time.perf_counter()
            status = multipart_upload(base, video, fields, cookie)
            upload_seconds = time.perf_counter() - started
            peak = memory_kb(worker, "VmHWM")
        stored = int(psql(f"SELECT count(*) FROM evidence_evidence WHERE size = {size}", DATABASE))
        if status != 302 or stored != 1:
            raise SystemExit(f"upload benchmark failed: HTTP {status}, {stored} evidence row(s)")
        emit("upload_rss_growth_mb", (peak - before) / 1024, "MB", 1)
        emit("upload_mb_s", size / 1e6 / upload_seconds, "MB/s", 1)
        emit("copy_mb_s", size / 1e6 / copy_seconds, "MB/s", 1)
        emit("upload_ratio_to_copy", copy_seconds / upload_seconds, "ratio", 1)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        ENV.pop("MEDIA_ROOT", None)
        ENV.pop("FILE_UPLOAD_TEMP_DIR", None)


COMPLAINT_COLUMNS = """reference, category_id, subcategory_id, subject, description, desired_outcome,
    occurred_at, contact_name, contact_email, contact_phone, language, provider_name, provider_username,
    provider_email, provider_account_id, steps_taken, complexity, status, submitted_at, status_changed_at,
    resolution_summary, rating_comment, version, clock_started_at, first_response_due_at,
    resolution_due_at, escalation_level, next_check_at, search_text"""


def seed_complaints(total: int, open_every: int) -> None:
    """`total` complaints in one statement; every `open_every`-th is open with a check in 10 days."""
    category, subcategory = psql(
        "SELECT category_id, id FROM complaints_subcategory WHERE slug = 'cannot-log-in'", DATABASE
    ).split("|")
    psql(
        f"""INSERT INTO complaints_complaint ({COMPLAINT_COLUMNS})
        SELECT 'KN-' || lpad(to_hex(g), 8, '0'), {category}, {subcategory}, 'Subject ' || g,
               'Description of complaint ' || g, 'Outcome', now() - interval '2 days', 'Name',
               'c' || g || '@example.org', '', 'vi', 'Shop', '', '', '', '', 'simple',
               CASE WHEN g % {open_every} = 0 THEN 'open' ELSE 'closed' END,
               now() - interval '1 day', now() - interval '1 day', '', '', 1, now() - interval '1 day',
               now() + interval '10 days', now() + interval '12 days', 0,
               CASE WHEN g % {open_every} = 0 THEN now() + interval '10 days' END,
               'kn-' || lpad(to_hex(g), 8, '0') || E'\\nsubject ' || g || E'\\nc' || g || '@example.org'
        FROM generate_series(1, {total}) AS g""",
        DATABASE,
    )
    psql("VACUUM ANALYZE complaints_complaint", DATABASE)


def make_due(count: int) -> None:
    """`count` open complaints whose first response was due an hour ago (already warned)."""
    psql(
        f"""UPDATE complaints_complaint SET first_response_due_at = now() - interval '1 hour',
               first_response_warned_at = now() - interval '2 hours',
               next_check_at = now() - interval '1 hour'
        WHERE id IN (SELECT id FROM complaints_complaint WHERE status = 'open' ORDER BY id LIMIT {count})""",
        DATABASE,
    )
    psql("VACUUM ANALYZE complaints_complaint", DATABASE)


def probe(*args: str, module: str = "bench.sweep_probe") -> dict:
    """Run a probe module in a fresh process; its last line of output is its JSON figures."""
    output = subprocess.run(
        [sys.executable, "-m", module, *args], cwd=ROOT, env=ENV, check=True, capture_output=True, text=True
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def sweep_floor() -> float:
    """The same flagging as one hand-written UPDATE: the median of three runs, each rolled
    back and vacuumed away (a single run varied by a third from one to the next)."""
    import psycopg

    timings = []
    for _ in range(3):
        with psycopg.connect(f"{PSQL_URL}/{DATABASE}") as conn:
            started = time.perf_counter()
            conn.execute(
                """UPDATE complaints_complaint SET first_response_breached_at = now(),
                       escalation_level = escalation_level + 1, level_since = now(), next_check_at = NULL
                WHERE next_check_at <= now()"""
            )
            timings.append(time.perf_counter() - started)
            conn.rollback()
        psql("VACUUM ANALYZE complaints_complaint", DATABASE)
    return statistics.median(timings)


def bench_sweep() -> None:
    """The SLA sweep at a million complaints: nothing due, then 10,000 and 100,000 due."""
    fresh_database()
    seed_complaints(1_000_000, open_every=5)  # 20 % open, nothing due
    noop = probe("--repeat", "50")
    emit("sweep_noop_ms", noop["seconds_median"] * 1000, "ms", 1_000_000)
    emit("sweep_noop_statements", noop["result"]["statements"], "statements", 1_000_000)

    psql(
        "UPDATE complaints_complaint SET status = 'open', next_check_at = now() + interval '10 days'",
        DATABASE,
    )
    psql("VACUUM ANALYZE complaints_complaint", DATABASE)
    for due_count in (10_000, 100_000):
        make_due(due_count)
        floor_seconds = sweep_floor()
        run = probe()
        if run["result"]["escalated"] != due_count:
            raise SystemExit(f"sweep escalated {run['result']['escalated']} of {due_count}")
        suffix = "" if due_count == 10_000 else "_100k"
        emit(f"sweep_due_s{suffix}", run["seconds_median"], "s", due_count)
        emit(f"sweep_floor_s{suffix}", floor_seconds, "s", due_count)
        emit(f"sweep_ratio_to_floor{suffix}", run["seconds_median"] / floor_seconds, "ratio", due_count)
        emit(f"sweep_statements{suffix}", run["result"]["statements"], "statements", due_count)
        emit(f"sweep_batches{suffix}", run["result"]["batches"], "batches", due_count)
        emit(f"sweep_peak_rss_mb{suffix}", run["peak_rss_mb"], "MB", due_count)
        # Reset the escalated ones for the next, larger round.
        psql(
            "UPDATE complaints_complaint SET escalation_level = 0, first_response_breached_at = NULL, "
            "level_since = NULL, next_check_at = now() + interval '10 days' WHERE escalation_level > 0",
            DATABASE,
        )
        psql("TRUNCATE escalation_escalation, complaints_complaintevent, complaints_notification", DATABASE)


def page_probe(*args: str) -> dict:
    return probe(*args, module="bench.page_probe")


def seed_staff_world() -> None:
    """A million complaints, 200,000 of them open: half unassigned, the rest spread over 40
    agents, deadlines spread over two weeks, one open case in ten escalated to the managers
    after a missed deadline; submissions over the last three years."""
    fresh_database()
    seed_complaints(1_000_000, open_every=5)
    staff = page_probe("setup")
    agents = "ARRAY[" + ",".join(str(pk) for pk in staff["agents"]) + "]"
    psql(
        f"""UPDATE complaints_complaint SET
               submitted_at = now() - (id % 1095) * interval '1 day' - (id % 1440) * interval '1 minute',
               first_response_due_at = now() + (id % 20000 - 2000) * interval '1 minute',
               resolution_due_at = now() + (id % 20000 + 5000) * interval '1 minute',
               first_responded_at = CASE WHEN id % 3 = 0 THEN now() - interval '1 hour' END,
               first_response_breached_at = CASE WHEN id % 7 = 0 OR id % 50 = 0
                   THEN now() - (id % 1000) * interval '1 minute' END,
               resolved_at = CASE WHEN status = 'closed' THEN now() - (id % 300) * interval '1 day' END,
               assignee_id = CASE WHEN status = 'open' AND id % 2 = 1 THEN ({agents})[id / 5 % 40 + 1] END,
               escalation_level = CASE WHEN status = 'open' AND id % 50 = 0 THEN 2 ELSE 0 END""",
        DATABASE,
    )
    psql("VACUUM ANALYZE complaints_complaint", DATABASE)


def bench_pages() -> None:
    """The staff pages at a million complaints (seed_staff_world)."""
    seed_staff_world()
    figures = page_probe("measure", os.environ.get("BENCH_PAGE_REPEAT", "100"))
    floor = figures.pop("page_floor")
    emit("page_floor_p95_ms", floor["p95_ms"], "ms", 1_000_000)
    for name, figure in figures.items():
        if figure["reads_whole_table"]:
            raise SystemExit(f"{name} reads the whole complaints table")
        emit(f"{name}_p50_ms", figure["p50_ms"], "ms", 1_000_000)
        emit(f"{name}_p95_ms", figure["p95_ms"], "ms", 1_000_000)
        emit(f"{name}_ratio_to_floor", figure["p95_ms"] / floor["p95_ms"], "ratio", 1_000_000)
        emit(f"{name}_queries", figure["queries"], "queries", 1_000_000)


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
    ("follow_case", re.compile(r"^GET /complaints/KN-[^/]+/$")),
    ("queue", re.compile(r"^GET /staff/queue/")),
    ("reply", re.compile(r"^POST /staff/cases/[^/]+/reply/$")),
    ("floor", re.compile(r"^GET /bench/floor-page/$")),
]


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


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * len(ordered)))] if ordered else 0.0


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


def make_due_during(seconds: int, count: int) -> str:
    """`count` open cases at the team lead's level whose first response falls due, one after
    another, over the next `seconds`: each breach sends one to the managers' queue. Returns
    the moment they were set, as ISO 8601 (the database's clock)."""
    since = psql("SELECT now()", DATABASE)
    step = f"interval '{seconds / count} seconds'"
    psql(
        f"""WITH due AS (
               SELECT id, row_number() OVER (ORDER BY id) AS n FROM complaints_complaint
               WHERE status = 'open' AND assignee_id IS NOT NULL AND escalation_level = 0
                     AND complainant_id IS NULL ORDER BY id LIMIT {count})
           UPDATE complaints_complaint c SET escalation_level = 1, level_since = now(),
               first_responded_at = NULL, first_response_breached_at = NULL,
               first_response_warned_at = now(),
               first_response_due_at = now() + interval '5 seconds' + due.n * {step},
               next_check_at = now() + interval '5 seconds' + due.n * {step}
           FROM due WHERE c.id = due.id""",
        DATABASE,
    )
    return since


TRIAL_P95_US = 240_000  # the target (300 ms) less a fifth


def bench_load() -> None:
    """A mixed workload on gunicorn at a million complaints (seed_staff_world) for
    BENCH_LOAD_SECONDS (300): complainants file and follow their cases, agents page the
    queues, open cases and reply, while beat sweeps every minute. The rate is the highest of
    a few concurrency levels whose 20-second trial keeps p95 within 240 ms (the 300 ms target
    less a fifth) without an error."""
    seed_staff_world()
    folder = Path(tempfile.mkdtemp(prefix="portal-load-"))
    subprocess.run(
        [sys.executable, "-m", "bench.load_probe", "prepare", str(folder)], cwd=ROOT, env=ENV, check=True
    )
    psql("VACUUM ANALYZE", DATABASE)
    access_log = folder / "access.log"
    seconds = int(os.environ.get("BENCH_LOAD_SECONDS", "300"))
    log_args = ("--access-logfile", str(access_log), "--access-logformat", "%(m)s %(U)s %(s)s %(D)s")
    with celery_processes(folder), gunicorn(8766, 4, 30, *log_args) as (base, _master):
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
        run = run_plan(base, folder, "plan-{id}.txt", connections=chosen, seconds=seconds, offset=offset)
        time.sleep(5)  # the last sweep's writes
    if run["errors"]:
        raise SystemExit(f"the load run saw errors: {run}")
    detection = probe("detection", since, module="bench.load_probe")
    emit("load_connections", chosen, "connections", run["requests"])
    emit("load_floor_rps", floor["rps"], "req/s", floor["requests"])
    emit("load_rps", run["rps"], "req/s", run["requests"])
    emit("load_ratio_to_floor", run["rps"] / floor["rps"], "ratio", run["requests"])
    emit("load_p50_ms", run["p50_us"] / 1000, "ms", run["requests"])
    emit("load_p95_ms", run["p95_us"] / 1000, "ms", run["requests"])
    emit("load_p99_ms", run["p99_us"] / 1000, "ms", run["requests"])
    emit("load_errors", run["errors"], "errors", run["requests"])
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


BENCHMARKS = {
    "intake": bench_intake,
    "upload": bench_upload,
    "sweep": bench_sweep,
    "pages": bench_pages,
    "load": bench_load,
}


def main(argv: list[str]) -> int:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("")
    for name in argv or list(BENCHMARKS):
        BENCHMARKS[name]()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
