"""The SLA sweep benchmark at a million complaints, beside one hand-written UPDATE."""

from __future__ import annotations

import statistics
import time

from bench.harness import DATABASE, PSQL_URL, emit, fresh_database, probe, psql
from bench.seed import make_due, seed_complaints

# What a round of the sweep wrote, emptied for the next (the inbound messages refer to events).
TRUNCATE = (
    "TRUNCATE escalation_escalation, complaints_inboundmessage, complaints_complaintevent, "
    "complaints_notification"
)


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


def run() -> None:
    """The SLA sweep at a million complaints: nothing due, then 10,000 and 100,000 due."""
    fresh_database()
    seed_complaints(1_000_000, open_every=5)  # 20 % open, nothing due
    noop = probe("bench.sweep_probe", "--repeat", "50")
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
        sweep = probe("bench.sweep_probe")
        if sweep["result"]["escalated"] != due_count:
            raise SystemExit(f"sweep escalated {sweep['result']['escalated']} of {due_count}")
        suffix = "" if due_count == 10_000 else "_100k"
        emit(f"sweep_due_s{suffix}", sweep["seconds_median"], "s", due_count)
        emit(f"sweep_floor_s{suffix}", floor_seconds, "s", due_count)
        emit(f"sweep_ratio_to_floor{suffix}", sweep["seconds_median"] / floor_seconds, "ratio", due_count)
        emit(f"sweep_statements{suffix}", sweep["result"]["statements"], "statements", due_count)
        emit(f"sweep_batches{suffix}", sweep["result"]["batches"], "batches", due_count)
        emit(f"sweep_peak_rss_mb{suffix}", sweep["peak_rss_mb"], "MB", due_count)
        psql(RESET, DATABASE)  # the escalated ones, for the next, larger round
        psql(TRUNCATE, DATABASE)
    regimes_beside(10_000)


# Under a regime (the FCA's eight weeks, ahead of them), the due complaints carry its
# deadline and warning point: the sweep reads them, builds their checkpoints, and writes
# nothing more for them.
UNDER_A_REGIME = """UPDATE complaints_complaint SET
    regime_id = (SELECT id FROM escalation_regime WHERE code = 'fca-disp'),
    final_response_due_at = now() + interval '40 days', final_response_warning_at = now() + interval '30 days'
    WHERE next_check_at <= now()"""
RESET = (
    "UPDATE complaints_complaint SET escalation_level = 0, first_response_breached_at = NULL, "
    "level_since = NULL, next_check_at = now() + interval '10 days', regime_id = NULL, "
    "final_response_due_at = NULL, final_response_warning_at = NULL WHERE escalation_level > 0"
)


def regimes_beside(due_count: int, rounds: int = 3) -> None:
    """The same `due_count` due complaints swept outside a regime and under one, alternately
    (`rounds` of each, so both meet the same machine): issue 16 asks the regimes to cost the
    sweep at most a tenth more."""
    plain, regime = [], []
    for _ in range(rounds):
        for timings, setup in ((plain, None), (regime, UNDER_A_REGIME)):
            make_due(due_count)
            if setup:
                psql(setup, DATABASE)
            sweep = probe("bench.sweep_probe")
            if sweep["result"]["escalated"] != due_count:
                raise SystemExit(f"sweep escalated {sweep['result']['escalated']} of {due_count}")
            timings.append(sweep["seconds_median"])
            if setup:  # the complaints it swept were under the regime
                under = psql(
                    "SELECT count(*) FROM complaints_complaint "
                    "WHERE regime_id IS NOT NULL AND escalation_level > 0",
                    DATABASE,
                )
                if int(under) != due_count:
                    raise SystemExit(f"{under} of the {due_count} swept were under a regime")
            psql(RESET, DATABASE)
            psql(TRUNCATE, DATABASE)
    emit("sweep_due_plain_s", statistics.median(plain), "s", due_count)
    emit("sweep_due_regime_s", statistics.median(regime), "s", due_count)
    emit("sweep_regime_cost_ratio", statistics.median(regime) / statistics.median(plain), "ratio", due_count)
