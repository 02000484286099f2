"""The incident benchmark's work inside Django, in a process of its own (used by bench.incidents,
and by bench.intake for its incidents).

`setup COUNT`: a team lead, and an incident to which the first COUNT complaints are linked; prints
the incident's and the lead's ids. `reply INCIDENT LEAD [profile]`: one `reply_to_linked`, timed,
with the statements it sent counted and the time spent in them and in its commits; with
`profile`, under cProfile (its heaviest functions printed beside the figures). Prints its figures
as JSON.

For the intake benchmark, `declare COUNT PROVIDER`: COUNT open incidents of the account category
and PROVIDER, declared by a team lead; `resolve PROVIDER`: every open incident resolved. Each
prints how many open incidents the filing form then shows for the account category and PROVIDER.

Before the reply, the process is warmed as a web worker that has served requests is: the URLconf
loaded (a process's first `reverse` imports every view) and the broker's connection open (its
first nudge of the outbox sets up Celery's producer), about 0.2 s each, paid once per process,
not per answer. The SLA policies' cache is left cold.
"""

from __future__ import annotations

import cProfile
import json
import os
import sys
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

import django

django.setup()

from celery import current_app  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.db import connection  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import Role, User  # noqa: E402
from bench.harness import StatementCount, heaviest  # noqa: E402
from complaints.models import Category, Cause, Complaint, Incident, Outcome, Remedy  # noqa: E402
from complaints.selectors import matching_incidents  # noqa: E402
from complaints.services import (  # noqa: E402
    declare_incident,
    reply_to_linked,
    resolve_incident,
    resolve_linked,
)


def bench_lead() -> User:
    lead, made = User.objects.get_or_create(username="bench-lead", defaults={"email": "lead@example.org"})
    if made:
        lead.groups.add(Group.objects.get(name=Role.TEAM_LEAD))
    return lead


def setup(count: int) -> None:
    lead = bench_lead()
    now = timezone.now()
    incident = declare_incident(
        title_vi="ShopNhanh không đăng nhập được",
        title_en="ShopNhanh log-in is down",
        note_vi="Chúng tôi đang làm việc với ShopNhanh.",
        note_en="We are working with ShopNhanh.",
        category=Category.objects.get(slug="account"),
        provider_name="Shop",
        started_at=now,
        by=lead,
        now=now,
    )
    ids = Complaint.objects.order_by("id").values_list("id", flat=True)[:count]
    linked = Complaint.objects.filter(id__in=list(ids)).update(incident=incident)
    print(json.dumps({"incident": incident.pk, "lead": lead.pk, "linked": linked}))


def warm_up() -> None:
    """What a web worker that has served requests holds already (see the module)."""
    reverse("incident", args=["warm-up"])
    with current_app.producer_or_acquire() as producer:
        producer.connection.ensure_connection()


def reply(incident_id: int, lead_id: int, profiled: bool = False) -> None:
    incident, lead = Incident.objects.get(pk=incident_id), User.objects.get(pk=lead_id)
    warm_up()
    statements, in_statements, in_commits = 0, 0.0, 0.0

    def count(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        nonlocal statements, in_statements
        statements += 1
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            in_statements += time.perf_counter() - started

    commit = connection.commit

    def timed_commit() -> None:  # each batch's: the deferred foreign key checks run here
        nonlocal in_commits
        started = time.perf_counter()
        try:
            commit()
        finally:
            in_commits += time.perf_counter() - started

    connection.commit = timed_commit  # what transaction.atomic calls on this connection
    profiler = cProfile.Profile()
    with connection.execute_wrapper(count):
        started = time.perf_counter()
        if profiled:
            profiler.enable()
        result = reply_to_linked(
            incident=incident,
            body_vi="ShopNhanh đã khôi phục đăng nhập.",
            body_en="ShopNhanh restored log-in.",
            by=lead,
            now=timezone.now(),
        )
        profiler.disable()
        seconds = time.perf_counter() - started
    figures = {
        "seconds": seconds,
        "statement_seconds": in_statements,
        "commit_seconds": in_commits,
        "answered": len(result.answered),
        "refused": len(result.refused),
        "batches": result.batches,
        "statements": statements,
    }
    if profiled:
        figures["profile"] = heaviest(profiler, 1, 12)
    print(json.dumps(figures))


def resolve_all(incident_id: int, lead_id: int) -> None:
    """One `resolve_linked` of every linked case (a cause for every category, upheld, access
    restored), timed as the reply is: the figure beside the reply's, for the resolve-all that
    answers each case through the clock in Python."""
    incident, lead = Incident.objects.get(pk=incident_id), User.objects.get(pk=lead_id)
    warm_up()
    cause = Cause.objects.filter(category__isnull=True).order_by("pk").first()
    count = StatementCount()
    with connection.execute_wrapper(count):
        started = time.perf_counter()
        result = resolve_linked(
            incident=incident,
            summary_vi="ShopNhanh đã khôi phục đăng nhập.",
            summary_en="ShopNhanh restored log-in.",
            cause=cause,
            outcome=Outcome.UPHELD,
            remedy=Remedy.ACCESS_RESTORED,
            by=lead,
            now=timezone.now(),
        )
        seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "resolved": len(result.answered), "statements": count.statements}))


def shown(provider: str) -> int:
    """How many open incidents the filing form shows for the account category and `provider`."""
    return len(matching_incidents(Category.objects.get(slug="account").pk, provider))


def declare(count: int, provider: str) -> None:
    lead, account = bench_lead(), Category.objects.get(slug="account")
    for number in range(count):
        now = timezone.now()
        declare_incident(
            title_vi=f"{provider}: sự cố {number + 1}",
            title_en=f"{provider}: incident {number + 1}",
            note_vi="Chúng tôi đang làm việc với nhà cung cấp.",
            note_en="We are working with the provider.",
            category=account,
            provider_name=provider,
            started_at=now,
            by=lead,
            now=now,
        )
    print(json.dumps({"declared": count, "shown": shown(provider)}))


def resolve(provider: str) -> None:
    lead = bench_lead()
    for incident in Incident.objects.open():
        resolve_incident(
            incident=incident, text_vi="Đã khắc phục.", text_en="Fixed.", by=lead, now=timezone.now()
        )
    print(json.dumps({"shown": shown(provider)}))


if __name__ == "__main__":
    if sys.argv[1] == "setup":
        setup(int(sys.argv[2]))
    elif sys.argv[1] == "declare":
        declare(int(sys.argv[2]), sys.argv[3])
    elif sys.argv[1] == "resolve":
        resolve(sys.argv[2])
    elif sys.argv[1] == "resolve_all":
        resolve_all(int(sys.argv[2]), int(sys.argv[3]))
    else:
        reply(int(sys.argv[2]), int(sys.argv[3]), profiled=sys.argv[4:] == ["profile"])
