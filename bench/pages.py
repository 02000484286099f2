"""The staff pages benchmark: server time of each page at a million complaints."""

from __future__ import annotations

import os

from bench.harness import emit, probe
from bench.seed import seed_access_log, seed_staff_world

# A smaller world for a quick run beside others' work (the figures' `n` says which).
COMPLAINTS = int(os.environ.get("BENCH_PAGE_COMPLAINTS", "1000000"))


def run() -> None:
    """The staff pages at a million complaints (seed_staff_world), with as many access log
    entries; the staff case page with its log entry and without it, in the same run."""
    seed_staff_world(COMPLAINTS)
    seed_access_log(COMPLAINTS)
    figures = probe("bench.page_probe", "measure", os.environ.get("BENCH_PAGE_REPEAT", "100"))
    floor = figures.pop("page_floor")
    emit("page_floor_p95_ms", floor["p95_ms"], "ms", COMPLAINTS)
    for name, figure in figures.items():
        if figure["reads_whole_table"]:
            raise SystemExit(f"{name} reads the whole complaints table")
        emit(f"{name}_p50_ms", figure["p50_ms"], "ms", COMPLAINTS)
        emit(f"{name}_p95_ms", figure["p95_ms"], "ms", COMPLAINTS)
        emit(f"{name}_ratio_to_floor", figure["p95_ms"] / floor["p95_ms"], "ratio", COMPLAINTS)
        emit(f"{name}_queries", figure["queries"], "queries", COMPLAINTS)
    # The access log's cost on the case page: the target is at most 1.10 (p95 with the log over
    # p95 without it, one request of each in turn); the medians' ratio beside it.
    emit(
        "case_page_log_ratio_p50",
        figures["case_page"]["p50_ms"] / figures["case_page_unlogged"]["p50_ms"],
        "ratio",
        COMPLAINTS,
    )
    emit(
        "case_page_log_ratio",
        figures["case_page"]["p95_ms"] / figures["case_page_unlogged"]["p95_ms"],
        "ratio",
        COMPLAINTS,
    )
