"""Time the staff pages, the case pages and the filing form in-process (server time:
middleware, view, SQL and template), split each page's time into SQL, template rendering
and the rest, and print the figures as JSON (used by bench.run).

python -m bench.page_probe setup        create the bench staff; print their ids
python -m bench.page_probe measure [N]  time each page N times after a warm-up
python -m bench.page_probe measure N PAGE...  time only these pages (e.g. compliance_report)
"""

from __future__ import annotations

import cProfile
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
from django.template.backends.django import Template as DjangoTemplate  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import Role, User  # noqa: E402
from bench.harness import heaviest  # noqa: E402
from complaints import services  # noqa: E402
from complaints.models import Complaint, ComplaintEvent, Status  # noqa: E402
from evidence.services import attach_evidence  # noqa: E402
from tests.evidence.conftest import png, sealed  # noqa: E402
from tests.factories import sign_in  # noqa: E402

AGENTS = 40
# The case the case pages are timed on: this many timeline entries and files.
CASE_ENTRIES = 30
CASE_FILES = 5
# Requests each page is profiled over (beside the timed ones, not among them).
PROFILED = int(os.environ.get("BENCH_PAGE_PROFILED", "30"))


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


class Floor:
    """The bare page, timed one request before each request of every page, so that the floor
    meets the same machine as the pages: its figures are those of all these requests, spread
    over the whole run. A floor timed once, in a burst of its own, moved from one run to the
    next with whatever else the machine was doing then (its p95 from 3.7 to 9.7 ms in three
    runs of the same code)."""

    def __init__(self, client: Client, url: str) -> None:
        self.client, self.url, self.timings = client, url, []
        warm(client, url)

    def once(self) -> None:
        self.timings.append(once(self.client, self.url))

    def figure(self) -> dict:
        figure = summary(self.client, self.url, self.timings)
        figure["profile"] = profiled(self.client, self.url, PROFILED)
        return figure


def timed(client: Client, url: str, repeat: int, floor: Floor) -> dict:
    warm(client, url)
    timings = []
    for _ in range(repeat):
        floor.once()
        timings.append(once(client, url))
    figure = summary(client, url, timings)
    figure["profile"] = profiled(client, url, PROFILED)
    return figure


class Split:
    """Where a request's server time goes: SQL (each statement's own time), template rendering
    (less the SQL a template runs itself, a lazy query), and the rest (middleware, view code,
    forms)."""

    def __init__(self) -> None:
        self.sql = 0.0
        self.template = 0.0
        self.sql_in_template = 0.0
        self.rendering = 0

    def execute(self, execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            spent = time.perf_counter() - started
            self.sql += spent
            if self.rendering:
                self.sql_in_template += spent

    def render(self, original):  # type: ignore[no-untyped-def]
        split = self

        def render(template, context=None, request=None):  # type: ignore[no-untyped-def]
            split.rendering += 1
            started = time.perf_counter()
            try:
                return original(template, context, request)
            finally:
                split.rendering -= 1
                if not split.rendering:
                    split.template += time.perf_counter() - started

        return render


def profiled(client: Client, url: str, repeat: int) -> dict:
    """The page's server time split into SQL, templates and the rest over `repeat` requests,
    and, from cProfile over the same requests, the portal's own functions and the libraries'
    by time (ms per request)."""
    split = Split()
    profile = cProfile.Profile()
    started = time.perf_counter()
    with (
        connection.execute_wrapper(split.execute),
        mock.patch.object(DjangoTemplate, "render", split.render(DjangoTemplate.render)),
    ):
        for _ in range(repeat):
            profile.enable()
            client.get(url, HTTP_ACCEPT_LANGUAGE="vi")
            profile.disable()
    total = time.perf_counter() - started
    template = split.template - split.sql_in_template
    return {
        "sql_share": split.sql / total,
        "template_share": template / total,
        "rest_share": (total - split.sql - template) / total,
        **heaviest(profile, repeat, 12),
    }


def without_access_log() -> AbstractContextManager[Any]:
    """The staff case page as it was before the access log: neither the reader worked out nor
    the entry written (the view's two calls patched out)."""
    return mock.patch.multiple(
        "staff.views.case", reader=lambda request: None, record_access=lambda **kwargs: None
    )


def timed_with_and_without_log(client: Client, url: str, repeat: int, floor: Floor) -> tuple[dict, dict]:
    """The staff case page with its access log entry and without it, one request of each in
    turn, so both meet the same machine, caches and table sizes."""
    warm(client, url)
    with without_access_log():
        warm(client, url)
    logged, unlogged = [], []
    for _ in range(repeat):
        floor.once()
        logged.append(once(client, url))
        with without_access_log():
            unlogged.append(once(client, url))
    with_log = summary(client, url, logged)
    with_log["profile"] = profiled(client, url, PROFILED)
    with without_access_log():
        without_log = summary(client, url, unlogged)
    return with_log, without_log


def rich_case() -> tuple[Complaint, User]:
    """An open, assigned case with CASE_ENTRIES timeline entries (replies both ways, internal
    notes, files) and CASE_FILES files, owned by a complainant's account; written through the
    portal's own services."""
    complainant, _ = User.objects.get_or_create(
        username="bench-case-complainant", defaults={"email": "case-complainant@example.org"}
    )
    complaint = Complaint.objects.filter(status=Status.OPEN, assignee__isnull=False).order_by("id").first()
    agent = complaint.assignee
    Complaint.objects.filter(pk=complaint.pk).update(complainant=complainant)
    now = timezone.now()
    files = [(sealed(f"screen-{n}.png", png(360, 640)), f"Ảnh chụp màn hình {n}") for n in range(CASE_FILES)]
    attach_evidence(complaint=complaint, uploads=files, by=complainant, now=now)
    n = 0
    while ComplaintEvent.objects.filter(complaint=complaint).count() < CASE_ENTRIES:
        complaint = Complaint.objects.get(pk=complaint.pk)
        body = f"Tin nhắn số {n}: chúng tôi đã kiểm tra tài khoản của bạn và đang chờ bộ phận kỹ thuật. " * 3
        if n % 3 == 0:
            services.reply_as_staff(
                complaint=complaint, body=body, by=agent, now=now, version=complaint.version
            )
        elif n % 3 == 1:
            services.reply_as_complainant(complaint=complaint, body=body, by=complainant, now=now)
        else:
            services.add_internal_note(complaint=complaint, body=body, by=agent, now=now)
        n += 1
    return Complaint.objects.get(pk=complaint.pk), complainant


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


def last_year() -> str:
    return str(timezone.localdate().year - 1)


def measure(repeat: int, only: list[str]) -> None:
    agent = User.objects.get(username="bench-agent-0")
    manager = User.objects.get(username="bench-manager")
    as_agent, as_manager = Client(HTTP_HOST="127.0.0.1"), Client(HTTP_HOST="127.0.0.1")
    sign_in(as_agent, agent)  # past the second factor, as staff must be
    sign_in(as_manager, manager)
    unassigned = reverse("staff:queue_tab", args=["unassigned"])
    floor = Floor(as_agent, "/bench/floor-page/")
    pages = {
        "queue_first": (as_agent, unassigned),
        "queue_mine": (as_agent, reverse("staff:queue")),
        "queue_team": (as_agent, reverse("staff:queue_tab", args=["team"])),
        "queue_deep": (as_agent, deep_url(as_agent, unassigned, 200)),
        "queue_search": (as_agent, unassigned + "?q=subject+4242"),
        "manager_queue": (as_manager, reverse("staff:manager_queue")),
        "dashboard": (as_manager, reverse("staff:dashboard")),
        # The compliance report over the last full year (12 months), and over the last full month.
        "compliance_report": (as_manager, f"{reverse('staff:compliance')}?period={last_year()}"),
        "compliance_report_month": (as_manager, reverse("staff:compliance")),
    }
    if only:
        figures = {
            name: timed(client, url, repeat, floor) for name, (client, url) in pages.items() if name in only
        }
        figures["page_floor"] = floor.figure()
        print(json.dumps(figures))
        return
    # The case pages, on an open case of the agent's with 30 entries and 5 files; the filing
    # form as a guest opens it.
    case, complainant = rich_case()
    as_complainant, as_guest = Client(HTTP_HOST="127.0.0.1"), Client(HTTP_HOST="127.0.0.1")
    sign_in(as_complainant, complainant)
    pages = {
        **pages,
        "case_complainant": (as_complainant, reverse("complaints:detail", args=[case.reference])),
        "intake_form": (as_guest, reverse("complaints:create")),
    }
    figures = {name: timed(client, url, repeat, floor) for name, (client, url) in pages.items()}
    # The staff case page with its access log entry and without. More requests than the
    # other pages: the two p95s are compared, and a 10 % bound on a p95 of 100 requests
    # would be decided by a handful of stray ones on a shared machine.
    pairs = int(os.environ.get("BENCH_CASE_PAGE_REPEAT", str(max(repeat, 400))))
    figures["case_staff"], figures["case_staff_unlogged"] = timed_with_and_without_log(
        as_agent, reverse("staff:case", args=[case.reference]), pairs, floor
    )
    figures["page_floor"] = floor.figure()
    print(json.dumps(figures))


if __name__ == "__main__":
    if sys.argv[1] == "setup":
        setup()
    else:
        measure(int(sys.argv[2]) if len(sys.argv) > 2 else 50, sys.argv[3:])
