"""The pages benchmark: server time of the staff pages, the case pages and the filing form at
a million complaints, each beside a bare page, with where the time goes."""

from __future__ import annotations

import json
import os

from bench.harness import RESULTS, emit, print_heaviest, probe
from bench.seed import seed_access_log, seed_staff_world

# A smaller world for a quick run beside others' work (the figures' `n` says which).
COMPLAINTS = int(os.environ.get("BENCH_PAGE_COMPLAINTS", "1000000"))
# Some pages only (their names, separated by commas: e.g. compliance_report,compliance_report_month);
# every page by default.
ONLY = [name for name in os.environ.get("BENCH_PAGES", "").split(",") if name]
PROFILES = RESULTS.parent / "pages-profile.json"


def run() -> None:
    """The pages at a million complaints (seed_staff_world), with as many access log entries;
    the staff case page with its log entry and without it, in the same run."""
    seed_staff_world(COMPLAINTS)
    if not ONLY:  # the case page's access log: no other page reads it
        seed_access_log(COMPLAINTS)
    figures = probe("bench.page_probe", "measure", os.environ.get("BENCH_PAGE_REPEAT", "300"), *ONLY)
    floor = figures.pop("page_floor")
    emit("page_floor_p50_ms", floor["p50_ms"], "ms", COMPLAINTS)
    emit("page_floor_p95_ms", floor["p95_ms"], "ms", COMPLAINTS)
    profiles = {"page_floor": floor["profile"]}
    for name, figure in figures.items():
        if figure["reads_whole_table"]:
            raise SystemExit(f"{name} reads the whole complaints table")
        emit(f"{name}_p50_ms", figure["p50_ms"], "ms", COMPLAINTS)
        emit(f"{name}_p95_ms", figure["p95_ms"], "ms", COMPLAINTS)
        emit(f"{name}_ratio_to_floor", figure["p95_ms"] / floor["p95_ms"], "ratio", COMPLAINTS)
        emit(f"{name}_queries", figure["queries"], "queries", COMPLAINTS)
        if "profile" in figure:
            profiles[name] = figure["profile"]
    if ONLY:
        print_profiles(profiles)
        return
    # The access log's cost on the case page: the target is at most 1.10 (p95 with the log over
    # p95 without it, one request of each in turn); the medians' ratio beside it.
    emit(
        "case_page_log_ratio_p50",
        figures["case_staff"]["p50_ms"] / figures["case_staff_unlogged"]["p50_ms"],
        "ratio",
        COMPLAINTS,
    )
    emit(
        "case_page_log_ratio",
        figures["case_staff"]["p95_ms"] / figures["case_staff_unlogged"]["p95_ms"],
        "ratio",
        COMPLAINTS,
    )
    print_profiles(profiles)


def print_profiles(profiles: dict[str, dict]) -> None:
    """Each page's split (SQL, templates, the rest), as figures, and its heaviest functions,
    as text beside them; all of it also in results/pages-profile.json."""
    for name, profile in profiles.items():
        for part in ("sql", "template", "rest"):
            emit(f"{name}_{part}_share", profile[f"{part}_share"], "share", COMPLAINTS)
    for name, profile in profiles.items():
        print(
            f"# {name}: SQL {profile['sql_share']:.0%}, templates {profile['template_share']:.0%}, "
            f"the rest {profile['rest_share']:.0%}",
            flush=True,
        )
        print_heaviest(profile, "request")
    PROFILES.write_text(json.dumps(profiles, indent=1, ensure_ascii=False))
