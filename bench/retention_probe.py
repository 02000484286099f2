"""Run the retention sweep once in a fresh process and print its figures as JSON (used by
bench.retention): the seconds, the complaints anonymised and the statements sent."""

from __future__ import annotations

import json
import os
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

import django

django.setup()

from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench.harness import StatementCount  # noqa: E402
from complaints.services.retention import anonymise_expired  # noqa: E402


def main() -> None:
    count = StatementCount()
    with connection.execute_wrapper(count):
        started = time.perf_counter()
        done = anonymise_expired(now=timezone.now())
        seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "seconds": seconds,
                "anonymised": done.complaints,
                "objects": done.objects,
                "statements": count.statements,
            }
        )
    )


if __name__ == "__main__":
    main()
