"""The inbound benchmark: replies by e-mail taken from a real IMAP server (Dovecot) by the
beat task's door and pipeline, beside the same messages fetched with imapclient alone; and
the time from delivery to the mailbox to the entry on the case's timeline, with a worker
and beat polling at the default interval."""

from __future__ import annotations

import shutil
import statistics
import tempfile
from pathlib import Path

from bench.harness import celery, emit, fresh_database, percentile, probe
from bench.seed import seed_complaints
from tests.processes import ImapServer

MESSAGES = 200  # the throughput run's replies, one to each of the first 200 complaints
LATENCY = 40  # the latency run's, one to each of the next 40


def run() -> None:
    """`inbound_msgs_s`: one run of the inbound poll (complaints.tasks.poll_inbound_mail's
    body: the IMAP door drained, each message through receive_raw) over 200 replies waiting
    in the INBOX, each a complainant's answer to their own case's reply address with the
    notice quoted (Vietnamese) and two attachments (a PNG screenshot, a PDF receipt); every
    one must land. `inbound_floor_msgs_s`: the same 200 messages fetched and moved to another
    folder with imapclient alone, in the door's batches, before and after the door's run
    (the mean of the two). `inbound_stdlib_read_msgs_s`: the same 200 read by the
    standard library alone (parsed, every part decoded and hashed). `inbound_latency_p95_s`
    (and p50): 40 more replies delivered one
    by one over about a minute to a mailbox a Celery worker and beat poll at the default
    interval, each timed from its APPEND to its entry on the timeline."""
    fresh_database()
    seed_complaints(MESSAGES + LATENCY, open_every=1)
    folder = Path(tempfile.mkdtemp(prefix="portal-inbound-"))
    try:
        with ImapServer() as server:
            env = {
                "INBOUND_IMAP_HOST": server.host,
                "INBOUND_IMAP_PORT": str(server.port),
                "INBOUND_IMAP_USER": server.user,
                "INBOUND_IMAP_PASSWORD": server.password,
                "INBOUND_IMAP_SSL": "false",
                "MEDIA_ROOT": str(folder / "files"),
            }
            written = probe(
                "bench.inbound_probe", "messages", str(folder), str(MESSAGES), str(LATENCY), **env
            )
            if written["written"] != MESSAGES + LATENCY:
                raise SystemExit(f"the inbound benchmark could not write its messages: {written}")
            with server.connect() as client:
                for file in sorted((folder / "run").glob("*.eml")):
                    client.append("INBOX", file.read_bytes())
            throughput(env)
            read = probe("bench.inbound_probe", "reading", str(folder), **env)
            with celery("inbound", folder, **env):
                timed = probe("bench.inbound_probe", "latency", str(folder), **env)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if read["read"] != MESSAGES:
        raise SystemExit(f"inbound benchmark: the standard library read {read['read']} messages")
    emit("inbound_stdlib_read_msgs_s", MESSAGES / read["seconds"], "msg/s", MESSAGES)
    if timed["seen"] != LATENCY or timed["delivered"] != LATENCY:
        raise SystemExit(f"inbound latency: not every reply reached its timeline: {timed}")
    emit("inbound_latency_p50_s", statistics.median(timed["seconds"]), "s", LATENCY)
    emit("inbound_latency_p95_s", percentile(timed["seconds"], 0.95), "s", LATENCY)
    emit("inbound_latency_max_s", max(timed["seconds"]), "s", LATENCY)


def throughput(env: dict[str, str]) -> None:
    """The floor (INBOX to Floor), the messages put back one by one (the per-message floor),
    the door's run (INBOX to Processed, through the pipeline), the floor again (Processed to
    Floor)."""
    before = probe("bench.inbound_probe", "floor", "INBOX", "Floor", **env)
    each = probe("bench.inbound_probe", "floor", "Floor", "INBOX", "each", **env)
    door = probe("bench.inbound_probe", "door", str(MESSAGES), **env)
    after = probe("bench.inbound_probe", "floor", "Processed", "Floor", **env)
    floors = (before, after)
    landed = (door["taken"], door["landed"], door["reply_events"], door["with_both_files"])
    if any(f["fetched"] != MESSAGES for f in (*floors, each)) or landed != (MESSAGES,) * 4 or door["failed"]:
        raise SystemExit(f"inbound benchmark: not every message landed: {floors=} {door=}")
    floor_rate = MESSAGES / ((before["seconds"] + after["seconds"]) / 2)
    door_rate = MESSAGES / door["seconds"]
    emit("inbound_floor_msgs_s", floor_rate, "msg/s", MESSAGES)
    emit("inbound_floor_each_msgs_s", MESSAGES / each["seconds"], "msg/s", MESSAGES)
    emit("inbound_msgs_s", door_rate, "msg/s", MESSAGES)
    emit("inbound_ratio_to_floor", door_rate / floor_rate, "ratio", MESSAGES)
    emit("inbound_s", door["seconds"], "s", MESSAGES)
