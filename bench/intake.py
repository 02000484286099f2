"""The intake benchmark: text-only complaints filed through gunicorn, beside the floor views."""

from __future__ import annotations

from bench.harness import CONNECTIONS, DATABASE, csrf_session, emit, fresh_database, gunicorn, psql, run_wrk
from bench.seed import intake_fields


def run() -> None:
    """Text-only intake through gunicorn (2 sync workers) beside the floor views.

    The floor is a bare Django view that inserts one row through the ORM and redirects
    (intake_floor_rps); the same with a raw INSERT is reported for reference.
    """
    fresh_database()
    with gunicorn("intake-gunicorn") as server:
        base = server.url
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
