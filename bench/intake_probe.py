"""Where a filing's time goes, in one process: the CPU time of a filing and of the floor's
request (alternated, through the same middleware), of the filing's three forms alone, and a
profile of the filing (cProfile on CPU time). Prints the figures as JSON (used by
bench.intake).

python -m bench.intake_probe [N]   N filings and N floor requests (default 300)
"""

from __future__ import annotations

import cProfile
import functools
import json
import os
import sys
import time
import uuid
from urllib.parse import urlencode

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

import django

django.setup()

from django.http import QueryDict  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import translation  # noqa: E402
from django.utils.datastructures import MultiValueDict  # noqa: E402

from bench.harness import heaviest  # noqa: E402
from bench.seed import intake_fields  # noqa: E402
from complaints.forms import ComplaintForm, ContactFormSet  # noqa: E402
from evidence.forms import EvidenceFormSet  # noqa: E402

FORM = "application/x-www-form-urlencoded"
WARM_UP = 30


@functools.cache
def filing_template() -> str:
    # The test client enforces no CSRF check: the token is never read.
    return urlencode(intake_fields("-"))


def filing_body() -> str:
    """The bench's filing, as a browser posts it, with a new submission key."""
    return filing_template().replace("KEYPLACEHOLDER", str(uuid.uuid4()))


def file_one(client: Client) -> None:
    response = client.post("/complaints/new/", filing_body(), content_type=FORM, HTTP_ACCEPT_LANGUAGE="vi")
    if response.status_code != 302:
        raise SystemExit(f"a filing answered {response.status_code}")


def floor_one(client: Client) -> None:
    response = client.post("/bench/floor/", "subject=x", content_type=FORM)
    if response.status_code != 302:
        raise SystemExit(f"the floor answered {response.status_code}")


def forms_one(data: QueryDict) -> None:
    """The filing's forms, built and validated from its POST, as the intake view does."""
    forms = [
        ComplaintForm(data, initial={"language": "vi"}),
        ContactFormSet(data, prefix="contacts"),
        EvidenceFormSet(data, MultiValueDict(), prefix="evidence"),
    ]
    if not all(form.is_valid() for form in forms):
        raise SystemExit("the filing's forms refused the bench's fields")


def cpu_ms(run, repeat: int) -> float:  # type: ignore[no-untyped-def]
    started = time.process_time()
    for _ in range(repeat):
        run()
    return (time.process_time() - started) * 1000 / repeat


def profile(client: Client, repeat: int) -> dict:
    """The portal's functions by cumulative CPU time and every function by its own, in ms
    per filing under cProfile (slowed by it: compare them with each other)."""
    profiler = cProfile.Profile(time.process_time)
    for _ in range(repeat):
        profiler.enable()
        file_one(client)
        profiler.disable()
    return heaviest(profiler, repeat, 10)


def measure(repeat: int) -> dict:
    client = Client(HTTP_HOST="127.0.0.1")
    for _ in range(WARM_UP):
        file_one(client)
        floor_one(client)
    filing = floor = 0.0
    for _ in range(repeat):  # alternated, so both meet the same machine
        filing += cpu_ms(lambda: file_one(client), 1)
        floor += cpu_ms(lambda: floor_one(client), 1)
    with translation.override("vi"):
        data = QueryDict(filing_body())
        forms_one(data)
        forms = cpu_ms(lambda: forms_one(data), repeat)
    return {
        "filing_cpu_ms": filing / repeat,
        "floor_cpu_ms": floor / repeat,
        "forms_cpu_ms": forms,
        "profile": profile(client, max(repeat // 6, 20)),
    }


if __name__ == "__main__":
    print(json.dumps(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 300)))
