"""The staff pages benchmark: server time of each page at a million complaints."""

from __future__ import annotations

import os

from bench.harness import emit, probe
from bench.seed import seed_staff_world


def run() -> None:
    """The staff pages at a million complaints (seed_staff_world)."""
    seed_staff_world()
    figures = probe("bench.page_probe", "measure", os.environ.get("BENCH_PAGE_REPEAT", "100"))
    floor = figures.pop("page_floor")
    emit("page_floor_p95_ms", floor["p95_ms"], "ms", 1_000_000)
    for name, figure in figures.items():
        if figure["reads_whole_table"]:
            raise SystemExit(f"{name} reads the whole complaints table")
        emit(f"{name}_p50_ms", figure["p50_ms"], "ms", 1_000_000)
        emit(f"{name}_p95_ms", figure["p95_ms"], "ms", 1_000_000)
        emit(f"{name}_ratio_to_floor", figure["p95_ms"] / floor["p95_ms"], "ratio", 1_000_000)
        emit(f"{name}_queries", figure["queries"], "queries", 1_000_000)
