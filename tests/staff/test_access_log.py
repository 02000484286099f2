"""Who saw what: each staff view of a case and each export is in the access log, the case page
pays one INSERT for it, and managers and privacy officers (only) read the log, newest first."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from complaints.accesslog import reader_of, record_access
from complaints.models import AccessKind, AccessRecord, AccessRole, Complaint
from staff.views import case as case_views
from tests.factories import NOW, make_complaint, make_user, sign_in

pytestmark = pytest.mark.django_db

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"


def case_url(complaint: Complaint) -> str:
    return reverse("staff:case", args=[complaint.reference])


def log_url(complaint: Complaint) -> str:
    return reverse("staff:case_access", args=[complaint.reference])


def signed_in(client, role: str | None, **fields):
    user = make_user(role=role, **fields)
    sign_in(client, user)
    return user


# --- Each staff view is one entry, and one INSERT ----------------------------------------------


def test_each_staff_view_of_a_case_adds_one_entry_saying_who_when_and_from_where(client):
    agent = signed_in(client, Role.AGENT)
    complaint = make_complaint(now=timezone.now())
    before = timezone.now()
    for expected in (1, 2):
        response = client.get(case_url(complaint), REMOTE_ADDR="192.0.2.44", HTTP_USER_AGENT=BROWSER)
        assert response.status_code == 200
        assert AccessRecord.objects.count() == expected
    entry = AccessRecord.objects.latest("id")
    assert (entry.complaint_id, entry.kind, entry.user_id, entry.role) == (
        complaint.pk,
        AccessKind.CASE_VIEW,
        agent.pk,
        AccessRole.AGENT,
    )
    assert (entry.ip, entry.user_agent, entry.evidence_id) == ("192.0.2.44", BROWSER, None)
    assert before <= entry.at <= timezone.now()


def test_the_address_is_the_one_our_proxies_saw(client, settings):
    settings.RATE_LIMIT_TRUSTED_PROXIES = 1
    signed_in(client, Role.AGENT)
    complaint = make_complaint(now=timezone.now())
    client.get(case_url(complaint), REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.20")
    assert AccessRecord.objects.get().ip == "198.51.100.20"


def test_a_case_page_shown_again_with_a_form_error_is_a_view_too(client):
    signed_in(client, Role.AGENT)
    complaint = make_complaint(now=timezone.now())
    response = client.post(reverse("staff:note", args=[complaint.reference]), {"body": ""})
    assert response.status_code == 400
    assert AccessRecord.objects.filter(kind=AccessKind.CASE_VIEW).count() == 1


def test_the_complainants_own_page_is_not_a_staff_view(client):
    complainant = signed_in(client, None)
    complaint = make_complaint(by=complainant, now=timezone.now())
    assert client.get(reverse("complaints:detail", args=[complaint.reference])).status_code == 200
    assert not AccessRecord.objects.exists()


def normalised(queries) -> list[str]:
    """The statements, with the moments in them (now, deadlines) made alike."""
    moment = re.compile(r"'\d{4}-\d{2}-\d{2}[ T][\d:.]+(?:[+-]\d{2}(?::\d{2})?)?'")
    return [moment.sub("'<moment>'", query["sql"]) for query in queries.captured_queries]


@pytest.mark.parametrize(("role", "superuser"), [(Role.AGENT, False), (Role.MANAGER, False), (None, True)])
def test_the_case_page_pays_one_insert_for_the_log_and_runs_the_same_queries_otherwise(
    client, monkeypatch, role, superuser
):
    signed_in(client, role, is_superuser=superuser)
    complaint = make_complaint(now=timezone.now())
    client.get(case_url(complaint))  # the session and the caches, as on any later visit
    with CaptureQueriesContext(connection) as logged:
        assert client.get(case_url(complaint)).status_code == 200
    # The page without its log: neither the entry nor working out who reads.
    monkeypatch.setattr(case_views, "reader", lambda request: None)
    monkeypatch.setattr(case_views, "record_access", lambda **kwargs: None)
    with CaptureQueriesContext(connection) as unlogged:
        assert client.get(case_url(complaint)).status_code == 200

    with_log, without_log = normalised(logged), normalised(unlogged)
    touching_the_log = [sql for sql in with_log if "complaints_accessrecord" in sql]
    assert len(touching_the_log) == 1 and touching_the_log[0].startswith("INSERT INTO")
    assert [sql for sql in with_log if sql not in touching_the_log] == without_log


# --- The pages of the log ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "superuser", "status"),
    [
        (None, False, 404),
        (Role.AGENT, False, 404),
        (Role.TEAM_LEAD, False, 404),
        (Role.MANAGER, False, 200),
        (Role.PRIVACY_OFFICER, False, 200),
        (None, True, 200),
    ],
)
def test_only_managers_and_privacy_officers_read_the_log(client, role, superuser, status):
    complaint = make_complaint()
    signed_in(client, role, is_superuser=superuser)
    assert client.get(log_url(complaint)).status_code == status
    assert client.get(reverse("staff:access_log")).status_code == status


def test_anonymous_visitors_are_sent_to_sign_in(client):
    complaint = make_complaint()
    for url in (log_url(complaint), reverse("staff:access_log")):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login"))


def test_an_unknown_case_has_no_log_page(client):
    signed_in(client, Role.MANAGER)
    assert client.get(reverse("staff:case_access", args=["KN-0000-0000"])).status_code == 404
    assert client.get(reverse("staff:case_access", args=["KN-\x00"])).status_code == 404


@pytest.mark.parametrize(
    ("role", "linked"), [(Role.AGENT, False), (Role.TEAM_LEAD, False), (Role.MANAGER, True)]
)
def test_the_case_workspace_links_to_the_log_for_those_who_may_read_it(client, role, linked):
    signed_in(client, role)
    complaint = make_complaint(now=timezone.now())
    page = client.get(case_url(complaint)).content.decode()
    assert (f'href="{log_url(complaint)}"' in page) is linked


@pytest.mark.parametrize(
    ("role", "listed"), [(Role.AGENT, False), (Role.PRIVACY_OFFICER, True), (Role.MANAGER, True)]
)
def test_the_staff_menu_offers_the_log_to_those_who_may_read_it(client, role, listed):
    signed_in(client, role)
    page = client.get(reverse("home")).content.decode()
    assert (f'href="{reverse("staff:access_log")}"' in page) is listed


def test_a_case_log_lists_its_entries_newest_first_with_who_role_what_and_address(client):
    complaint, other = make_complaint(), make_complaint()
    agent = make_user(role=Role.AGENT, first_name="Minh", last_name="Trần")
    as_agent = reader_of(agent, address="192.0.2.1", user_agent=BROWSER)
    guest = reader_of(None, address="203.0.113.5", user_agent="")
    record_access(reader=as_agent, kind=AccessKind.CASE_VIEW, complaint=complaint, at=NOW)
    record_access(reader=guest, kind=AccessKind.DOSSIER, complaint=complaint, at=NOW + timedelta(hours=1))
    record_access(reader=as_agent, kind=AccessKind.CASE_VIEW, complaint=other, at=NOW + timedelta(hours=2))
    signed_in(client, Role.PRIVACY_OFFICER)

    page = client.get(log_url(complaint), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    rows = re.findall(r'<tr data-kind="(\w+)" data-role="(\w+)">(.*?)</tr>', page, flags=re.S)
    assert [(kind, role) for kind, role, _cells in rows] == [
        (AccessKind.DOSSIER, AccessRole.COMPLAINANT),
        (AccessKind.CASE_VIEW, AccessRole.AGENT),
    ]
    dossier, view = rows[0][2], rows[1][2]
    assert "Guest (tracking link)" in dossier and "203.0.113.5" in dossier
    assert "Minh Trần" in view and "Agent" in view and "Opened the case" in view and "192.0.2.1" in view
    assert "Firefox/140.0" in view
    assert "2 Mar 2026, 10:00" in view  # 03:00 UTC in Ho Chi Minh City, in the reader's language


def test_the_log_speaks_the_readers_language(client):
    complaint = make_complaint()
    record_access(
        reader=reader_of(None, address="203.0.113.5", user_agent=""),
        kind=AccessKind.ORIGINAL,
        complaint=complaint,
        at=NOW,
    )
    signed_in(client, Role.MANAGER, preferred_language="vi")
    page = client.get(log_url(complaint), HTTP_ACCEPT_LANGUAGE="vi").content.decode()
    assert "10:00 ngày 02/03/2026" in page
    assert "Người khiếu nại" in page  # the complainant's role


def test_the_log_pages_newest_first_through_entries_of_the_same_moment(client):
    complaint = make_complaint()
    reader = reader_of(make_user(role=Role.AGENT), address="192.0.2.1", user_agent="")
    made = [
        record_access(
            reader=reader, kind=AccessKind.CASE_VIEW, complaint=complaint, at=NOW + timedelta(minutes=n // 10)
        )
        for n in range(30)
    ]
    signed_in(client, Role.MANAGER)
    seen: list[int] = []
    url = log_url(complaint)
    for _page in range(3):
        response = client.get(url)
        assert response.status_code == 200
        seen += [entry.pk for entry in response.context["entries"]]
        if not response.context["next_cursor"]:
            break
        url = f"{log_url(complaint)}?after={response.context['next_cursor']}"
    assert seen == [entry.pk for entry in reversed(made)]
    assert client.get(f"{log_url(complaint)}?after=garbage").status_code == 200  # starts over


def test_the_whole_log_lists_every_case_and_a_reference_opens_one(client):
    first, second = make_complaint(), make_complaint()
    reader = reader_of(make_user(role=Role.AGENT), address="192.0.2.1", user_agent="")
    record_access(reader=reader, kind=AccessKind.CASE_VIEW, complaint=first, at=NOW)
    record_access(reader=reader, kind=AccessKind.CASE_VIEW, complaint=second, at=NOW + timedelta(minutes=1))
    signed_in(client, Role.PRIVACY_OFFICER)

    page = client.get(reverse("staff:access_log"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert page.index(f'href="{log_url(second)}"') < page.index(f'href="{log_url(first)}"')

    typed = f"  {first.reference.lower()} "
    response = client.get(reverse("staff:access_log"), {"reference": typed})
    assert response.status_code == 302 and response["Location"] == log_url(first)
    refused = client.get(
        reverse("staff:access_log"), {"reference": "KN-0000-0000"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert refused.status_code == 400
    assert "No case has the reference KN-0000-0000." in refused.content.decode()


def test_reading_the_log_is_not_itself_logged(client):
    complaint = make_complaint()
    signed_in(client, Role.PRIVACY_OFFICER)
    client.get(log_url(complaint))
    client.get(reverse("staff:access_log"))
    assert not AccessRecord.objects.exists()


# --- Exports -----------------------------------------------------------------------------------


def test_an_export_adds_one_entry_per_complaint_exported_in_one_insert(client):
    manager = signed_in(client, Role.MANAGER)
    inside = [make_complaint(now=NOW), make_complaint(now=NOW + timedelta(days=1))]
    outside = make_complaint(now=NOW - timedelta(days=30))
    with CaptureQueriesContext(connection) as queries:
        response = client.get(
            reverse("staff:export"), {"submitted_from": "2026-03-01"}, REMOTE_ADDR="192.0.2.9"
        )
        b"".join(response.streaming_content)
    assert response.status_code == 200
    inserts = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith("INSERT INTO complaints_accessrecord")
    ]
    assert len(inserts) == 1
    entries = AccessRecord.objects.all()
    assert sorted(entry.complaint_id for entry in entries) == sorted(c.pk for c in inside)
    assert outside.pk not in {entry.complaint_id for entry in entries}
    assert {(e.kind, e.user_id, e.role, e.ip) for e in entries} == {
        (AccessKind.EXPORT, manager.pk, AccessRole.MANAGER, "192.0.2.9")
    }


def test_a_refused_export_logs_nothing(client):
    signed_in(client, Role.MANAGER)
    make_complaint()
    assert client.get(reverse("staff:export"), {"submitted_from": "yesterday"}).status_code == 400
    assert not AccessRecord.objects.exists()
