"""Replies are addressed (issue 13): every notice about a case carries a Reply-To whose token
is bound to the case and the recipient, stored hashed, revocable; a Message-ID kept on the
notice; and References/In-Reply-To naming the case's thread root.

PostgreSQL throughout; the headers on the wire are read from a real SMTP server (`smtp_sink`).
"""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape

from accounts.models import Role
from complaints import records
from complaints.models import Notification, ReplyToken, hash_token
from complaints.notifications import deliver_outbox
from complaints.replies import (
    case_root_id,
    issue_reply_tokens,
    notice_for_message_ids,
    redeem_reply_token,
    reference_in_root_id,
    reply_address,
    revoke_reply_tokens,
    token_in_address,
)
from tests.factories import NOW, make_complaint, make_user, sign_in

pytestmark = pytest.mark.django_db

REPLY_TO = re.compile(r"support\+([a-z2-7]{32})@example\.org")


@pytest.fixture(autouse=True)
def inbound(settings):
    settings.INBOUND_EMAIL_ADDRESS = "support@example.org"
    settings.DEFAULT_FROM_EMAIL = "Complaint portal <no-reply@portal.example.net>"


def token_of(message) -> str:
    (address,) = message.reply_to
    match = REPLY_TO.fullmatch(address)
    assert match, address
    return match.group(1)


def header(message, name: str) -> str:
    """A header as the message puts it on the wire."""
    return message.message()[name]


def a_case_with_an_agent(**complaint):
    """A complaint (its acknowledgement queued) and a staff alert about it to an agent."""
    complaint = make_complaint(**complaint)
    agent = make_user(username="agent", role=Role.AGENT, preferred_language="en")
    records.notify_staff(complaint, [agent], kind="reminder", now=NOW)
    return complaint, agent


def by_recipient(messages) -> dict[str, object]:
    return {message.to[0]: message for message in messages}


# --- The reply address ------------------------------------------------------------------------


def test_every_notice_about_a_case_has_a_reply_address_with_a_token_of_its_own():
    complaint, _agent = a_case_with_an_agent()
    records.tell_complainant(complaint, kind="reply", now=NOW, note="Xin gửi ảnh chụp màn hình.")
    deliver_outbox(now=NOW)
    assert len(mail.outbox) == 3
    tokens = [token_of(message) for message in mail.outbox]  # lowercase base 32, 160 bits
    assert len(set(tokens)) == 3  # one per notice, even two to the same person
    for message, token in zip(mail.outbox, tokens, strict=True):
        assert header(message, "Reply-To") == f"support+{token}@example.org"
        assert token not in message.body  # the address is the only place it goes


def test_the_token_is_stored_hashed_only_and_redeems_to_the_case_and_the_recipient():
    complaint, agent = a_case_with_an_agent(contact_email="Lan.Nguyen@example.org")
    deliver_outbox(now=NOW)
    sent = by_recipient(mail.outbox)
    to_complainant, to_agent = token_of(sent["Lan.Nguyen@example.org"]), token_of(sent[agent.email])

    stored = set(ReplyToken.objects.values_list("token_hash", flat=True))
    assert stored == {hash_token(to_complainant), hash_token(to_agent)}
    for row in ReplyToken.objects.values():
        assert to_complainant not in str(row) and to_agent not in str(row)
    assert to_complainant not in str(list(Notification.objects.values()))

    complainants = redeem_reply_token(to_complainant)
    assert (complainants.complaint, complainants.recipient, complainants.email) == (
        complaint,
        None,
        "Lan.Nguyen@example.org",
    )
    agents = redeem_reply_token(to_agent)
    assert (agents.complaint, agents.recipient, agents.email) == (complaint, agent, agent.email)
    # A mail system that changed the address's case changes nothing.
    assert redeem_reply_token(to_agent.upper()) == agents


def test_an_unknown_or_malformed_token_redeems_nothing():
    make_complaint()
    deliver_outbox(now=NOW)
    token = token_of(mail.outbox[0])
    other = token[:-1] + ("a" if token[-1] != "a" else "b")
    for attempt in (other, token[:-1], token + "a", "", "0" * 32, token.replace(token[0], "+", 1)):
        assert redeem_reply_token(attempt) is None, attempt


def test_a_revoked_token_no_longer_redeems_and_revoking_is_per_case_and_address():
    complaint, agent = a_case_with_an_agent()
    other_case = make_complaint(contact_email="minh@example.org")
    deliver_outbox(now=NOW)
    sent = by_recipient(mail.outbox)
    lan, agents, minh = (token_of(sent[a]) for a in ("lan@example.org", agent.email, "minh@example.org"))

    assert revoke_reply_tokens(complaint_id=complaint.pk, email="LAN@example.org", now=NOW) == 1
    assert redeem_reply_token(lan) is None
    assert redeem_reply_token(agents) is not None  # the agent's on the same case stands
    assert ReplyToken.objects.get(token_hash=hash_token(lan)).revoked_at == NOW

    assert revoke_reply_tokens(complaint_id=complaint.pk, now=NOW) == 1  # all that were left
    assert redeem_reply_token(agents) is None
    assert redeem_reply_token(minh).complaint == other_case  # another case's stands


def test_tokens_are_minted_per_notice_and_recipient_in_one_insert():
    complaint, agent = a_case_with_an_agent()
    pairs = [(complaint.pk, None, "lan@example.org"), (complaint.pk, agent.pk, agent.email)] * 2
    with CaptureQueriesContext(connection) as queries:
        tokens = issue_reply_tokens(pairs=pairs, now=NOW)
    assert len(queries) == 1
    assert len(set(tokens)) == 4
    assert all(re.fullmatch(r"[a-z2-7]{32}", token) for token in tokens)
    assert [(t.complaint_id, t.recipient_id, t.email) for t in map(redeem_reply_token, tokens)] == pairs


def test_the_token_is_read_from_the_reply_address_in_any_case_and_only_from_ours():
    token = "abcdefghijklmnopqrstuvwxyz234567"
    assert reply_address(token) == f"support+{token}@example.org"
    assert token_in_address(f"support+{token}@example.org") == token
    assert token_in_address(f"SUPPORT+{token.upper()}@Example.ORG") == token
    assert token_in_address(f'"Cổng khiếu nại" <support+{token}@example.org>') == token
    assert token_in_address(f"support+{token}@EXAMPLE.org.") is None  # not quite the same domain
    for address in (
        f"help+{token}@example.org",  # another mailbox
        f"support+{token}@example.net",  # another domain
        f"support+{token}@mail.example.org",
        "support@example.org",  # no token
        "support+@example.org",
        "",
    ):
        assert token_in_address(address) is None, address


# --- Threading -----------------------------------------------------------------------------


def test_the_message_id_sent_is_the_one_stored_on_the_notice(settings, smtp_sink):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = smtp_sink.host, smtp_sink.port, False
    complaint, _agent = a_case_with_an_agent()
    assert deliver_outbox(now=NOW).sent == 2
    received = {message["X-Rcpt-To"]: message for message in smtp_sink.messages}
    for notice in Notification.objects.all():
        message = received[notice.email]
        assert re.fullmatch(r"<[0-9a-f]{32}@example\.org>", notice.message_id)
        assert message["Message-ID"] == notice.message_id
        assert REPLY_TO.fullmatch(message["Reply-To"])
        root = f"<case-{complaint.reference}@example.org>"
        assert message["References"] == message["In-Reply-To"] == root
    assert len(set(Notification.objects.values_list("message_id", flat=True))) == 2


def test_every_notice_of_a_case_names_the_same_thread_root_and_another_case_another():
    complaint, agent = a_case_with_an_agent()
    records.tell_complainant(complaint, kind="reply", now=NOW, note="Đã kiểm tra.")
    other = make_complaint(contact_email="minh@example.org")
    deliver_outbox(now=NOW)
    roots = {(m.to[0], header(m, "References"), header(m, "In-Reply-To")) for m in mail.outbox}
    root = case_root_id(complaint.reference)
    assert roots == {
        ("lan@example.org", root, root),
        (agent.email, root, root),
        ("minh@example.org", case_root_id(other.reference), case_root_id(other.reference)),
    }
    assert reference_in_root_id(root) == complaint.reference
    assert reference_in_root_id(root.strip("<>")) == complaint.reference
    assert reference_in_root_id("<1234@example.org>") is None
    # Each message its own id, all different from the root.
    ids = [header(m, "Message-ID") for m in mail.outbox]
    assert len(set(ids)) == 4 and root not in ids


def test_a_replys_message_ids_find_the_newest_notice_they_name():
    complaint, agent = a_case_with_an_agent()
    deliver_outbox(now=NOW)
    acknowledgement = Notification.objects.get(recipient=None)
    alert = Notification.objects.get(recipient=agent)
    assert notice_for_message_ids([acknowledgement.message_id]) == acknowledgement
    found = notice_for_message_ids([alert.message_id.strip("<>")])  # without the angle brackets
    assert found == alert and found.complaint == complaint
    assert notice_for_message_ids(["<nobody@example.org>", f" {alert.message_id} "]) == alert
    later = records.notify_staff(complaint, [agent], kind="assigned", now=NOW)
    assert later == 1
    newest = Notification.objects.latest("pk")
    assert notice_for_message_ids([alert.message_id, newest.message_id]) == newest
    assert notice_for_message_ids(["<nobody@example.org>", case_root_id(complaint.reference)]) is None
    assert notice_for_message_ids([]) is None
    assert notice_for_message_ids(["", "<>"]) is None


# --- Without an inbound address --------------------------------------------------------------


def test_without_an_inbound_address_there_is_no_reply_address_and_no_token(settings):
    settings.INBOUND_EMAIL_ADDRESS = ""
    complaint, _agent = a_case_with_an_agent()
    deliver_outbox(now=NOW)
    assert len(mail.outbox) == 2
    for message in mail.outbox:
        assert message.reply_to == []
        assert header(message, "Reply-To") is None
        # Still threaded, under the sender's domain.
        assert header(message, "References") == f"<case-{complaint.reference}@portal.example.net>"
        assert header(message, "Message-ID").endswith("@portal.example.net>")
    assert not ReplyToken.objects.exists()


# --- What the e-mails say -------------------------------------------------------------------

FOOTERS = {
    ("complainant", "en", True): (
        "You can answer by replying to this e-mail: your answer and its attachments are added to "
        "your complaint."
    ),
    ("complainant", "vi", True): (
        "Bạn có thể trả lời bằng cách phản hồi e-mail này: nội dung trả lời và các tệp đính kèm "
        "của bạn sẽ được thêm vào khiếu nại."
    ),
    ("staff", "en", True): (
        "You can answer by replying to this e-mail: your reply is posted on the case as a public "
        "reply, which the complainant sees."
    ),
    ("staff", "vi", True): (
        "Bạn có thể trả lời bằng cách phản hồi e-mail này: nội dung của bạn sẽ được đăng vào hồ sơ "
        "dưới dạng trả lời công khai mà người khiếu nại nhìn thấy."
    ),
    ("complainant", "en", False): "To write to us, use your complaint's page.",
    ("complainant", "vi", False): "Để liên hệ với chúng tôi, vui lòng dùng trang khiếu nại của bạn.",
    ("staff", "en", False): "To answer, open the case in the portal.",
    ("staff", "vi", False): "Để trả lời, hãy mở hồ sơ trên cổng khiếu nại.",
}


@pytest.mark.parametrize("replies", [True, False], ids=["inbound address", "none"])
@pytest.mark.parametrize("language", ["vi", "en"])
def test_every_email_ends_saying_how_to_answer_in_the_recipients_language(settings, language, replies):
    if not replies:
        settings.INBOUND_EMAIL_ADDRESS = ""
    complaint = make_complaint(language=language)  # the acknowledgement
    agent = make_user(username="agent", role=Role.AGENT, preferred_language=language)
    records.notify_staff(complaint, [agent], kind="reminder", now=NOW)
    records.tell_complainant(complaint, kind="reply", now=NOW, note="…")
    records.notify_complainant(complaint, template="tracking_link", now=NOW, with_tracking_link=True)
    deliver_outbox(now=NOW)
    assert len(mail.outbox) == 4
    for message in mail.outbox:
        who = "staff" if message.to == [agent.email] else "complainant"
        sentence = FOOTERS[who, language, replies]
        html = message.alternatives[0][0]
        assert sentence in message.body
        assert escape(sentence) in html
        # The sentence for the other kind of recipient, or the other setting, is not there.
        others = {text for key, text in FOOTERS.items() if key != (who, language, replies)}
        assert not any(text in message.body or escape(text) in html for text in others)
        for wording in ("do not reply", "không trả lời"):
            assert wording not in message.body.lower() and wording not in html.lower()


def test_a_request_for_information_says_the_complainant_can_answer_by_replying(settings):
    complaint = make_complaint(language="en")
    records.tell_complainant(complaint, kind="awaiting_complainant", now=NOW)
    deliver_outbox(now=NOW)
    request = mail.outbox[-1]
    assert "Please answer by replying to this e-mail or on your complaint's page" in request.body
    settings.INBOUND_EMAIL_ADDRESS = ""
    records.tell_complainant(complaint, kind="awaiting_complainant", now=NOW)
    deliver_outbox(now=NOW)
    assert "Please answer on your complaint's page;" in mail.outbox[-1].body


# --- Cost -----------------------------------------------------------------------------------


def queue_notices(count: int) -> None:
    """`count` complaints' acknowledgements (each mints a tracking link) and as many staff alerts."""
    lead = make_user(role=Role.TEAM_LEAD, preferred_language="en")
    for n in range(count):
        complaint = make_complaint(contact_email=f"guest{n}@example.org")
        records.notify_staff(complaint, [lead], kind="escalated", now=NOW)


def statements_of_a_delivery(count: int) -> list[str]:
    Notification.objects.all().delete()
    queue_notices(count)
    with CaptureQueriesContext(connection) as queries:
        assert deliver_outbox(now=NOW).sent == 2 * count
    return [query["sql"].split()[0] for query in queries]


def test_a_batch_costs_the_same_statements_whatever_its_size():
    two = statements_of_a_delivery(1)
    twenty = statements_of_a_delivery(10)
    assert twenty == two
    # Claim, tracking links, reply tokens, mark sent (and the savepoints of the test's transaction).
    assert two.count("INSERT") == 2 and two.count("UPDATE") == 1 and two.count("SELECT") == 1
    assert ReplyToken.objects.count() == 22


def test_a_reply_address_on_an_international_domain_is_recognised_in_either_spelling(settings):
    settings.INBOUND_EMAIL_ADDRESS = "hotro@khiếu-nại.vn"
    token = "abcdefghijklmnopqrstuvwxyz234567"
    ascii_domain = "khiếu-nại.vn".encode("idna").decode()
    assert token_in_address(f"hotro+{token}@{ascii_domain}") == token
    assert token_in_address(f"hotro+{token}@KHIẾU-NẠI.vn") == token
    complaint = make_complaint()
    deliver_outbox(now=NOW)
    assert header(mail.outbox[0], "Reply-To").endswith(f"@{ascii_domain}")  # as it is sent
    assert header(mail.outbox[0], "Message-ID").endswith(f"@{ascii_domain}>")
    assert case_root_id(complaint.reference) == f"<case-{complaint.reference}@{ascii_domain}>"


def test_an_administrator_revokes_reply_addresses_from_the_admin(client):
    complaint = make_complaint()
    pairs = [(complaint.pk, None, complaint.contact_email), (complaint.pk, None, "old@example.org")]
    kept, revoked = issue_reply_tokens(pairs=pairs, now=NOW)
    sign_in(client, make_user(username="root", is_staff=True, is_superuser=True))
    target = ReplyToken.objects.get(email="old@example.org")
    response = client.post(
        reverse("admin:complaints_replytoken_changelist"),
        {"action": "revoke", "_selected_action": [target.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert redeem_reply_token(revoked) is None
    assert redeem_reply_token(kept) is not None
