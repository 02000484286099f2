"""`make bench`: measure the portal on PostgreSQL and print one JSON line per figure.

python -m bench.run [intake|upload|sweep|outbox|inbound|retention|incidents|pages|load]...
(all of them, in this order, by default)

Every figure stands beside a baseline measured in the same run, so it reads as a ratio.
Results also go to bench/results/latest.jsonl. Benchmarks never gate CI. The harness is
bench.harness, the seeded data bench.seed, each benchmark a module of its own.
"""

from __future__ import annotations

import sys

from bench import inbound, incidents, intake, load, outbox, pages, retention, sweep, upload
from bench.harness import RESULTS

BENCHMARKS = {
    "intake": intake.run,
    "upload": upload.run,
    "sweep": sweep.run,
    "outbox": outbox.run,
    "inbound": inbound.run,
    "retention": retention.run,
    "incidents": incidents.run,
    "pages": pages.run,
    "load": load.run,
}


def main(argv: list[str]) -> int:
    unknown = [name for name in argv if name not in BENCHMARKS]
    if unknown:
        print(
            f"unknown benchmark(s): {' '.join(unknown)}; choose from {' '.join(BENCHMARKS)}", file=sys.stderr
        )
        return 2
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("")
    for name in argv or list(BENCHMARKS):
        BENCHMARKS[name]()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
