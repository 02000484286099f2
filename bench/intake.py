"""The intake benchmark: text-only complaints filed through gunicorn, beside the floor views,
without open incidents and with 20 of them shown on the form."""

from __future__ import annotations

import os
import statistics

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
# The open incidents of the filed category and provider on the form, and how many times the
# intake runs without them and then with them, in turn (each run BENCH_SECONDS).
INCIDENTS = 20
PAIRS = int(os.environ.get("BENCH_INTAKE_PAIRS", "3"))


def run() -> None:
    """Text-only intake through gunicorn (2 sync workers) beside the floor views, without open
    incidents and with INCIDENTS of them shown on the form, alternated PAIRS times.

    The floor is a bare Django view that inserts one row through the ORM and redirects
    (intake_floor_rps); the same with a raw INSERT is reported for reference. Where the time
    goes: the CPU the workers and PostgreSQL spent per request during each run, and, in one
    process (bench.intake_probe), a filing's CPU beside the floor's, its forms' alone, and a
    profile.

    The incidents are of the filed category and provider, declared and resolved through the
    portal's services by another process (bench.incident_probe), so every worker's copy of the
    open incidents is read again, as after a team lead declares one: each filing's form then
    holds their 20 boxes. The filings are the same in both runs of a pair (none ticks a box).
    """
    fresh_database()
    with gunicorn("intake-gunicorn") as server:
        base = server.url
        cookie, token = csrf_session(base)
        fields = intake_fields(token)
        provider = fields["provider_name"]
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
        plain, incidents = [], []
        for _ in range(PAIRS):
            plain.append(timed("/complaints/new/", fields))
            shown = probe("bench.incident_probe", "declare", str(INCIDENTS), provider)["shown"]
            if shown != INCIDENTS:
                raise SystemExit(f"the filing form shows {shown} of the {INCIDENTS} incidents declared")
            incidents.append(timed("/complaints/new/", fields))
            if probe("bench.incident_probe", "resolve", provider)["shown"]:
                raise SystemExit("the filing form still shows incidents after they were resolved")
    filed = int(psql("SELECT count(*) FROM complaints_complaint", DATABASE))
    runs = [run for run, _cpu, _db_cpu in plain + incidents]
    requests = sum(run["requests"] for run in runs)
    # wrk counts completed responses; requests still in flight when it stops were filed too.
    if (
        any(run["errors"] for run in runs)
        or floor["errors"]
        or not requests <= filed <= requests + CONNECTIONS * len(runs)
    ):
        raise SystemExit(f"intake benchmark saw errors: {runs=} {floor=} {filed=}")
    intake, intake_cpu, intake_db_cpu = median_run(plain)
    with_incidents, incidents_cpu, incidents_db_cpu = median_run(incidents)
    ratios = [b[0]["rps"] / a[0]["rps"] for a, b in zip(plain, incidents, strict=True)]
    emit("intake_floor_rps", floor["rps"], "req/s", floor["requests"])
    emit("intake_floor_raw_sql_rps", floor_raw["rps"], "req/s", floor_raw["requests"])
    emit("intake_rps", intake["rps"], "req/s", intake["requests"])
    emit("intake_ratio_to_floor", intake["rps"] / floor["rps"], "ratio", intake["requests"])
    emit("intake_p95_ms", intake["p95_us"] / 1000, "ms", intake["requests"])
    emit("intake_rps_incidents", with_incidents["rps"], "req/s", with_incidents["requests"])
    emit("intake_incidents_p95_ms", with_incidents["p95_us"] / 1000, "ms", with_incidents["requests"])
    emit("intake_incidents_ratio", statistics.median(ratios), "ratio", with_incidents["requests"])
    each = ", ".join(f"{ratio:.3f}" for ratio in ratios)
    print(f"# intake with {INCIDENTS} open incidents / without, each pair: {each}")
    emit("intake_floor_worker_cpu_ms", floor_cpu, "ms", floor["requests"])
    emit("intake_worker_cpu_ms", intake_cpu, "ms", intake["requests"])
    emit("intake_incidents_worker_cpu_ms", incidents_cpu, "ms", with_incidents["requests"])
    if database:  # PostgreSQL on this machine
        emit("intake_floor_db_cpu_ms", floor_db_cpu, "ms", floor["requests"])
        emit("intake_db_cpu_ms", intake_db_cpu, "ms", intake["requests"])
        emit("intake_incidents_db_cpu_ms", incidents_db_cpu, "ms", with_incidents["requests"])
    inside = probe("bench.intake_probe", str(PROBE_REPEAT))
    emit("intake_inprocess_cpu_ms", inside["filing_cpu_ms"], "ms", PROBE_REPEAT)
    emit("intake_floor_inprocess_cpu_ms", inside["floor_cpu_ms"], "ms", PROBE_REPEAT)
    emit("intake_forms_cpu_ms", inside["forms_cpu_ms"], "ms", PROBE_REPEAT)
    emit("intake_forms_share", inside["forms_cpu_ms"] / inside["filing_cpu_ms"], "share", PROBE_REPEAT)
    # The same in one process with the incidents open: each filing's CPU against the floor's,
    # measured alternately in the same process, so the machine's load cancels out of the ratio
    # (of rates, as intake_incidents_ratio: below 1 when the incidents slow a filing).
    if probe("bench.incident_probe", "declare", str(INCIDENTS), provider)["shown"] != INCIDENTS:
        raise SystemExit(f"the filing form does not show the {INCIDENTS} incidents declared")
    shown = probe("bench.intake_probe", str(PROBE_REPEAT))
    probe("bench.incident_probe", "resolve", provider)
    emit("intake_incidents_inprocess_cpu_ms", shown["filing_cpu_ms"], "ms", PROBE_REPEAT)
    emit(
        "intake_incidents_inprocess_ratio",
        (inside["filing_cpu_ms"] / inside["floor_cpu_ms"]) / (shown["filing_cpu_ms"] / shown["floor_cpu_ms"]),
        "ratio",
        PROBE_REPEAT,
    )
    print("# intake, one filing in one process, CPU under cProfile (compare them with each other):")
    print_heaviest(inside["profile"], "filing", 10)


def median_run(runs: list[tuple[dict[str, float], float, float]]) -> tuple[dict[str, float], float, float]:
    """Of several runs (wrk's figures, the workers' and PostgreSQL's CPU ms per request), the one
    with the median rate, its p95 and CPU with it."""
    return sorted(runs, key=lambda run: run[0]["rps"])[len(runs) // 2]
