"""The outbox benchmark's work inside Django, each step in a process of its own; prints its
figures as JSON (used by bench.outbox). EMAIL_HOST and EMAIL_PORT name the SMTP server.

python -m bench.outbox_probe setup N   N pending notices, as an escalation wave leaves them
python -m bench.outbox_probe floor     the same messages, rendered beforehand, sent by a bare loop
python -m bench.outbox_probe drain     one delivery run (deliver_outbox) over the backlog
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
from django.core.mail import get_connection  # noqa: E402
from django.db import transaction  # noqa: E402

from accounts.models import Role, User  # noqa: E402
from complaints import records  # noqa: E402
from complaints.models import Complaint, Notification, NotificationStatus  # noqa: E402
from complaints.notifications import deliver_outbox, render_notification  # noqa: E402
from escalation.clock import database_now  # noqa: E402


def setup(total: int) -> None:
    """For each of total/2 complaints (guests, seeded by bench.seed), what an escalation
    leaves in the outbox: the case update to the complainant (it mints a tracking link
    when sent) and the alert to the team lead."""
    lead, _ = User.objects.get_or_create(
        username="bench-lead", defaults={"email": "lead@example.org", "preferred_language": "en"}
    )
    lead.groups.add(Group.objects.get(name=Role.TEAM_LEAD))
    now = database_now()
    rows = records.NoticeRows()
    for complaint_id, email, language in Complaint.objects.order_by("pk").values_list(
        "pk", "contact_email", "language"
    )[: total // 2]:
        rows.add(
            records.notice_values(
                complaint_id=complaint_id,
                email=email,
                template="case_update",
                language=language,
                context=records.case_update(kind="escalated", guest=True),
                now=now,
            )
        )
        rows.add(
            *records.staff_notices(
                [(lead.pk, f"lead+{complaint_id}@example.org", lead.preferred_language)],
                complaint_id=complaint_id,
                kind="escalated",
                now=now,
            )
        )
    with transaction.atomic():
        rows.insert()
    print(json.dumps({"pending": Notification.objects.filter(status=NotificationStatus.PENDING).count()}))


def floor() -> None:
    """The same messages, rendered beforehand (untimed; the tracking links minted for them
    are rolled back), sent one after another over one SMTP connection."""
    now = database_now()
    with transaction.atomic():
        notices = Notification.objects.select_related("complaint").order_by("next_attempt_at", "pk")
        messages = [render_notification(notice, now=now) for notice in notices]
        transaction.set_rollback(True)
    connection = get_connection()
    started = time.perf_counter()
    connection.open()
    sent = sum(connection.send_messages([message]) for message in messages)
    connection.close()
    seconds = time.perf_counter() - started
    print(json.dumps({"sent": sent, "seconds": seconds}))


def drain() -> None:
    """One delivery run, as the task makes it, over the whole backlog."""
    now = database_now()
    started = time.perf_counter()
    result = deliver_outbox(now=now)
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {"sent": result.sent, "retried": result.retried, "failed": result.failed, "seconds": seconds}
        )
    )


if __name__ == "__main__":
    step, *arguments = sys.argv[1:]
    if step == "setup":
        setup(int(arguments[0]))
    elif step == "floor":
        floor()
    elif step == "drain":
        drain()
    else:
        raise SystemExit(f"unknown step {step!r}: setup, floor or drain")
