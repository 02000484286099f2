"""The incident benchmark's work inside Django, in a process of its own (used by bench.incidents).

`setup COUNT`: a team lead, and an incident to which the first COUNT complaints are linked; prints
the incident's and the lead's ids. `reply INCIDENT LEAD`: one `reply_to_linked`, timed, with the
statements it sent counted; prints its figures as JSON.
"""

from __future__ import annotations

import json
import os
import sys
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

import django

django.setup()

from django.contrib.auth.models import Group  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import Role, User  # noqa: E402
from complaints.models import Category, Complaint, Incident  # noqa: E402
from complaints.services import declare_incident, reply_to_linked  # noqa: E402


def setup(count: int) -> None:
    lead = User.objects.create(username="bench-lead", email="lead@example.org")
    lead.groups.add(Group.objects.get(name=Role.TEAM_LEAD))
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


def reply(incident_id: int, lead_id: int) -> None:
    incident, lead = Incident.objects.get(pk=incident_id), User.objects.get(pk=lead_id)
    statements = 0

    def count(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        nonlocal statements
        statements += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        started = time.perf_counter()
        result = reply_to_linked(
            incident=incident,
            body_vi="ShopNhanh đã khôi phục đăng nhập.",
            body_en="ShopNhanh restored log-in.",
            by=lead,
            now=timezone.now(),
        )
        seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "seconds": seconds,
                "answered": len(result.answered),
                "refused": len(result.refused),
                "batches": result.batches,
                "statements": statements,
            }
        )
    )


if __name__ == "__main__":
    if sys.argv[1] == "setup":
        setup(int(sys.argv[2]))
    else:
        reply(int(sys.argv[2]), int(sys.argv[3]))
