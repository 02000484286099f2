"""The outbox benchmark: a backlog of notices drained into an SMTP server, beside a bare loop
sending the same messages over one connection."""

from __future__ import annotations

from bench.harness import emit, fresh_database, probe
from bench.seed import seed_complaints
from tests.processes import SmtpSink

NOTICES = 5_000


def run() -> None:
    """5,000 pending notices (an escalation wave: a case update to each of 2,500 guests, an
    alert to the team lead for each case) drained by one delivery run into an SMTP server
    in this process, beside `outbox_floor_msgs_s`: the same messages, rendered beforehand,
    sent by a bare loop over one connection to the same server. The floor is measured
    before and after the drain and averaged, so that a slow spell of the machine during
    one of the three steps does not decide the ratio alone."""
    fresh_database()
    seed_complaints(NOTICES // 2, open_every=1)
    with SmtpSink(keep=False) as sink:
        mail = {"EMAIL_BACKEND": "smtp", "EMAIL_HOST": sink.host, "EMAIL_PORT": str(sink.port)}
        mail["EMAIL_USE_TLS"] = "false"
        if probe("bench.outbox_probe", "setup", str(NOTICES))["pending"] != NOTICES:
            raise SystemExit("the outbox benchmark's setup did not queue every notice")
        before = probe("bench.outbox_probe", "floor", **mail)
        drain = probe("bench.outbox_probe", "drain", **mail)
        after = probe("bench.outbox_probe", "floor", **mail)
        received = sink.received
    floors = (before, after)
    if any(f["sent"] != NOTICES for f in floors) or drain["sent"] != NOTICES or received != 3 * NOTICES:
        raise SystemExit(f"outbox benchmark lost messages: {floors=} {drain=} {received=}")
    floor_rate = NOTICES / ((before["seconds"] + after["seconds"]) / 2)
    drain_rate = NOTICES / drain["seconds"]
    emit("outbox_floor_msgs_s", floor_rate, "msg/s", NOTICES)
    emit("outbox_drain_msgs_s", drain_rate, "msg/s", NOTICES)
    emit("outbox_ratio_to_floor", drain_rate / floor_rate, "ratio", NOTICES)
    emit("outbox_drain_s", drain["seconds"], "s", NOTICES)
