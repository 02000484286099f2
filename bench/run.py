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
def gunicorn(port: int, workers: int = 2, timeout: int = 30):
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


def probe(*args: str) -> dict:
    output = subprocess.run(
        [sys.executable, "-m", "bench.sweep_probe", *args],
        cwd=ROOT,
        env=ENV,
        check=True,
        capture_output=True,
        text=True,
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
    output = subprocess.run(
        [sys.executable, "-m", "bench.page_probe", *args],
        cwd=ROOT,
        env=ENV,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def bench_pages() -> None:
    """The staff pages at a million complaints, 200,000 of them open: half unassigned, the
    rest spread over 40 agents, deadlines spread over two weeks, one open case in ten
    escalated to the managers after a missed deadline; submissions over the last three years."""
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


BENCHMARKS = {"intake": bench_intake, "upload": bench_upload, "sweep": bench_sweep, "pages": bench_pages}


def main(argv: list[str]) -> int:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("")
    for name in argv or list(BENCHMARKS):
        BENCHMARKS[name]()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
