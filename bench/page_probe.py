"""Time the staff pages in-process (server time: middleware, view, SQL and template) and
print the figures as JSON (used by bench.run).

python -m bench.page_probe setup        create the bench staff; print their ids
python -m bench.page_probe measure [N]  time each page N times after a warm-up
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from contextlib import AbstractContextManager
from typing import Any
from unittest import mock

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

import django

django.setup()

from django.contrib.auth.models import Group  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402

from accounts.models import Role, User  # noqa: E402
from complaints.models import Complaint, Status  # noqa: E402
from tests.factories import sign_in  # noqa: E402

AGENTS = 40


def setup() -> None:
    """The agents cases are spread over, one team lead and one manager."""
    agents = Group.objects.get(name=Role.AGENT)
    ids = []
    for n in range(AGENTS):
        user, _ = User.objects.get_or_create(username=f"bench-agent-{n}", defaults={"email": ""})
        user.groups.add(agents)
        ids.append(user.pk)
    manager, _ = User.objects.get_or_create(username="bench-manager", defaults={"email": ""})
    manager.groups.add(Group.objects.get(name=Role.MANAGER))
    print(json.dumps({"agents": ids, "manager": manager.pk}))


def warm(client: Client, url: str) -> None:
    for _ in range(5):  # warm the caches a long-running worker has warm
        response = client.get(url, HTTP_ACCEPT_LANGUAGE="vi")
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")


def once(client: Client, url: str) -> float:
    """One request's server time, in milliseconds."""
    started = time.perf_counter()
    client.get(url, HTTP_ACCEPT_LANGUAGE="vi")
    return (time.perf_counter() - started) * 1000


def summary(client: Client, url: str, timings: list[float]) -> dict:
    with CaptureQueriesContext(connection) as queries:
        client.get(url, HTTP_ACCEPT_LANGUAGE="vi")
    timings = sorted(timings)
    return {
        "p50_ms": statistics.median(timings),
        "p95_ms": timings[max(0, round(0.95 * len(timings)) - 1)],
        "queries": len(queries.captured_queries),
        "reads_whole_table": any(scans_complaints(q["sql"]) for q in queries.captured_queries),
    }


def timed(client: Client, url: str, repeat: int) -> dict:
    warm(client, url)
    return summary(client, url, [once(client, url) for _ in range(repeat)])


def without_access_log() -> AbstractContextManager[Any]:
    """The staff case page as it was before the access log: neither the reader worked out nor
    the entry written (the view's two calls patched out)."""
    return mock.patch.multiple(
        "staff.views.case", reader=lambda request: None, record_access=lambda **kwargs: None
    )


def timed_with_and_without_log(client: Client, url: str, repeat: int) -> tuple[dict, dict]:
    """The staff case page with its access log entry and without it, one request of each in
    turn, so both meet the same machine, caches and table sizes."""
    warm(client, url)
    with without_access_log():
        warm(client, url)
    logged, unlogged = [], []
    for _ in range(repeat):
        logged.append(once(client, url))
        with without_access_log():
            unlogged.append(once(client, url))
    with_log = summary(client, url, logged)
    with without_access_log():
        without_log = summary(client, url, unlogged)
    return with_log, without_log


def scans_complaints(sql: str) -> bool:
    """Whether the plan of `sql` reads the whole complaints table (a sequential scan)."""
    if "complaints_complaint" not in sql or not sql.lstrip().upper().startswith("SELECT"):
        return False
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    return "Seq Scan on complaints_complaint" in plan


def deep_url(client: Client, base: str, depth: int) -> str:
    """The URL of the page `depth` pages into the queue, found by following "next" links."""
    import re

    url = base
    for _ in range(depth - 1):
        body = client.get(url).content.decode()
        match = re.search(r'href="\?([^"]+)" rel="next"', body)
        if match is None:
            raise SystemExit(f"the queue ended before page {depth}")
        url = base + "?" + match.group(1).replace("&amp;", "&")
    return url


def measure(repeat: int) -> None:
    agent = User.objects.get(username="bench-agent-0")
    manager = User.objects.get(username="bench-manager")
    as_agent, as_manager = Client(HTTP_HOST="127.0.0.1"), Client(HTTP_HOST="127.0.0.1")
    sign_in(as_agent, agent)  # past the second factor, as staff must be
    sign_in(as_manager, manager)
    unassigned = reverse("staff:queue_tab", args=["unassigned"])
    pages = {
        "page_floor": (as_agent, "/bench/floor-page/"),
        "queue_first": (as_agent, unassigned),
        "queue_mine": (as_agent, reverse("staff:queue")),
        "queue_team": (as_agent, reverse("staff:queue_tab", args=["team"])),
        "queue_deep": (as_agent, deep_url(as_agent, unassigned, 200)),
        "queue_search": (as_agent, unassigned + "?q=subject+4242"),
        "manager_queue": (as_manager, reverse("staff:manager_queue")),
        "dashboard": (as_manager, reverse("staff:dashboard")),
    }
    figures = {name: timed(client, url, repeat) for name, (client, url) in pages.items()}
    # An open, assigned case: the staff case page, with its access log entry and without.
    case = Complaint.objects.filter(status=Status.OPEN, assignee__isnull=False).order_by("id").first()
    # More requests than the other pages: the two p95s are compared, and a 10 % bound on a
    # p95 of 100 requests would be decided by a handful of stray ones on a shared machine.
    pairs = int(os.environ.get("BENCH_CASE_PAGE_REPEAT", str(max(repeat, 400))))
    figures["case_page"], figures["case_page_unlogged"] = timed_with_and_without_log(
        as_agent, reverse("staff:case", args=[case.reference]), pairs
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    if sys.argv[1] == "setup":
        setup()
    else:
        measure(int(sys.argv[2]) if len(sys.argv) > 2 else 50)
