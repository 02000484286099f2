"""The staff workspace on the case page: each action, who may do it, stale and invalid forms."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import Role
from complaints import refusals, services
from complaints.models import CannedReply, Complaint, EventKind, Notification, Status, Subcategory
from escalation import moves
from escalation.models import Escalation, Reason
from tests.factories import NOW, found, found_form, make_complaint, make_user, sign_in

pytestmark = pytest.mark.django_db

STALE = "This case changed while you were editing. Look at it again, then retry."


def filed_now(**overrides):
    """A complaint filed just now: the pages act at the real time, and a case filed at NOW
    (months ago) would first have its missed deadlines settled (escalation.clock.settle)."""
    return make_complaint(now=timezone.now(), **overrides)


@pytest.fixture
def staff():
    return {
        "agent": make_user(username="agent", role=Role.AGENT, first_name="An"),
        "agent2": make_user(username="agent2", role=Role.AGENT, first_name="Bình"),
        "lead": make_user(username="lead", role=Role.TEAM_LEAD),
        "manager": make_user(username="manager", role=Role.MANAGER),
    }


@pytest.fixture
def en():
    with translation.override("en"):
        yield


def fresh(complaint: Complaint) -> Complaint:
    return Complaint.objects.get(pk=complaint.pk)


def url(name: str, complaint: Complaint) -> str:
    return reverse(f"staff:{name}", args=[complaint.reference])


def case_url(complaint: Complaint) -> str:
    return reverse("staff:case", args=[complaint.reference])


def complainant_url(complaint: Complaint) -> str:
    return reverse("complaints:detail", args=[complaint.reference])


def post_as(client, user, name: str, complaint: Complaint, **data):
    sign_in(client, user)
    return client.post(url(name, complaint), data, HTTP_ACCEPT_LANGUAGE="en")


def notices(complaint: Complaint, template: str) -> list[Notification]:
    return list(Notification.objects.filter(complaint=complaint, template=template))


# --- Each action's effect ------------------------------------------------------------------------


def test_a_public_reply_answers_the_complainant_and_satisfies_the_first_response(client, staff):
    complaint = filed_now(language="en")
    response = post_as(
        client, staff["agent"], "reply", complaint, body="We are on it.", version=complaint.version
    )
    assert response.status_code == 302
    assert response["Location"] == case_url(complaint)
    complaint = fresh(complaint)
    assert complaint.first_responded_at is not None
    assert complaint.status == Status.OPEN  # a new case is triaged by the first reply
    reply = complaint.events.get(kind=EventKind.REPLY)
    assert (reply.public, reply.body, reply.actor) == (True, "We are on it.", staff["agent"])
    [notice] = notices(complaint, "case_update")
    assert (notice.language, notice.email, notice.context["note"]) == (
        "en",
        "lan@example.org",
        "We are on it.",
    )


def test_an_internal_note_is_staff_only_and_notifies_nobody(client, staff):
    complaint = make_complaint()
    before = Notification.objects.count()
    response = post_as(client, staff["agent"], "note", complaint, body="Gọi lại sau 15h.")
    assert response.status_code == 302
    note = fresh(complaint).events.get(kind=EventKind.INTERNAL_NOTE)
    assert (note.public, note.body) == (False, "Gọi lại sau 15h.")
    assert Notification.objects.count() == before
    assert fresh(complaint).version == complaint.version  # a colleague's open form stays valid
    client.logout()
    owner_page = client.get(complainant_url(complaint))  # the guest cookie is gone: 404, never the note
    assert "Gọi lại sau 15h." not in owner_page.content.decode()


def test_the_complainant_never_sees_an_internal_note(client, staff):
    owner = make_user()
    complaint = make_complaint(by=owner)
    services.add_internal_note(complaint=complaint, body="Khách khó tính.", by=staff["agent"], now=NOW)
    sign_in(client, owner)
    page = client.get(complainant_url(complaint)).content.decode()
    assert "Khách khó tính." not in page
    assert 'data-testid="staff-actions"' not in page


def test_requesting_information_pauses_the_clock_and_tells_the_complainant(client, staff):
    complaint = filed_now()
    response = post_as(
        client,
        staff["agent"],
        "request_info",
        complaint,
        body="Gửi ảnh chụp màn hình lỗi.",
        version=complaint.version,
    )
    assert response.status_code == 302
    complaint = fresh(complaint)
    assert complaint.status == Status.AWAITING_COMPLAINANT
    assert complaint.clock_paused_at is not None
    assert complaint.next_check_at is None
    event = complaint.events.get(kind=EventKind.INFO_REQUESTED)
    assert (event.public, event.body) == (True, "Gửi ảnh chụp màn hình lỗi.")
    [notice] = notices(complaint, "case_update")
    assert notice.context["kind"] == Status.AWAITING_COMPLAINANT
    assert notice.language == "vi"


def test_reclassifying_recomputes_the_deadlines(client, staff):
    complaint = filed_now()
    assert complaint.resolution_due_at == complaint.clock_started_at + timedelta(days=3)
    sub = Subcategory.objects.get(slug="not-received")
    response = post_as(
        client,
        staff["agent"],
        "reclassify",
        complaint,
        subcategory=sub.pk,
        complexity="complex",
        version=complaint.version,
    )
    assert response.status_code == 302
    complaint = fresh(complaint)
    assert (complaint.subcategory, complaint.complexity) == (sub, "complex")
    assert complaint.resolution_due_at == complaint.clock_started_at + timedelta(days=10)
    assert complaint.events.filter(kind=EventKind.TRIAGED, public=False).exists()


def test_resolving_stores_the_summary_and_tells_the_complainant(client, staff):
    complaint = filed_now()
    response = post_as(
        client,
        staff["agent"],
        "resolve",
        complaint,
        summary="Đã mở khoá tài khoản.",
        version=1,
        **found_form(complaint),
    )
    assert response.status_code == 302
    complaint = fresh(complaint)
    assert complaint.status == Status.RESOLVED
    assert complaint.resolution_summary == "Đã mở khoá tài khoản."
    assert complaint.resolved_at is not None
    assert [n.context["kind"] for n in notices(complaint, "case_update")] == [Status.RESOLVED]


def test_resolving_needs_a_summary_and_nothing_is_saved_without_one(client, staff, en):
    complaint = make_complaint()
    response = post_as(client, staff["agent"], "resolve", complaint, summary="  ", version=1)
    assert response.status_code == 400
    assert "Summarise the resolution." in response.content.decode()
    assert fresh(complaint).status == Status.NEW
    assert fresh(complaint).version == complaint.version


def test_a_refused_transition_is_a_message_not_a_500(client, staff, en):
    complaint = make_complaint()
    services.request_information(
        complaint=complaint, body="Cần thêm ảnh.", by=staff["agent"], now=NOW, version=1
    )
    complaint = fresh(complaint)
    response = post_as(
        client,
        staff["agent"],
        "resolve",
        complaint,
        summary="Xong.",
        version=complaint.version,
        **found_form(complaint),
    )
    assert response.status_code == 302
    page = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "cannot become" in page
    assert fresh(complaint).status == Status.AWAITING_COMPLAINANT


# --- Canned replies ------------------------------------------------------------------------------


def test_a_canned_reply_without_javascript_sends_its_text_in_the_complaints_language(client, staff):
    canned = CannedReply.objects.create(
        title_vi="Đã nhận", title_en="Ack", body_vi="Chúng tôi đã nhận.", body_en="We got it."
    )
    complaint = make_complaint(language="vi")
    response = post_as(
        client, staff["agent"], "reply", complaint, canned=canned.pk, body="", version=complaint.version
    )
    assert response.status_code == 302
    assert fresh(complaint).events.get(kind=EventKind.REPLY).body == "Chúng tôi đã nhận."


def test_what_staff_typed_wins_over_the_canned_reply(client, staff):
    canned = CannedReply.objects.create(
        title_vi="Đã nhận", title_en="Ack", body_vi="Chúng tôi đã nhận.", body_en="We got it."
    )
    complaint = make_complaint()
    post_as(client, staff["agent"], "reply", complaint, canned=canned.pk, body="Đã sửa.", version=1)
    assert fresh(complaint).events.get(kind=EventKind.REPLY).body == "Đã sửa."


def test_the_reply_form_offers_active_canned_replies_with_their_text_for_the_script(client, staff):
    CannedReply.objects.create(
        title_vi="Đã nhận", title_en="Ack", body_vi="Chúng tôi đã nhận.", body_en="We got it."
    )
    CannedReply.objects.create(title_vi="Cũ", title_en="Old", body_vi="Cũ", body_en="Old", active=False)
    complaint = make_complaint(language="en")
    sign_in(client, staff["agent"])
    page = client.get(case_url(complaint)).content.decode()
    assert 'data-canned-text="We got it."' in page
    assert ">Old<" not in page and ">Cũ<" not in page
    assert "js/canned.js" in page
    assert "<script>" not in page and " style=" not in page  # the CSP allows neither


def test_an_empty_reply_is_refused_with_nothing_saved(client, staff, en):
    complaint = make_complaint()
    response = post_as(client, staff["agent"], "reply", complaint, body="", version=1)
    assert response.status_code == 400
    assert "Write a message or choose a prepared reply." in response.content.decode()
    assert not fresh(complaint).events.filter(kind=EventKind.REPLY).exists()
    assert fresh(complaint).first_responded_at is None


def test_a_reply_over_10000_characters_is_refused(client, staff):
    complaint = make_complaint()
    response = post_as(client, staff["agent"], "reply", complaint, body="x" * 10_001, version=1)
    assert response.status_code == 400
    assert not fresh(complaint).events.filter(kind=EventKind.REPLY).exists()


# --- Assignment ----------------------------------------------------------------------------------


def test_an_agent_claims_an_unassigned_case(client, staff):
    complaint = make_complaint()
    response = post_as(client, staff["agent"], "assign", complaint, assignee="me", version=1)
    assert response.status_code == 302
    complaint = fresh(complaint)
    assert complaint.assignee == staff["agent"]
    event = complaint.events.get(kind=EventKind.ASSIGNED)
    assert (event.public, event.payload) == (False, {"from": None, "to": staff["agent"].pk})
    assert not notices(complaint, "staff_alert")  # nobody tells themselves
    page = client.get(case_url(complaint), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "An took the case." in page
    page = client.get(case_url(complaint), HTTP_ACCEPT_LANGUAGE="vi").content.decode()
    assert "An đã nhận hồ sơ." in page


def test_a_lead_assigns_to_an_agent_who_is_notified(client, staff):
    complaint = make_complaint()
    response = post_as(client, staff["lead"], "assign", complaint, assignee=staff["agent"].pk, version=1)
    assert response.status_code == 302
    complaint = fresh(complaint)
    assert complaint.assignee == staff["agent"]
    [notice] = notices(complaint, "staff_alert")
    assert (notice.recipient, notice.context) == (staff["agent"], {"kind": "assigned"})


def test_a_manager_reassigns_and_the_event_keeps_both_people(client, staff):
    complaint = make_complaint()
    services.assign_complaint(
        complaint=complaint, assignee=staff["agent"], by=staff["agent"], now=NOW, version=1
    )
    complaint = fresh(complaint)
    response = post_as(
        client, staff["manager"], "assign", complaint, assignee=staff["agent2"].pk, version=complaint.version
    )
    assert response.status_code == 302
    assert fresh(complaint).assignee == staff["agent2"]
    assert fresh(complaint).events.filter(kind=EventKind.ASSIGNED).last().payload == {
        "from": staff["agent"].pk,
        "to": staff["agent2"].pk,
    }


def test_an_agent_cannot_assign_to_someone_else(client, staff, en):
    complaint = make_complaint()
    response = post_as(client, staff["agent"], "assign", complaint, assignee=staff["agent2"].pk, version=1)
    assert response.status_code == 302
    assert fresh(complaint).assignee is None
    page = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Only a team lead or a manager can give a case to someone else." in page


def test_an_agent_cannot_claim_a_case_someone_else_holds(client, staff):
    complaint = make_complaint()
    services.assign_complaint(
        complaint=complaint, assignee=staff["agent2"], by=staff["lead"], now=NOW, version=1
    )
    complaint = fresh(complaint)
    post_as(client, staff["agent"], "assign", complaint, assignee="me", version=complaint.version)
    assert fresh(complaint).assignee == staff["agent2"]


def test_assigning_to_the_same_person_again_is_refused_politely(client, staff, en):
    complaint = make_complaint()
    services.assign_complaint(
        complaint=complaint, assignee=staff["agent"], by=staff["lead"], now=NOW, version=1
    )
    complaint = fresh(complaint)
    response = post_as(
        client, staff["lead"], "assign", complaint, assignee=staff["agent"].pk, version=complaint.version
    )
    assert response.status_code == 302
    page = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "This case is already assigned to An." in page
    assert fresh(complaint).events.filter(kind=EventKind.ASSIGNED).count() == 1


@pytest.mark.parametrize("who", ["complainant", "inactive"])
def test_a_case_only_goes_to_active_staff(client, staff, who):
    person = make_user() if who == "complainant" else make_user(role=Role.AGENT, is_active=False)
    complaint = make_complaint()
    with pytest.raises(refusals.AssignmentRefused):
        services.assign_complaint(complaint=complaint, assignee=person, by=staff["lead"], now=NOW, version=1)
    response = post_as(client, staff["lead"], "assign", complaint, assignee=person.pk, version=1)
    assert response.status_code == 302
    assert fresh(complaint).assignee is None


def test_an_unknown_assignee_is_invalid_input(client, staff):
    complaint = make_complaint()
    response = post_as(client, staff["lead"], "assign", complaint, assignee="999999", version=1)
    assert response.status_code == 400
    assert fresh(complaint).assignee is None


# --- Escalation ----------------------------------------------------------------------------------


def test_staff_escalate_with_a_reason(client, staff):
    complaint = filed_now()
    response = post_as(client, staff["agent"], "escalate", complaint, reason="Khách VIP.", version=1)
    assert response.status_code == 302
    assert fresh(complaint).escalation_level == 1
    escalation = Escalation.objects.get(complaint=complaint)
    assert (escalation.reason, escalation.note, escalation.by) == (
        Reason.MANUAL,
        "Khách VIP.",
        staff["agent"],
    )


def test_escalating_without_a_reason_is_invalid_input(client, staff):
    complaint = make_complaint()
    response = post_as(client, staff["agent"], "escalate", complaint, reason="", version=1)
    assert response.status_code == 400
    assert fresh(complaint).escalation_level == 0


def test_a_manager_de_escalates_with_a_reason(client, staff):
    complaint = filed_now()
    moves.escalate_manually(complaint=complaint, by=staff["agent"], now=timezone.now(), reason="x", version=1)
    complaint = fresh(complaint)
    response = post_as(
        client, staff["manager"], "de_escalate", complaint, reason="Đã ổn.", version=complaint.version
    )
    assert response.status_code == 302
    assert fresh(complaint).escalation_level == 0
    assert fresh(complaint).events.last().kind == EventKind.DE_ESCALATED


@pytest.mark.parametrize("role", ["agent", "lead"])
def test_only_managers_de_escalate_anyone_else_gets_404(client, staff, role):
    complaint = make_complaint()
    moves.escalate_manually(complaint=complaint, by=staff["agent"], now=NOW, reason="x", version=1)
    complaint = fresh(complaint)
    response = post_as(client, staff[role], "de_escalate", complaint, reason="y", version=complaint.version)
    assert response.status_code == 404
    assert fresh(complaint).escalation_level == 1


def test_the_de_escalate_form_is_shown_to_managers_only(client, staff):
    complaint = make_complaint()
    moves.escalate_manually(complaint=complaint, by=staff["agent"], now=NOW, reason="x", version=1)
    sign_in(client, staff["agent"])
    assert url("de_escalate", complaint) not in client.get(case_url(complaint)).content.decode()
    sign_in(client, staff["manager"])
    assert url("de_escalate", complaint) in client.get(case_url(complaint)).content.decode()


# --- Who may act -------------------------------------------------------------------------------------


ACTIONS = ["reply", "note", "request_info", "reclassify", "assign", "escalate", "de_escalate", "resolve"]


@pytest.mark.parametrize("name", ACTIONS)
def test_anonymous_visitors_are_sent_to_sign_in(client, name):
    complaint = make_complaint()
    response = client.post(url(name, complaint), {"body": "x", "version": 1})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


@pytest.mark.parametrize("name", ACTIONS)
def test_the_complainant_gets_404_on_every_staff_action(client, name):
    owner = make_user()
    complaint = make_complaint(by=owner)
    sign_in(client, owner)
    response = client.post(
        url(name, complaint), {"body": "x", "summary": "x", "reason": "x", "assignee": "me", "version": 1}
    )
    assert response.status_code == 404
    assert fresh(complaint).version == 1
    assert fresh(complaint).events.count() == 1


def test_staff_actions_are_post_only(client, staff):
    complaint = make_complaint()
    sign_in(client, staff["agent"])
    assert client.get(url("reply", complaint)).status_code == 405


def test_an_unknown_case_is_404(client, staff):
    sign_in(client, staff["agent"])
    response = client.post(reverse("staff:note", args=["KN-0000-0000"]), {"body": "x"})
    assert response.status_code == 404


# --- Stale forms -------------------------------------------------------------------------------------


def test_a_stale_form_is_409_shows_the_new_state_and_keeps_what_was_typed(client, staff, en):
    complaint = make_complaint()
    loaded = complaint.version
    # A colleague resolves the case while this agent is still typing a reply.
    services.resolve_complaint(
        complaint=complaint,
        summary="Xong rồi.",
        by=staff["lead"],
        now=NOW,
        version=loaded,
        **found(complaint),
    )
    response = post_as(client, staff["agent"], "reply", complaint, body="Bản nháp của tôi", version=loaded)
    assert response.status_code == 409
    page = response.content.decode()
    assert STALE in page
    assert "Xong rồi." in page  # the new state: the colleague's resolution
    assert "Bản nháp của tôi" in page  # what was typed is kept
    assert f'name="version" value="{fresh(complaint).version}"' in page
    assert not fresh(complaint).events.filter(kind=EventKind.REPLY).exists()


@pytest.mark.parametrize(
    "name,data",
    [
        ("request_info", {"body": "Cần ảnh."}),
        ("reclassify", {"subcategory": "", "complexity": "complex"}),
        ("assign", {"assignee": "me"}),
        ("escalate", {"reason": "Khẩn."}),
        ("resolve", {"summary": "Xong.", "outcome": "upheld", "remedy": "apology"}),
    ],
)
def test_every_versioned_action_answers_a_stale_form_with_409_and_changes_nothing(
    client, staff, en, name, data
):
    if name == "reclassify":
        data = {**data, "subcategory": Subcategory.objects.get(slug="not-received").pk}
    complaint = make_complaint()
    if name == "resolve":
        data = {**data, **found_form(complaint)}
    loaded = complaint.version
    services.add_contact(  # the complainant adds a contact meanwhile: the case moved on
        complaint=complaint,
        data={"channel": "phone", "contacted_at": NOW, "summary": "Gọi tổng đài."},
        by=None,
        now=NOW,
    )
    before = fresh(complaint)
    response = post_as(client, staff["lead"], name, complaint, version=loaded, **data)
    assert response.status_code == 409
    assert STALE in response.content.decode()
    after = fresh(complaint)
    assert (after.version, after.status, after.assignee_id, after.escalation_level, after.complexity) == (
        before.version,
        before.status,
        before.assignee_id,
        before.escalation_level,
        before.complexity,
    )


def test_a_stale_de_escalation_is_409_too(client, staff, en):
    complaint = make_complaint()
    moves.escalate_manually(complaint=complaint, by=staff["agent"], now=NOW, reason="x", version=1)
    loaded = fresh(complaint).version
    services.add_internal_note(complaint=complaint, body="note", by=staff["agent"], now=NOW)
    services.assign_complaint(
        complaint=complaint, assignee=staff["agent"], by=staff["agent"], now=NOW, version=loaded
    )
    response = post_as(client, staff["manager"], "de_escalate", complaint, reason="y", version=loaded)
    assert response.status_code == 409
    assert STALE in response.content.decode()
    assert fresh(complaint).escalation_level == 1


def test_escalations_stale_form_is_the_same_stale_form_exception(staff):
    complaint = make_complaint()
    with pytest.raises(refusals.StaleForm):
        moves.escalate_manually(complaint=complaint, by=staff["agent"], now=NOW, reason="x", version=7)


def test_a_form_without_its_version_is_invalid_input(client, staff, en):
    complaint = make_complaint()
    response = post_as(client, staff["agent"], "resolve", complaint, summary="Xong.")
    assert response.status_code == 400
    assert "This form is incomplete. Reload the page, then retry." in response.content.decode()
    assert fresh(complaint).status == Status.NEW


# --- Where to go next --------------------------------------------------------------------------------


def test_next_sends_the_user_back_to_a_local_page(client, staff):
    complaint = make_complaint()
    queue = reverse("staff:queue")
    response = post_as(client, staff["agent"], "assign", complaint, assignee="me", version=1, next=queue)
    assert response.status_code == 302
    assert response["Location"] == queue


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "javascript:alert(1)"])
def test_next_pointing_elsewhere_is_ignored(client, staff, target):
    complaint = make_complaint()
    response = post_as(client, staff["agent"], "note", complaint, body="x", next=target)
    assert response.status_code == 302
    assert response["Location"] == case_url(complaint)


# --- The page --------------------------------------------------------------------------------------


def case_page_queries(client, complaint) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(case_url(complaint))
    assert response.status_code == 200
    return len(captured.captured_queries)


@pytest.mark.parametrize("role", ["agent", "lead", "manager"])
def test_the_staff_case_page_runs_a_constant_number_of_queries(client, staff, role):
    for n in range(3):
        CannedReply.objects.create(title_vi=f"t{n}", title_en=f"t{n}", body_vi="vi", body_en="en")
    short, long = make_complaint(), make_complaint()
    services.assign_complaint(complaint=long, assignee=staff["agent"], by=staff["lead"], now=NOW, version=1)
    short_with_one = services.assign_complaint(
        complaint=short, assignee=staff["agent2"], by=staff["lead"], now=NOW, version=1
    )
    long = fresh(long)
    for i in range(20):
        services.add_internal_note(complaint=long, body=f"n{i}", by=staff["agent"], now=NOW)
        long = services.reply_as_staff(
            complaint=long, body=f"r{i}", by=staff["agent"], now=NOW, version=long.version
        )
        long = services.assign_complaint(
            complaint=long,
            assignee=staff["agent2"] if i % 2 == 0 else staff["agent"],
            by=staff["lead"],
            now=NOW,
            version=long.version,
        )
    moves.escalate_manually(complaint=long, by=staff["agent"], now=NOW, reason="x", version=long.version)
    moves.escalate_manually(
        complaint=short_with_one, by=staff["agent"], now=NOW, reason="x", version=fresh(short).version
    )
    sign_in(client, staff[role])
    case_page_queries(client, short)  # this process reads the forms' choices once, then keeps them
    assert case_page_queries(client, short) == case_page_queries(client, long)
    # One of them: the latest move up, why it stands there; one: the device the session
    # passed the second factor with (django-otp's OTPMiddleware); one: the view's entry in
    # the access log.
    assert case_page_queries(client, long) <= 14


def test_the_staff_panel_shows_the_actions_that_apply(client, staff):
    complaint = make_complaint()
    sign_in(client, staff["agent"])
    page = client.get(case_url(complaint)).content.decode()
    for name in ("reply", "note", "request_info", "reclassify", "escalate", "resolve", "assign"):
        assert url(name, complaint) in page, name
    assert 'name="assignee" value="me"' in page  # an agent claims; no select of colleagues
    assert f'<option value="{staff["agent2"].pk}"' not in page
    sign_in(client, staff["lead"])
    page = client.get(case_url(complaint)).content.decode()
    assert f'<option value="{staff["agent2"].pk}"' in page


def test_the_reply_and_the_assignment_reach_their_readers_in_their_language(client, staff, mailoutbox):
    from django.utils import timezone

    from complaints.notifications import deliver_outbox

    complaint = make_complaint()  # filed in Vietnamese
    post_as(
        client, staff["agent"], "reply", complaint, body="Chúng tôi đang xử lý.", version=complaint.version
    )
    complaint = fresh(complaint)
    staff["agent2"].preferred_language = "en"
    staff["agent2"].save()
    post_as(
        client,
        staff["lead"],
        "assign",
        complaint,
        assignee=str(staff["agent2"].pk),
        version=complaint.version,
    )
    deliver_outbox(now=timezone.now())
    by_address = {message.to[0]: message.body for message in mailoutbox}
    assert "Bộ phận hỗ trợ đã trả lời khiếu nại của bạn:" in by_address["lan@example.org"]
    assert "Chúng tôi đang xử lý." in by_address["lan@example.org"]
    assert "A case was assigned to you." in by_address[staff["agent2"].email]


def test_the_case_pages_choices_follow_each_change_of_canned_replies_and_subcategories(client, staff):
    """The staff forms' canned replies and subcategories are kept by each process under a
    shared version: the page shows a reply added, renamed or retired, and a subcategory
    renamed, here or by another process."""
    import html

    from django.core.cache import cache

    from common.kept import VERSION_KEY
    from staff import selectors

    complaint = filed_now()
    sign_in(client, staff["agent"])

    def page() -> str:
        return html.unescape(client.get(reverse("staff:case", args=[complaint.reference])).content.decode())

    assert "Mẫu thử" not in page()  # this process now keeps the choices
    reply = CannedReply.objects.create(title_vi="Mẫu thử", title_en="Mẫu thử", body_vi="-", body_en="-")
    assert "Mẫu thử" in page()
    reply.title_vi = reply.title_en = "Mẫu đã đổi tên"
    reply.save()
    assert "Mẫu đã đổi tên" in page() and "Mẫu thử" not in page()
    reply.active = False
    reply.save()
    assert "Mẫu đã đổi tên" not in page()
    subcategory = Subcategory.objects.filter(is_active=True).first()
    subcategory.name_vi = subcategory.name_en = "Nhóm đã đổi tên"
    subcategory.save()
    assert "Nhóm đã đổi tên" in page()

    # Another process brings the reply back: its signal changes the shared version, not this copy.
    kept = selectors._choices.kept
    elsewhere = "Mẫu nơi khác"
    CannedReply.objects.filter(pk=reply.pk).update(active=True, title_vi=elsewhere, title_en=elsewhere)
    cache.set(VERSION_KEY, "changed by another process", timeout=None)
    selectors._choices.kept = kept
    assert "Mẫu nơi khác" in page()
