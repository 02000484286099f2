"""Prepare the mixed-load benchmark (used by bench.run): signed-in sessions, the complainants'
cases, queue pages to walk and cases to reply to; then, after the run, the detection latency.

python -m bench.load_probe prepare FOLDER     requests for wrk, one plan per wrk thread
python -m bench.load_probe detection SINCE    deadline -> manager queue, in seconds
"""

from __future__ import annotations

import json
import os
import re
import statistics
import sys
import time
import urllib.parse
from datetime import datetime
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY  # noqa: E402
from django.contrib.sessions.backends.db import SessionStore  # noqa: E402
from django.middleware.csrf import _get_new_csrf_string, _mask_cipher_secret  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402
from django_otp import DEVICE_ID_SESSION_KEY  # noqa: E402

from accounts.models import User  # noqa: E402
from accounts.second_factor import authenticator, enrol_authenticator  # noqa: E402
from accounts.sessions import stamp  # noqa: E402
from complaints.models import Complaint, Status, Subcategory  # noqa: E402
from escalation.models import Escalation, Reason  # noqa: E402
from tests.factories import sign_in  # noqa: E402

COMPLAINANTS = 200
THREADS = 2
# Rounds of 20 requests per wrk thread: more than five minutes can use, so no step repeats
# (each reply is the first to a case nobody else touches: its version is still 1).
ROUNDS = 6_000


def session_cookie(user: User) -> str:
    """A signed-in session for `user`, as the sign-in leaves it: for staff, past the second
    factor (an authenticator is set up for them if they have none) and stamped as seen."""
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    if user.holds_staff_role:
        device = authenticator(user) or enrol_authenticator(user=user)[0]
        store[DEVICE_ID_SESSION_KEY] = device.persistent_id
        stamp(store, now=int(time.time()))
    store.create()
    return store.session_key


def queue_pages(agent: User, depth: int) -> list[str]:
    """The first `depth` pages of the unassigned tab, as "next" links lead from one to the next."""
    client = Client(HTTP_HOST="127.0.0.1")
    sign_in(client, agent)
    base = reverse("staff:queue_tab", args=["unassigned"])
    urls, url = [], base
    for _ in range(depth):
        urls.append(url)
        match = re.search(r'href="\?([^"]+)" rel="next"', client.get(url).content.decode())
        if match is None:
            break
        url = base + "?" + match.group(1).replace("&amp;", "&")
    return urls


def prepare(out: str) -> None:
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    agents = list(User.objects.filter(username__startswith="bench-agent-").order_by("pk"))
    complainants = []
    for n in range(COMPLAINANTS):
        user, _ = User.objects.get_or_create(username=f"bench-complainant-{n}", defaults={"email": ""})
        complainants.append(user)
    # Each complainant owns five open cases, filed over the last months.
    owned = list(
        Complaint.objects.filter(status=Status.OPEN).order_by("-id").values_list("pk", flat=True)[:1000]
    )
    for i, pk in enumerate(owned):
        Complaint.objects.filter(pk=pk).update(complainant=complainants[i % COMPLAINANTS])
    secret = _get_new_csrf_string()
    token = _mask_cipher_secret(secret)
    csrf = f"csrftoken={secret}; django_language=vi"
    agent_cookies = [f"sessionid={session_cookie(agent)}; {csrf}" for agent in agents]
    complainant_cookies = {user.pk: f"sessionid={session_cookie(user)}; {csrf}" for user in complainants}
    cases = [
        (reference, complainant_cookies[owner])
        for reference, owner in Complaint.objects.filter(pk__in=owned).values_list("reference", "complainant")
    ]
    pages = queue_pages(agents[0], 60)
    # First replies to unassigned open cases nobody else touches during the run: version 1.
    targets = list(
        Complaint.objects.filter(
            status=Status.OPEN, assignee__isnull=True, complainant__isnull=True, version=1
        )
        .exclude(escalation_level__gt=0)
        .order_by("id")
        .values_list("reference", flat=True)[: 2 * ROUNDS * THREADS]
    )
    subcategory = Subcategory.objects.get(slug="cannot-log-in").pk
    intake = urllib.parse.urlencode(
        {
            "csrfmiddlewaretoken": token,
            "subcategory": subcategory,
            "provider_name": "Ví điện tử MoMoney",
            "subject": "Không nhận được mã OTP khi đăng nhập",
            "description": "Từ hôm qua tôi không nhận được mã OTP khi đăng nhập vào ứng dụng.",
            "desired_outcome": "Khôi phục quyền truy cập tài khoản của tôi.",
            "occurred_at": "2026-01-10T09:30",
            "contact_name": "Nguyễn Thị Lan",
            "contact_email": "lan@example.org",
            "language": "vi",
            "consent": "on",
            "submission_key": "__KEY__",
            "contacts-TOTAL_FORMS": "0",
            "contacts-INITIAL_FORMS": "0",
            "evidence-TOTAL_FORMS": "0",
            "evidence-INITIAL_FORMS": "0",
        }
    )
    reply = urllib.parse.urlencode(
        {"csrfmiddlewaretoken": token, "body": "Chúng tôi đã nhận và đang xử lý.", "version": 1}
    )
    # wrk reads plain lines: the cookies and bodies once, then per thread its plan of
    # "method<TAB>path<TAB>cookie line<TAB>body line" (line 0 is empty).
    cookies = ["", csrf, *agent_cookies, *dict.fromkeys(cookie for _reference, cookie in cases)]
    cookie_line = {cookie: n for n, cookie in enumerate(cookies)}
    bodies = ["", intake, reply]
    for t in range(THREADS):
        plan, r = [], 0
        for round_ in range(ROUNDS):
            i = round_ * THREADS + t
            agent = cookie_line[agent_cookies[i % len(agent_cookies)]]
            # One round (20 requests): complainants file (3) and follow their cases (6);
            # agents page the unassigned queue (5) and their own (2), open a case and
            # reply to it (2 of each).
            plan += [("POST", "/complaints/new/", cookie_line[csrf], 1)] * 3
            for k in range(6):
                reference, cookie = cases[(i * 6 + k) % len(cases)]
                plan.append(("GET", f"/complaints/{reference}/", cookie_line[cookie], 0))
            plan += [("GET", pages[(i * 5 + k) % len(pages)], agent, 0) for k in range(5)]
            plan += [("GET", "/staff/queue/", agent, 0)] * 2
            for _ in range(2):
                reference = targets[r * THREADS + t]
                r += 1
                plan.append(("GET", f"/staff/cases/{reference}/", agent, 0))
                plan.append(("POST", f"/staff/cases/{reference}/reply/", agent, 2))
        (folder / f"plan-{t}.txt").write_text("".join("\t".join(map(str, step)) + "\n" for step in plan))
    (folder / "cookies.txt").write_text("\n".join(cookies) + "\n")
    (folder / "bodies.txt").write_text("\n".join(bodies) + "\n")
    floor = ("GET", "/bench/floor-page/", cookie_line[agent_cookies[0]], 0)
    (folder / "floor.txt").write_text("\t".join(map(str, floor)) + "\n")


def detection(since: str) -> None:
    """For each case that missed a deadline after `since` and so reached the managers: how long
    from the deadline to the escalation that put it in the manager queue."""
    moments = Escalation.objects.filter(
        reason=Reason.FIRST_RESPONSE_BREACHED, to_level=2, deadline_at__gte=datetime.fromisoformat(since)
    ).values_list("deadline_at", "created_at")
    delays = sorted((created - deadline).total_seconds() for deadline, created in moments)
    if not delays:
        print(json.dumps({"count": 0}))
        return
    print(
        json.dumps(
            {
                "count": len(delays),
                "p50_s": statistics.median(delays),
                "p99_s": delays[min(len(delays) - 1, round(0.99 * len(delays)))],
                "max_s": delays[-1],
            }
        )
    )


if __name__ == "__main__":
    if sys.argv[1] == "prepare":
        prepare(sys.argv[2])
    else:
        detection(sys.argv[2])
