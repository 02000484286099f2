"""The agents' queue: who sees which tab, nearest deadline first, keyset pages, filters, search."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import Role
from common.kept import VERSION_KEY
from common.paging import PAGE_SIZE, Cursor
from common.times import duration
from complaints import selectors
from complaints.models import Category, Complaint, Status
from complaints.services import transition_complaint
from escalation import sweep as sweeping
from escalation.models import Regime, RegimeDeadline, SlaPolicy
from escalation.policies import forget_policies
from tests.factories import NOW, make_complaint, make_user, sign_in

pytestmark = pytest.mark.django_db

HOUR = timedelta(hours=1)


@pytest.fixture
def agent():
    return make_user(username="agent", role=Role.AGENT)


def references(response) -> list[str]:
    return re.findall(r'<tr data-reference="([^"]+)"', response.content.decode())


def assign(complaint: Complaint, user) -> Complaint:
    Complaint.objects.filter(pk=complaint.pk).update(assignee=user)
    complaint.refresh_from_db()
    return complaint


@pytest.mark.parametrize(
    ("role", "status"),
    [(None, 404), (Role.AGENT, 200), (Role.TEAM_LEAD, 200), (Role.MANAGER, 200)],
)
def test_only_staff_open_the_queue(client, role, status):
    sign_in(client, make_user(role=role))
    assert client.get(reverse("staff:queue")).status_code == status


def test_a_visitor_is_sent_to_sign_in(client):
    response = client.get(reverse("staff:queue"))
    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]


def test_an_unknown_tab_is_not_found(client, agent):
    sign_in(client, agent)
    assert client.get(reverse("staff:queue_tab", args=["everything"])).status_code == 404


def test_each_tab_holds_its_own_cases(client, agent):
    teammate = make_user(role=Role.AGENT)
    stranger = make_user(role=Role.MANAGER)
    mine = assign(make_complaint(), agent)
    theirs = assign(make_complaint(), teammate)
    strangers = assign(make_complaint(), stranger)
    nobodys = make_complaint()
    closed = assign(make_complaint(), agent)
    Complaint.objects.filter(pk=closed.pk).update(status=Status.CLOSED)
    sign_in(client, agent)

    def tab(name):
        return set(references(client.get(reverse("staff:queue_tab", args=[name]))))

    assert tab("mine") == {mine.reference}
    assert set(references(client.get(reverse("staff:queue")))) == {mine.reference}
    assert tab("unassigned") == {nobodys.reference}
    assert tab("team") == {mine.reference, theirs.reference}
    assert strangers.reference not in tab("team")


def test_the_team_tab_gives_postgresql_the_teammates_themselves(client, agent):
    """As a subquery, the team made PostgreSQL guess a handful of accounts and walk all their
    cases (0.5 s at a million complaints and 241 accounts); as a list of ids it weighs them
    from its statistics and reads the first page off the queue's index (0.3 ms)."""
    teammate = make_user(role=Role.AGENT)
    make_user(role=Role.AGENT, is_active=False)
    assign(make_complaint(), teammate)
    sign_in(client, agent)
    with CaptureQueriesContext(connection) as captured:
        client.get(reverse("staff:queue_tab", args=["team"]))
    [queue] = [query["sql"] for query in captured if 'FROM "complaints_complaint"' in query["sql"]]
    assert "accounts_user_groups" not in queue
    listed = re.search(r'"assignee_id" IN \(([\d, ]+)\)', queue)
    assert listed is not None
    assert {int(pk) for pk in listed.group(1).split(",")} == {agent.pk, teammate.pk}


def test_nearest_deadline_first_with_the_badge_of_each(client, agent):
    later = make_complaint(subject="later", now=timezone.now())  # due tomorrow at the earliest
    sooner = make_complaint(subject="sooner", now=NOW - 20 * HOUR)  # first response due in 4 h
    breached = make_complaint(subject="breached", now=NOW - 30 * HOUR)
    sweeping.sweep(now=NOW)  # flags the breach (and warns the near one)
    sign_in(client, agent)
    response = client.get(reverse("staff:queue_tab", args=["unassigned"]), HTTP_ACCEPT_LANGUAGE="en")
    assert references(response) == [breached.reference, sooner.reference, later.reference]
    body = response.content.decode()
    assert "Breached" in body and "over" in body
    rows = dict(re.findall(r'<tr data-reference="([^"]+)">(.*?)</tr>', body, re.S))
    assert "On track" in rows[later.reference]
    assert "Breached" in rows[breached.reference] and "over" in rows[breached.reference]


@pytest.mark.parametrize(
    ("language", "words"),
    [
        (
            "en",
            {
                "breached": r"Breached \d+ hours?(?: \d+ minutes?)? over",
                "warning": r"Warning \d+ hours?(?: \d+ minutes?)? left",
                "on_track": r"On track \d+ (?:days?|hours?)(?: \d+ (?:hours?|minutes?))? left",
                "paused": r"Paused",
                "status": "Waiting for the complainant",
            },
        ),
        (
            "vi",
            {
                "breached": r"Quá hạn quá \d+ giờ(?: \d+ phút)?",
                "warning": r"Sắp đến hạn còn \d+ giờ(?: \d+ phút)?",
                "on_track": r"Đúng hạn còn \d+ (?:ngày|giờ)(?: \d+ (?:giờ|phút))?",
                "paused": r"Tạm dừng",
                "status": "Đang chờ người khiếu nại",
            },
        ),
    ],
)
def test_each_sla_state_reads_as_its_badge_and_its_time(client, agent, language, words):
    now = timezone.now()
    cases = {
        "breached": make_complaint(now=now - 30 * HOUR),
        "warning": make_complaint(now=now - 20 * HOUR),
        "on_track": make_complaint(now=now),
        "paused": make_complaint(now=now - 2 * HOUR),
    }
    sweeping.sweep(now=now)  # flags the breach and warns the near one
    Complaint.objects.filter(pk=cases["paused"].pk).update(status=Status.AWAITING_COMPLAINANT)
    sign_in(client, agent)
    body = client.get(reverse("staff:queue_tab", args=["unassigned"]), HTTP_ACCEPT_LANGUAGE=language)
    rows = dict(re.findall(r'<tr data-reference="([^"]+)">(.*?)</tr>', body.content.decode(), re.S))
    for state, complaint in cases.items():
        cells = [
            re.sub(r"<[^>]+>", " ", cell)
            for cell in re.findall(r"<td>(.*?)</td>", rows[complaint.reference], re.S)
        ]
        sla = " ".join(cells[6].split())
        assert re.fullmatch(words[state], sla), (state, sla)
    status = " ".join(
        re.sub(
            r"<[^>]+>", " ", re.findall(r"<td>(.*?)</td>", rows[cases["paused"].reference], re.S)[3]
        ).split()
    )
    assert status == words["status"]


def test_a_missed_or_warned_regime_deadline_shows_on_the_badge(client, agent):
    """Under the consumer law without service targets, only the regime's clock runs: a case
    whose 7 working days to accept passed is breached, over since that deadline; one warned of
    it is a warning, with the time left to it; and neither costs its row a query."""
    Category.objects.filter(slug="account").update(regime=Regime.objects.get(code="vn-consumer-2023"))
    SlaPolicy.objects.filter(category__slug="account").delete()
    forget_policies()
    now = timezone.now()
    missed = make_complaint(now=now - timedelta(days=40))
    warned = make_complaint(now=now)
    calm = make_complaint(now=now)
    sweeping.sweep(now=now)  # flags the missed one
    warn_at = Complaint.objects.get(pk=warned.pk).accept_warning_at
    transition_complaint(complaint=calm, to_status="open", by=agent, now=now)  # met
    sweeping.sweep(now=warn_at)  # warns of the other
    missed, warned = Complaint.objects.get(pk=missed.pk), Complaint.objects.get(pk=warned.pk)
    assert missed.accept_breached_at is not None and missed.first_response_due_at is None
    assert warned.accept_warned_at == warn_at and warned.accept_breached_at is None
    sign_in(client, agent)
    url = reverse("staff:queue_tab", args=["unassigned"])
    client.get(url)  # warm the per-process caches (ladder, categories)
    with CaptureQueriesContext(connection) as captured:
        body = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert len([q for q in captured if 'FROM "complaints_complaint"' in q["sql"]]) == 1
    rows = dict(re.findall(r'<tr data-reference="([^"]+)">(.*?)</tr>', body, re.S))

    def badge(complaint: Complaint) -> str:
        cells = re.findall(r"<td>(.*?)</td>", rows[complaint.reference], re.S)
        return " ".join(re.sub(r"<[^>]+>", " ", cells[6]).split())

    with translation.override("en"):
        over = " ".join(duration(now - missed.accept_breached_at).split())
        left = " ".join(duration(warned.accept_due_at - now).split())
    assert badge(missed) == f"Breached {over} over"
    assert badge(warned) == f"Warning {left} left"
    assert badge(calm) == "On track"


@pytest.mark.parametrize("pausable", [False, True])
def test_a_wait_shows_paused_unless_a_regime_deadline_it_does_not_stop_is_missed_or_near(
    client, agent, pausable
):
    """Under the consumer law, its deadline a final response: a case waiting for the
    complainant whose final response the wait does not stop is breached once that deadline
    passed and a warning once warned of it; where the regime lets the wait stop it, paused."""
    regime = Regime.objects.get(code="vn-consumer-2023")
    Category.objects.filter(slug="account").update(regime=regime)
    SlaPolicy.objects.filter(category__slug="account").delete()
    RegimeDeadline.objects.filter(regime=regime).update(kind="final_response", pausable=pausable)
    forget_policies()
    now = timezone.now()

    def waiting(filed):
        complaint = make_complaint(now=filed)
        complaint = transition_complaint(complaint=complaint, to_status="open", by=agent, now=filed + HOUR)
        return transition_complaint(
            complaint=complaint, to_status="awaiting_complainant", by=agent, now=filed + 2 * HOUR, note="?"
        )

    missed, warned = waiting(now - timedelta(days=40)), waiting(now)
    sweeping.sweep(now=now)
    sweeping.sweep(now=Complaint.objects.get(pk=warned.pk).final_response_warning_at)
    missed, warned = Complaint.objects.get(pk=missed.pk), Complaint.objects.get(pk=warned.pk)
    assert (missed.final_response_breached_at is not None) == (warned.final_response_warned_at is not None)
    sign_in(client, agent)
    body = client.get(reverse("staff:queue_tab", args=["unassigned"]), HTTP_ACCEPT_LANGUAGE="en")
    rows = dict(re.findall(r'<tr data-reference="([^"]+)">(.*?)</tr>', body.content.decode(), re.S))

    def badge(complaint: Complaint) -> str:
        cells = re.findall(r"<td>(.*?)</td>", rows[complaint.reference], re.S)
        return " ".join(re.sub(r"<[^>]+>", " ", cells[6]).split())

    if pausable:
        assert (badge(missed), badge(warned)) == ("Paused", "Paused")
    else:
        assert re.fullmatch(r"Breached \d+ days?(?: \d+ hours?)? over", badge(missed))
        assert re.fullmatch(r"Warning \d+ (?:days?|hours?)(?: \d+ (?:hours?|minutes?))? left", badge(warned))


def test_keyset_pages_cover_the_queue_once_in_order(client, agent):
    created = [make_complaint(now=NOW + i * HOUR) for i in range(PAGE_SIZE + 7)]
    for complaint in created:
        assign(complaint, agent)
    sign_in(client, agent)
    first = client.get(reverse("staff:queue"))
    page_one = references(first)
    assert len(page_one) == PAGE_SIZE
    next_link = re.search(r'href="\?([^"]+)" rel="next"', first.content.decode()).group(1)
    second = client.get(reverse("staff:queue") + "?" + next_link.replace("&amp;", "&"))
    page_two = references(second)
    assert page_one + page_two == [c.reference for c in created]
    assert 'rel="next"' not in second.content.decode()


def test_a_hand_edited_cursor_starts_over(client, agent):
    complaint = assign(make_complaint(), agent)
    sign_in(client, agent)
    for cursor in ("not-a-cursor", "%%%", Cursor((NOW,), 10**9).encode()[:-2] + "!!"):
        response = client.get(reverse("staff:queue"), {"after": cursor})
        assert response.status_code == 200
        assert references(response) == [complaint.reference]


def test_the_query_count_does_not_grow_with_the_rows(client, agent):
    assign(make_complaint(), agent)
    sign_in(client, agent)
    urls = {tab: reverse("staff:queue_tab", args=[tab]) for tab in ("mine", "team", "unassigned")}
    few = {}
    for tab, url in urls.items():
        client.get(url)  # warm the per-process caches (ladder, categories)
        with CaptureQueriesContext(connection) as captured:
            client.get(url)
        few[tab] = len(captured.captured_queries)
    for i in range(PAGE_SIZE + 3):
        assign(make_complaint(now=NOW + i * HOUR), make_user(role=Role.AGENT) if i % 2 else agent)
    for url in urls.values():  # new agents: this process reads its copies once
        client.get(url)
    for tab, url in urls.items():
        with CaptureQueriesContext(connection) as many:
            response = client.get(url)
        assert response.status_code == 200
        assert len(many.captured_queries) <= few[tab], tab
    counts = [q["sql"] for q in many.captured_queries if "COUNT(" in q["sql"].upper()]
    assert not [sql for sql in counts if "complaints_complaint" in sql]


def test_every_row_is_written_from_the_page_query_alone(client):
    """A team lead's unassigned and team tabs (claim and assign forms on each row) over rows in
    every state, incomplete and breached ones included: no row reads a field of its own."""
    lead = make_user(username="lead", role=Role.TEAM_LEAD)
    teammate = make_user(username="teammate", role=Role.TEAM_LEAD)
    sign_in(client, lead)
    make_complaint()
    urls = [reverse("staff:queue_tab", args=[tab]) for tab in ("unassigned", "team")]
    one_row = {}
    for url in urls:
        client.get(url)  # warm the per-process caches (ladder, categories)
        with CaptureQueriesContext(connection) as captured:
            client.get(url)
        one_row[url] = len(captured.captured_queries)
    for i in range(PAGE_SIZE + 3):
        complaint = make_complaint(now=NOW + i * HOUR)
        if i % 3 == 0:
            Complaint.objects.filter(pk=complaint.pk).update(
                incomplete_since=NOW, first_response_breached_at=NOW
            )
        if i % 3 == 1:
            Complaint.objects.filter(pk=complaint.pk).update(first_response_warned_at=NOW)
        if i % 2:
            assign(complaint, teammate)
    for url in urls:
        with CaptureQueriesContext(connection) as full:
            response = client.get(url)
        assert len(references(response)) >= PAGE_SIZE // 2, url
        assert len(full.captured_queries) <= one_row[url], url


def test_search_ignores_case_and_vietnamese_diacritics(client, agent):
    found = make_complaint(subject="Khiếu nại về đơn hàng Đà Nẵng", contact_email="Minh@Example.org")
    other = make_complaint(subject="Hoàn tiền chậm")
    sign_in(client, agent)
    url = reverse("staff:queue_tab", args=["unassigned"])
    assert references(client.get(url, {"q": "khieu nai"})) == [found.reference]
    assert references(client.get(url, {"q": "DA NANG"})) == [found.reference]
    assert references(client.get(url, {"q": "minh@example.org"})) == [found.reference]
    assert references(client.get(url, {"q": other.reference.lower()})) == [other.reference]
    assert references(client.get(url, {"q": "nothing like this"})) == []


def test_filters_narrow_the_queue(client, agent):
    simple = make_complaint()
    complex_ = make_complaint()
    Complaint.objects.filter(pk=complex_.pk).update(complexity="complex")
    waiting = make_complaint()
    Complaint.objects.filter(pk=waiting.pk).update(status=Status.AWAITING_COMPLAINANT)
    breached = make_complaint(now=NOW - 30 * HOUR)
    sweeping.sweep(now=NOW)
    sign_in(client, agent)
    url = reverse("staff:queue_tab", args=["unassigned"])
    assert references(client.get(url, {"complexity": "complex"})) == [complex_.reference]
    assert references(client.get(url, {"status": Status.AWAITING_COMPLAINANT})) == [waiting.reference]
    assert references(client.get(url, {"breached": "on"})) == [breached.reference]
    assert breached.reference in references(client.get(url, {"level": "1"}))
    assert simple.reference not in references(client.get(url, {"level": "1"}))
    everything = references(client.get(url, {"category": str(simple.category_id)}))
    assert {simple.reference, complex_.reference} <= set(everything)


@pytest.mark.parametrize(
    "query", [{"level": "high"}, {"status": "closed"}, {"category": "999999"}, {"q": "x" * 201}]
)
def test_a_bad_filter_is_explained_not_a_500(client, agent, query):
    sign_in(client, agent)
    response = client.get(reverse("staff:queue"), query, HTTP_ACCEPT_LANGUAGE="vi")
    assert response.status_code == 400
    assert 'class="invalid-feedback"' in response.content.decode()


def filters(client, query=None) -> dict[str, list[tuple[str, str, bool]]]:
    """The queue's filter selects: per name, each option's value, label and whether it is chosen."""
    body = client.get(reverse("staff:queue"), query or {}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    return {
        name: [
            (value, label, bool(chosen))
            for value, chosen, label in re.findall(
                r'<option value="([^"]*)"( selected)?>([^<]*)</option>', options
            )
        ]
        for name, options in re.findall(
            r'<select name="(\w+)" class="form-select[^"]*"[^>]*>(.*?)</select>', body, re.S
        )
    }


def test_the_filters_keep_what_was_chosen_in_staff_words(client, agent):
    category = Category.objects.order_by("position", "pk")[1]
    sign_in(client, agent)
    chosen = filters(client, {"category": str(category.pk), "status": Status.AWAITING_COMPLAINANT})
    assert [c for c in chosen["category"] if c[2]] == [(str(category.pk), category.name_en, True)]
    assert [c for c in chosen["status"] if c[2]] == [
        (Status.AWAITING_COMPLAINANT, "Waiting for the complainant", True)
    ]
    assert [c for c in chosen["complexity"] if c[2]] == [("", "Any", True)]
    body = client.get(reverse("staff:queue"), {"complexity": "bogus"}).content.decode()
    assert re.search(r'<select name="complexity" class="form-select is-invalid" aria-invalid="true"', body)
    assert re.search(r'<select name="category" class="form-select"[ >]', body)


def test_the_category_filter_lists_a_category_added_renamed_or_retired_since_the_last_page(client, agent):
    sign_in(client, agent)
    names = lambda: [label for _value, label, _chosen in filters(client)["category"]]  # noqa: E731
    assert "Account" in names()  # this process now keeps the categories
    Category.objects.create(slug="payments", name_vi="Thanh toán", name_en="Payments", position=99)
    assert names()[-1] == "Payments"
    renamed = Category.objects.get(name_en="Account")
    renamed.name_en = "Signing in"
    renamed.save()
    assert "Signing in" in names() and "Account" not in names()
    renamed.is_active = False  # retired: still a filter for its old cases
    renamed.save()
    assert "Signing in" in names()
    # Another process renames it: its signal changes the shared version, not this copy.
    kept = selectors._kept.kept
    Category.objects.filter(pk=renamed.pk).update(name_en="Renamed elsewhere")
    cache.set(VERSION_KEY, "changed by another process", timeout=None)
    selectors._kept.kept = kept
    assert "Renamed elsewhere" in names()


def test_an_agent_claims_from_the_queue_and_the_case_moves_to_mine(client, agent):
    complaint = make_complaint()
    sign_in(client, agent)
    unassigned = reverse("staff:queue_tab", args=["unassigned"])
    body = client.get(unassigned, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Claim" in body
    assert 'name="assignee" id="assign-' not in body  # agents claim; they do not hand out
    response = client.post(
        reverse("staff:assign", args=[complaint.reference]),
        {"assignee": "me", "version": complaint.version, "next": unassigned},
    )
    assert response.status_code == 302 and response["Location"] == unassigned
    assert references(client.get(unassigned)) == []
    assert references(client.get(reverse("staff:queue"))) == [complaint.reference]


def test_a_team_lead_assigns_from_the_queue(client):
    lead = make_user(role=Role.TEAM_LEAD)
    agent = make_user(role=Role.AGENT, first_name="Bình")
    complaint = make_complaint()
    sign_in(client, lead)
    unassigned = reverse("staff:queue_tab", args=["unassigned"])
    body = client.get(unassigned).content.decode()
    assert f'<option value="{agent.pk}">Bình</option>' in body
    client.post(
        reverse("staff:assign", args=[complaint.reference]),
        {"assignee": str(agent.pk), "version": complaint.version, "next": unassigned},
    )
    complaint.refresh_from_db()
    assert complaint.assignee == agent


def test_whom_to_assign_to_is_each_person_by_their_name_escaped_in_order():
    """The select of staff on the queues: each active staff member, by full name, else e-mail
    address, else user name (Django's get_full_name), escaped; in the order of active_staff."""
    from django.utils.html import escape

    from accounts.models import active_staff
    from staff.selectors import staff_options

    make_user(role=Role.AGENT, first_name="Lan", last_name="Nguyễn", email="lan@example.org")
    make_user(role=Role.AGENT, first_name="", last_name="Trần", email="tran@example.org")
    make_user(role=Role.TEAM_LEAD, first_name="", last_name="", email="<b>lead</b>@example.org")
    make_user(role=Role.MANAGER, username="mgr-only", first_name="", last_name="", email="")
    make_user(role=Role.AGENT, username="gone", is_active=False)
    make_user(username="complainant")
    names = [(p.pk, p.get_full_name() or p.email or p.username) for p in active_staff()]
    expected = "".join(f'<option value="{pk}">{escape(name)}</option>' for pk, name in names)
    assert staff_options() == expected
    assert "Trần</option>" in expected and "&lt;b&gt;lead&lt;/b&gt;@example.org" in expected
    assert "mgr-only" in expected and "gone" not in expected and "complainant" not in expected


def test_the_search_reads_the_trigrams_of_the_open_cases_alone(agent):
    """Only the queue searches, among its own statuses: the one trigram index holds the open
    cases alone, and the queue's query can use it (were its statuses not the index's, the
    planner could not, and would read the trigrams of every case or the whole table)."""
    from staff.selectors import queue_queryset

    make_complaint(subject="Màn hình đen")
    sql, params = queue_queryset(agent, "unassigned", {"q": "man hinh"}).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes "
            "WHERE tablename = 'complaints_complaint' AND indexdef LIKE '%gin_trgm_ops%'"
        )
        indexes = cursor.fetchall()
        # With a few rows the table, or another index (the unassigned cases'), is cheaper: the
        # question here is whether the search's index can serve the query at all. The other
        # plain indexes are dropped within the test's transaction, which rolls back.
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'complaints_complaint' "
            "AND indexdef NOT LIKE 'CREATE UNIQUE%' AND indexdef NOT LIKE '%gin_trgm_ops%'"
        )
        for (name,) in cursor.fetchall():
            cursor.execute(f'DROP INDEX "{name}"')
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "complaint_queue_search_trgm_idx" in plan
    assert [name for name, _definition in indexes] == ["complaint_queue_search_trgm_idx"]
    assert "WHERE" in indexes[0][1]


@pytest.mark.parametrize("page", ["staff:queue_unassigned", "staff:manager_queue"])
def test_the_rows_name_their_category_from_the_kept_copy_and_see_a_rename(client, page):
    """The agents' and the managers' queues name each row's category (the managers' also its
    subcategory) from this process's copy: no join, no query once warm; a rename shows at the
    next view."""
    complaint = make_complaint(subject="Không đăng nhập được")
    if page == "staff:manager_queue":
        sweeping.sweep(now=NOW + timedelta(hours=200))  # up to the managers
        sign_in(client, make_user(role=Role.MANAGER))
        url = reverse(page)
    else:
        sign_in(client, make_user(role=Role.AGENT))
        url = reverse("staff:queue_tab", args=["unassigned"])
    client.get(url)
    category = complaint.category
    category.name_en = "Signing in"
    category.save()
    client.get(url)
    with CaptureQueriesContext(connection) as captured:
        page_html = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert complaint.reference in page_html
    assert "Signing in" in page_html
    assert not [q for q in captured.captured_queries if "complaints_category" in q["sql"]]
    assert not [q for q in captured.captured_queries if "complaints_subcategory" in q["sql"]]


def test_the_team_is_kept_and_read_again_when_staff_change(client, agent):
    """The team tab's teammates come from this process's copy: no query for them once warm; a
    new teammate, a departure and a change of role show at the next view."""
    sign_in(client, agent)
    url = reverse("staff:queue_tab", args=["team"])

    def team():
        return set(references(client.get(url)))

    teammate = make_user(role=Role.AGENT)
    theirs = assign(make_complaint(), teammate)
    assert team() == {theirs.reference}
    with CaptureQueriesContext(connection) as captured:
        assert team() == {theirs.reference}
    memberships = [q["sql"] for q in captured.captured_queries if '"accounts_user"."is_active"' in q["sql"]]
    assert not [sql for sql in memberships if "accounts_user_groups" in sql]

    newcomer = make_user(role=Role.AGENT)
    newcomers = assign(make_complaint(), newcomer)
    assert team() == {theirs.reference, newcomers.reference}
    newcomer.is_active = False
    newcomer.save()
    assert team() == {theirs.reference}
    teammate.groups.clear()
    assert team() == set()
    teammate.groups.add(Group.objects.get(name=Role.AGENT))
    assert team() == {theirs.reference}


def test_whom_to_assign_to_is_kept_and_read_again_when_staff_change(client):
    """The managers' queue lists staff from this process's copy: no query for them once warm;
    a new agent, a rename and a departure show at the next view; a sign-in, a change of
    language or of password keep the copy."""
    from django.contrib.auth.models import update_last_login

    from staff import selectors as staff_selectors

    manager = make_user(role=Role.MANAGER)
    agent = make_user(role=Role.AGENT, first_name="Lan", last_name="Nguyễn")
    make_complaint()
    sweeping.sweep(now=NOW + timedelta(hours=200))  # a row, and its select of staff
    sign_in(client, manager)
    url = reverse("staff:manager_queue")
    assert "Lan Nguyễn" in client.get(url).content.decode()
    with CaptureQueriesContext(connection) as captured:
        client.get(url)
    assert not [q for q in captured.captured_queries if "UNION" in q["sql"]]  # active_staff's

    copy = staff_selectors._staff.kept
    update_last_login(None, agent)
    agent.preferred_language = "en"
    agent.save(update_fields=["preferred_language"])
    agent.set_password("another long passphrase 42")
    agent.save(update_fields=["password"])
    make_user()  # a complainant's new account
    assert staff_selectors._staff.kept is copy

    newcomer = make_user(role=Role.AGENT, first_name="Minh", last_name="Trần")
    assert "Minh Trần" in client.get(url).content.decode()
    agent.first_name = "Lan Anh"
    agent.save()
    assert "Lan Anh Nguyễn" in client.get(url).content.decode()
    newcomer.is_active = False
    newcomer.save()
    assert "Minh Trần" not in client.get(url).content.decode()
    agent.groups.clear()
    assert "Lan Anh Nguyễn" not in client.get(url).content.decode()
