"""Run one SLA sweep in a fresh process and print its figures as JSON (used by bench.run).

python -m bench.sweep_probe [--repeat N] [--batch-size N]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.backends.signals import connection_created  # noqa: E402

from escalation.clock import database_now  # noqa: E402
from escalation.policies import ladder  # noqa: E402
from escalation.sweep import sweep  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=settings.SLA_SWEEP_BATCH_SIZE)
    parser.add_argument("--threads", type=int, default=settings.SLA_SWEEP_THREADS)
    args = parser.parse_args()
    ladder()  # warm the per-process cache, as a long-running worker has it
    statements = 0

    def count(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        nonlocal statements
        statements += 1
        return execute(sql, params, many, context)

    # Count on every connection: the sweep's helper threads open their own.
    connection_created.connect(lambda connection, **_: connection.execute_wrappers.append(count), weak=False)
    timings, results = [], []
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with connection.execute_wrapper(count):
        for _ in range(args.repeat):
            now = database_now()
            statements = 0
            started = time.perf_counter()
            result = sweep(now=now, batch_size=args.batch_size, threads=args.threads)
            timings.append(time.perf_counter() - started)
            results.append(result.as_dict() | {"batches": result.batches, "statements": statements})
    print(
        json.dumps(
            {
                "seconds_median": statistics.median(timings),
                "result": results[-1],
                "first": results[0],
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "rss_growth_mb": (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024,
            }
        )
    )


if __name__ == "__main__":
    main()
