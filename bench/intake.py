"""The intake benchmark: text-only complaints filed through gunicorn, beside the floor views."""

from __future__ import annotations

from bench.harness import (
    CONNECTIONS,
    DATABASE,
    children_cpu_seconds,
    csrf_session,
    emit,
    fresh_database,
    gunicorn,
    postmaster_pid,
    print_heaviest,
    probe,
    psql,
    run_wrk,
)
from bench.seed import intake_fields

PROBE_REPEAT = 300  # filings, and as many floor requests, timed in one process by the probe


def run() -> None:
    """Text-only intake through gunicorn (2 sync workers) beside the floor views.

    The floor is a bare Django view that inserts one row through the ORM and redirects
    (intake_floor_rps); the same with a raw INSERT is reported for reference. Where the time
    goes: the CPU the workers and PostgreSQL spent per request during each run, and, in one
    process (bench.intake_probe), a filing's CPU beside the floor's, its forms' alone, and a
    profile.
    """
    fresh_database()
    with gunicorn("intake-gunicorn") as server:
        base = server.url
        cookie, token = csrf_session(base)
        fields = intake_fields(token)
        master, database = server.process.pid, postmaster_pid()

        def cpu() -> tuple[float, float]:
            return children_cpu_seconds(master), children_cpu_seconds(database) if database else 0.0

        def timed(path: str, body: dict[str, str]) -> tuple[dict[str, float], float, float]:
            """wrk's figures, and the workers' and PostgreSQL's CPU ms per request."""
            before = cpu()
            result = run_wrk(base, path, body, cookie)
            after = cpu()
            per_request = 1000 / max(result["requests"], 1)
            return result, (after[0] - before[0]) * per_request, (after[1] - before[1]) * per_request

        bare = {"csrfmiddlewaretoken": token, "subject": "x"}
        floor, floor_cpu, floor_db_cpu = timed("/bench/floor/", bare)
        floor_raw = run_wrk(base, "/bench/floor-raw/", bare, cookie)
        intake, intake_cpu, intake_db_cpu = timed("/complaints/new/", fields)
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
    emit("intake_floor_worker_cpu_ms", floor_cpu, "ms", floor["requests"])
    emit("intake_worker_cpu_ms", intake_cpu, "ms", intake["requests"])
    if database:  # PostgreSQL on this machine
        emit("intake_floor_db_cpu_ms", floor_db_cpu, "ms", floor["requests"])
        emit("intake_db_cpu_ms", intake_db_cpu, "ms", intake["requests"])
    inside = probe("bench.intake_probe", str(PROBE_REPEAT))
    emit("intake_inprocess_cpu_ms", inside["filing_cpu_ms"], "ms", PROBE_REPEAT)
    emit("intake_floor_inprocess_cpu_ms", inside["floor_cpu_ms"], "ms", PROBE_REPEAT)
    emit("intake_forms_cpu_ms", inside["forms_cpu_ms"], "ms", PROBE_REPEAT)
    emit("intake_forms_share", inside["forms_cpu_ms"] / inside["filing_cpu_ms"], "share", PROBE_REPEAT)
    print("# intake, one filing in one process, CPU under cProfile (compare them with each other):")
    print_heaviest(inside["profile"], "filing", 10)
