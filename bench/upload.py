"""The upload benchmark: one 200 MB video through gunicorn, beside a plain file copy."""

from __future__ import annotations

import http.client
import os
import shutil
import struct
import tempfile
import time
import urllib.parse
import uuid
from pathlib import Path

from bench.harness import (
    DATABASE,
    ROOT,
    bench_env,
    csrf_session,
    emit,
    fresh_database,
    gunicorn,
    memory_kb,
    psql,
    worker_pids,
)
from bench.seed import intake_fields


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


def run() -> None:
    """A 200 MB video through gunicorn: the worker's RSS growth and MB/s beside a plain copy."""
    fresh_database()
    size = 200 * 1000 * 1000
    # On the repository's disk (var/, git-ignored), which a fresh clone does not have yet.
    (ROOT / "var").mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="bench-upload-", dir=ROOT / "var"))
    env = bench_env(MEDIA_ROOT=str(work / "files"), FILE_UPLOAD_TEMP_DIR=str(work))
    try:
        video = work / "screen-recording.mp4"
        make_video(video, size)
        started = time.perf_counter()
        shutil.copyfile(video, work / "copy.mp4")
        with (work / "copy.mp4").open("rb+") as handle:
            os.fsync(handle.fileno())
        copy_seconds = time.perf_counter() - started
        (work / "copy.mp4").unlink()

        with gunicorn("upload-gunicorn", workers=1, timeout=600, env=env) as server:
            base = server.url
            cookie, token = csrf_session(base)
            fields = {k: v for k, v in intake_fields(token).items() if not k.startswith("contacts-0-")}
            fields["contacts-TOTAL_FORMS"] = "0"
            fields["submission_key"] = str(uuid.uuid4())
            (worker,) = worker_pids(server.process.pid)
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
