"""Abuse limits: sign-in per username + address and per address, intake, reminders and
"find my complaint" per address and per contact e-mail; the 429 answer; the limiter's store down.

The limits count in the real cache (Redis); the store-down tests point the cache at a
private redis-server that is stopped (tests.conftest.redis_server).
"""

from __future__ import annotations

import contextlib
import html
import re
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from accounts.models import Role
from accounts.views import KNOWN_BROWSER_COOKIE
from common import ratelimit
from common.times import duration
from complaints.models import Complaint, ComplaintEvent, EventKind, Notification
from complaints.notifications import render_notification
from complaints.tracking import issue_tracking_token
from tests.complaints.conftest import intake_post
from tests.conftest import port_open
from tests.evidence.conftest import evidence_post, png
from tests.factories import PASSWORD, make_complaint, make_user
from tests.factories import sign_in as verified_sign_in

STRANGER = "203.0.113.9"
REAL_USER = "198.51.100.7"
LOGIN = "accounts:login"


@pytest.fixture(autouse=True)
def _fresh_counters():
    """Each test starts with empty windows and leaves none behind (the cache is shared with the
    rest of the suite). A store-down test still points at its stopped server at teardown."""
    cache.clear()
    yield
    with contextlib.suppress(Exception):
        cache.clear()


@pytest.fixture
def store_down(settings, redis_server):
    """The cache (the limiter's store) points at a redis-server that is not running."""
    settings.CACHES = {
        "default": {
            "BACKEND": "common.cache.RedisCache",
            "LOCATION": redis_server.url,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    assert not port_open("127.0.0.1", redis_server.port)
    return redis_server


def expected_retry_text(response, language: str) -> str:
    """The retry sentence as the catalogue of `language` words it, for the response's wait."""
    minutes = -(-int(response["Retry-After"]) // 60)
    with translation.override(language):
        return gettext("Too many requests. Please try again in %(wait)s.") % {
            "wait": duration(timedelta(minutes=minutes))
        }


def body(response) -> str:
    return html.unescape(response.content.decode())


def sign_in(client, username: str, password: str, ip: str, **extra):
    return client.post(reverse(LOGIN), {"username": username, "password": password}, REMOTE_ADDR=ip, **extra)


# --- The client's address ------------------------------------------------------------------------


def request_from(remote: str, forwarded: str | None = None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


def test_the_client_address_is_remote_addr_unless_proxies_are_trusted(settings):
    settings.RATE_LIMIT_TRUSTED_PROXIES = 0
    assert ratelimit.client_ip(request_from("10.0.0.5", "1.2.3.4")) == "10.0.0.5"


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (1, "6.6.6.6, 1.2.3.4", "1.2.3.4"),  # the client wrote 6.6.6.6 itself: ignored
        (2, "6.6.6.6, 1.2.3.4, 10.0.0.7", "1.2.3.4"),
        (2, "1.2.3.4", "1.2.3.4"),  # fewer entries than proxies: all written by ours
        (1, "not-an-address", "10.0.0.5"),
        (1, "", "10.0.0.5"),
    ],
)
def test_the_trusted_proxies_decide_which_forwarded_address_is_the_client(
    settings, proxies, forwarded, expected
):
    settings.RATE_LIMIT_TRUSTED_PROXIES = proxies
    assert ratelimit.client_ip(request_from("10.0.0.5", forwarded)) == expected


def test_ipv6_clients_are_counted_per_64_and_mapped_ipv4_as_ipv4(settings):
    settings.RATE_LIMIT_TRUSTED_PROXIES = 0
    assert ratelimit.ip_key(request_from("2001:db8:1:2::1")) == ratelimit.ip_key(
        request_from("2001:db8:1:2:ffff::9")
    )
    assert ratelimit.ip_key(request_from("2001:db8:1:2::1")) != ratelimit.ip_key(
        request_from("2001:db8:1:3::1")
    )
    assert ratelimit.ip_key(request_from("::ffff:192.0.2.1")) == "192.0.2.1"


def test_the_retry_sentence_has_its_plural():
    with translation.override("en"):
        assert ratelimit.retry_message(ratelimit.Verdict(False, 60)).endswith("in 1\xa0minute.")
        assert ratelimit.retry_message(ratelimit.Verdict(False, 61)).endswith("in 2\xa0minutes.")


@pytest.mark.parametrize(("language", "wait"), [("en", "1\xa0hour"), ("vi", "1\xa0giờ")])
def test_the_wait_is_a_duration_like_any_other(language, wait):
    """A wait of an hour reads as the portal writes every duration (common.times), not "60 minutes"."""
    with translation.override(language):
        assert ratelimit.retry_message(ratelimit.Verdict(False, 3600)).endswith(f" {wait}.")


# --- Sign-in ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_stranger_exhausting_a_username_from_their_address_does_not_lock_out_the_real_user(
    client, settings
):
    settings.LOGIN_LIMIT_PER_USER_IP = 3
    make_user(username="lan", email="lan@example.org")
    for attempt in ("guess1", "guess2", "guess3"):
        assert sign_in(client, "lan", attempt, STRANGER).status_code == 200
    # The stranger is now refused, even with the right password, in either spelling of the name.
    for name in ("lan", " LAN ", "Lan"):
        refused = sign_in(client, name, PASSWORD, STRANGER, HTTP_ACCEPT_LANGUAGE="en")
        assert refused.status_code == 429
        assert 0 < int(refused["Retry-After"]) <= settings.LOGIN_LIMIT_WINDOW
        assert "_auth_user_id" not in client.session
    assert expected_retry_text(refused, "en") in body(refused)
    assert 'value="Lan"' in body(refused)  # the name as typed is kept

    # The real user, from their own address, signs in at once.
    response = sign_in(client, "lan", PASSWORD, REAL_USER)
    assert response.status_code == 302
    assert client.session["_auth_user_id"]


@pytest.mark.django_db
def test_five_failures_in_mixed_spellings_lock_the_account_in_every_spelling(client, settings):
    settings.LOGIN_LIMIT_PER_USER_IP = 5
    make_user(username="lan", email="Lan.Nguyen@example.org")
    make_user(username="minh", email="minh@example.org")
    # Five guesses, each spelling the same account differently: username, e-mail, other case.
    for name in ("lan", "lan.nguyen@example.org", "LAN", "LAN.NGUYEN@EXAMPLE.ORG", " Lan "):
        assert sign_in(client, name, "wrong", STRANGER).status_code == 200
    # The account is locked from that address however it is typed, even with the password.
    for name in ("lan", "Lan.Nguyen@example.org", "lAn", "LAN.NGUYEN@example.ORG"):
        assert sign_in(client, name, PASSWORD, STRANGER).status_code == 429
        assert "_auth_user_id" not in client.session
    # Another account from the same address, and the same account from its owner's, still work.
    assert sign_in(client, "minh@example.org", PASSWORD, STRANGER).status_code == 302
    client.logout()
    assert sign_in(client, "lan.nguyen@example.org", PASSWORD, REAL_USER).status_code == 302


@pytest.mark.django_db
def test_names_that_match_no_account_are_limited_per_typed_name(client, settings):
    settings.LOGIN_LIMIT_PER_USER_IP = 3
    make_user(username="lan", email="lan@example.org")
    for _ in range(3):
        assert sign_in(client, "nobody@example.org", "wrong", STRANGER).status_code == 200
    assert sign_in(client, "nobody@example.org", "wrong", STRANGER).status_code == 429
    assert sign_in(client, " NOBODY@example.org", "wrong", STRANGER).status_code == 429
    # Another unknown name, and the real account, each count on their own.
    assert sign_in(client, "someone-else", "wrong", STRANGER).status_code == 200
    assert sign_in(client, "lan", PASSWORD, STRANGER).status_code == 302


@pytest.mark.django_db
def test_successful_sign_ins_do_not_count_towards_the_limit(client, settings):
    settings.LOGIN_LIMIT_PER_USER_IP = 2
    settings.LOGIN_LIMIT_PER_IP = 2
    make_user(username="lan")
    for _ in range(4):
        assert sign_in(client, "lan", PASSWORD, REAL_USER).status_code == 302
        client.logout()
    assert sign_in(client, "lan", "wrong", REAL_USER).status_code == 200
    assert sign_in(client, "lan", PASSWORD, REAL_USER).status_code == 302


@pytest.mark.django_db
def test_spraying_many_usernames_from_one_address_is_stopped_per_address(client, settings):
    settings.LOGIN_LIMIT_PER_USER_IP = 5
    settings.LOGIN_LIMIT_PER_IP = 4
    make_user(username="lan")
    for n in range(4):
        assert sign_in(client, f"user{n}", "Password1!", STRANGER).status_code == 200
    assert sign_in(client, "lan", PASSWORD, STRANGER).status_code == 429
    assert sign_in(client, "lan", PASSWORD, REAL_USER).status_code == 302


@pytest.mark.django_db
def test_the_refused_sign_in_page_says_when_to_retry_in_vietnamese(client, settings):
    settings.LOGIN_LIMIT_PER_USER_IP = 1
    sign_in(client, "lan", "wrong", STRANGER)
    refused = sign_in(client, "lan", "wrong", STRANGER, HTTP_ACCEPT_LANGUAGE="vi")
    assert refused.status_code == 429
    assert '<html lang="vi">' in body(refused)
    assert expected_retry_text(refused, "vi") in body(refused)


# --- Intake, reminders, find my complaint ---------------------------------------------------------


def file_complaint(client, ip: str, **overrides):
    return client.post(reverse("complaints:create"), intake_post(**overrides), REMOTE_ADDR=ip)


@pytest.mark.django_db
def test_intake_is_limited_per_address_and_the_refused_form_keeps_what_was_typed(client, settings):
    settings.INTAKE_LIMIT_PER_IP = 2
    for n in range(2):
        assert file_complaint(client, STRANGER, contact_email=f"p{n}@example.org").status_code == 302
    refused = client.post(
        reverse("complaints:create"),
        intake_post(contact_email="p9@example.org", subject="Tiền bị trừ hai lần"),
        REMOTE_ADDR=STRANGER,
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    page = body(refused)
    assert expected_retry_text(refused, "en") in page
    assert 'value="Tiền bị trừ hai lần"' in page and 'value="p9@example.org"' in page
    assert Complaint.objects.count() == 2
    # Another address files at once.
    assert file_complaint(client, REAL_USER, contact_email="p9@example.org").status_code == 302


@pytest.mark.django_db
def test_intake_is_limited_per_contact_email_in_any_case_from_any_address(client, settings):
    settings.INTAKE_LIMIT_PER_EMAIL = 2
    assert file_complaint(client, "192.0.2.1", contact_email="lan@example.org").status_code == 302
    assert file_complaint(client, "192.0.2.2", contact_email="LAN@Example.org").status_code == 302
    assert file_complaint(client, "192.0.2.3", contact_email="lan@EXAMPLE.org").status_code == 429
    assert file_complaint(client, "192.0.2.3", contact_email="mai@example.org").status_code == 302


def stored_files() -> list[Path]:
    return [p for p in Path(default_storage.location).rglob("*") if p.is_file()]


@pytest.mark.django_db
def test_a_refused_intake_saves_nothing_at_all(client, settings):
    settings.INTAKE_LIMIT_PER_IP = 0
    data = intake_post()
    data.update(evidence_post([("shot.png", png())]))
    response = client.post(reverse("complaints:create"), data, REMOTE_ADDR=STRANGER)
    assert response.status_code == 429
    assert not Complaint.objects.exists()
    assert not Notification.objects.exists()
    assert not ComplaintEvent.objects.exists()
    assert stored_files() == []


def reminder(client, complaint: Complaint, ip: str, **extra):
    return client.post(reverse("complaints:remind", args=[complaint.reference]), REMOTE_ADDR=ip, **extra)


def guest_complaint(client, ip: str, **overrides) -> Complaint:
    response = file_complaint(client, ip, **overrides)
    assert response.status_code == 302
    return Complaint.objects.get(reference=response["Location"].split("/")[-3])


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "vi"])
def test_reminders_are_limited_per_address_with_the_429_page_in_the_visitors_language(
    client, settings, language
):
    settings.REMINDER_LIMIT_PER_IP = 1
    first = guest_complaint(client, STRANGER, contact_email="a@example.org")
    second = guest_complaint(client, STRANGER, contact_email="b@example.org")
    assert reminder(client, first, STRANGER).status_code == 302
    refused = reminder(client, second, STRANGER, HTTP_ACCEPT_LANGUAGE=language)
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    page = body(refused)
    assert f'<html lang="{language}">' in page
    assert expected_retry_text(refused, language) in page
    with translation.override(language):
        assert translation.gettext("Too many requests") in page
    assert reverse("complaints:detail", args=[second.reference]) in page  # the way back
    assert not second.events.filter(kind=EventKind.REMINDER).exists()
    assert reminder(client, second, REAL_USER).status_code == 302


@pytest.mark.django_db
def test_reminders_are_limited_per_contact_email_across_complaints_and_addresses(client, settings):
    settings.REMINDER_LIMIT_PER_EMAIL = 1
    first = guest_complaint(client, "192.0.2.1", contact_email="lan@example.org")
    second = guest_complaint(client, "192.0.2.1", contact_email="Lan@Example.org")
    assert reminder(client, first, "192.0.2.2").status_code == 302
    assert reminder(client, second, "192.0.2.3").status_code == 429


@pytest.mark.django_db
def test_find_my_complaint_is_limited_per_address_and_per_email(client, settings):
    settings.FIND_COMPLAINT_LIMIT = 2
    url = reverse("complaints:find")

    def find(email: str, ip: str):
        return client.post(url, {"reference": "KN-AAAA-AAAA", "email": email}, REMOTE_ADDR=ip)

    # Per address, whatever the e-mail.
    assert find("a@example.org", STRANGER).status_code == 302
    assert find("b@example.org", STRANGER).status_code == 302
    refused = find("c@example.org", STRANGER)
    assert refused.status_code == 429
    assert 'value="c@example.org"' in body(refused)
    # Per e-mail, whatever the address.
    assert find("d@example.org", "192.0.2.1").status_code == 302
    assert find("D@example.org", "192.0.2.2").status_code == 302
    assert find("d@example.org", "192.0.2.3").status_code == 429


@pytest.mark.django_db
def test_password_reset_mails_are_limited_per_address_and_per_email(client, settings, mailoutbox):
    settings.PASSWORD_RESET_LIMIT_PER_IP = 3
    settings.PASSWORD_RESET_LIMIT_PER_EMAIL = 2
    make_user(username="lan", email="lan@example.org")
    url = reverse("accounts:password_reset")

    def reset(email: str, ip: str):
        return client.post(url, {"email": email}, REMOTE_ADDR=ip, HTTP_ACCEPT_LANGUAGE="en")

    # Per e-mail, whatever the address: the inbox cannot be flooded from many addresses.
    assert reset("lan@example.org", "192.0.2.1").status_code == 302
    assert reset("LAN@example.org", "192.0.2.2").status_code == 302
    refused = reset("lan@example.org", "192.0.2.3")
    assert refused.status_code == 429
    assert expected_retry_text(refused, "en") in body(refused)
    assert 'value="lan@example.org"' in body(refused)
    assert len(mailoutbox) == 2
    # Per address, whatever the e-mail.
    for n in range(3):
        assert reset(f"nobody{n}@example.org", STRANGER).status_code == 302
    assert reset("nobody9@example.org", STRANGER).status_code == 429


# --- The limiter's store down -----------------------------------------------------------------------


@pytest.mark.django_db
def test_sign_in_fails_closed_while_the_store_is_down(client, store_down):
    make_user(username="lan")
    refused = sign_in(client, "lan", PASSWORD, REAL_USER, HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 503
    assert refused["Retry-After"] == "60"
    assert "Sign-in is unavailable right now. Please try again in a minute." in body(refused)
    assert "_auth_user_id" not in client.session
    # Back up: the same sign-in goes through.
    store_down.start()
    assert sign_in(client, "lan", PASSWORD, REAL_USER).status_code == 302
    assert client.session["_auth_user_id"]


@pytest.mark.django_db(transaction=True)
def test_intake_and_reminders_fail_open_while_the_store_is_down(client, store_down, settings):
    settings.INTAKE_LIMIT_PER_IP = settings.INTAKE_LIMIT_PER_EMAIL = 0  # would refuse everything
    settings.REMINDER_LIMIT_PER_IP = settings.REMINDER_LIMIT_PER_EMAIL = 0
    response = file_complaint(client, STRANGER, subject="Ứng dụng bị treo")
    assert response.status_code == 302
    complaint = Complaint.objects.get()
    assert complaint.subject == "Ứng dụng bị treo"
    assert complaint.events.filter(kind=EventKind.SUBMITTED).exists()
    assert Notification.objects.filter(complaint=complaint).exists()  # the acknowledgement is queued
    assert reminder(client, complaint, STRANGER).status_code == 302
    assert complaint.events.filter(kind=EventKind.REMINDER).count() == 1
    # With the store back, the same (zero) limits refuse: the outage was what let them through.
    store_down.start()
    assert file_complaint(client, REAL_USER).status_code == 429
    assert Complaint.objects.count() == 1


def test_no_limit_key_holds_an_email_address_in_clear():
    verdict = ratelimit.hit("probe", "lan@example.org", limit=5, window=60, fail_open=False)
    assert verdict.allowed
    keys = [key for key in cache._cache.get_client().keys("*") if b"rl:probe" in key]
    assert keys and not any(re.search(rb"lan|example", key) for key in keys)


# --- One account's ceiling across addresses (issue 14, point 8) ---------------------------------

PROBE_ADDRESSES = [f"192.0.2.{n}" for n in range(1, 22)]  # 21 addresses


def probe_manager(
    client, spellings=("manager", "MANAGER", "manager@example.org", " Manager ", "MANAGER@EXAMPLE.ORG")
):
    """The outside probe: 5 wrong passwords from each of 21 addresses (105), in several spellings."""
    return [
        sign_in(client, spelling, f"guess-{ip}-{n}", ip).status_code
        for ip in PROBE_ADDRESSES
        for n, spelling in enumerate(spellings)
    ]


@pytest.fixture
def ceiling(settings):
    settings.LOGIN_LIMIT_PER_USER_IP = 5
    settings.LOGIN_LIMIT_PER_IP = 50
    settings.LOGIN_LIMIT_PER_ACCOUNT = 10
    settings.LOGIN_SLOW_SECONDS = 3600  # one attempt past the ceiling for the whole test
    return settings


@pytest.mark.django_db
def test_failed_sign_ins_to_one_account_from_many_addresses_meet_its_ceiling(client, ceiling):
    make_user(username="manager", email="manager@example.org", role=Role.MANAGER)

    statuses = probe_manager(client)

    # Counted under the account, whatever the spelling: 10 checked, one more let through
    # by the slowed pace, every other one refused before its password was looked at.
    assert statuses[:11] == [200] * 11
    assert set(statuses[11:]) == {429} and len(statuses) == 105
    refused = sign_in(client, "manager", PASSWORD, "192.0.2.200", HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 429 and "_auth_user_id" not in client.session
    assert expected_retry_text(refused, "en") in body(refused)


@pytest.mark.django_db
def test_past_the_ceiling_attempts_are_slowed_not_stopped(client, ceiling):
    ceiling.LOGIN_SLOW_SECONDS = 2
    make_user(username="manager", email="manager@example.org", role=Role.MANAGER)
    probe_manager(client)
    time.sleep(2.1)  # the pace's window passes: one more attempt goes through

    assert sign_in(client, "manager", PASSWORD, "192.0.2.201").status_code == 302


@pytest.mark.django_db
def test_the_owner_on_a_browser_they_signed_in_from_is_never_slowed(client, ceiling):
    make_user(username="manager", email="manager@example.org", role=Role.MANAGER)
    owner = Client()
    assert sign_in(owner, "manager", PASSWORD, REAL_USER).status_code == 302
    owner.post(reverse("accounts:logout"))  # the real sign-out: the browser keeps its cookies
    assert "_auth_user_id" not in owner.session

    probe_manager(client)

    assert sign_in(owner, "manager", PASSWORD, REAL_USER).status_code == 302
    # A cookie made up by the prober does not pass for the owner's browser.
    client.cookies[KNOWN_BROWSER_COOKIE] = owner.cookies[KNOWN_BROWSER_COOKIE].value.replace("1", "2")
    assert sign_in(client, "manager", PASSWORD, "192.0.2.202").status_code == 429


@pytest.mark.django_db
def test_meeting_the_ceiling_alerts_the_privacy_officers_once(client, ceiling):
    manager = make_user(username="manager", email="manager@example.org", role=Role.MANAGER)
    officer = make_user(
        username="dpo", email="dpo@example.org", role=Role.PRIVACY_OFFICER, preferred_language="vi"
    )
    make_user(username="boss", email="boss@example.org", is_superuser=True)  # told only without officers

    for ip in PROBE_ADDRESSES[:2]:
        for n in range(5):
            sign_in(client, "manager", f"guess{n}", ip)
    assert not Notification.objects.filter(template="security_alert").exists()  # at the ceiling, not past

    probe_manager(client)

    (alert,) = Notification.objects.filter(template="security_alert")
    assert (alert.recipient_id, alert.email, alert.language) == (officer.pk, "dpo@example.org", "vi")
    message = render_notification(alert, now=timezone.now())
    assert message.subject == "[Bảo mật] " + (
        "Đăng nhập vào một tài khoản liên tục thất bại: có thể có người đang dò mật khẩu của tài khoản đó."
    )
    assert "Tài khoản: manager" in message.body
    assert "Hơn 10 lần đăng nhập thất bại trong 15 phút" in message.body
    assert f"/admin/accounts/user/{manager.pk}/change/" in message.body
    assert "cán bộ bảo vệ dữ liệu cá nhân" in message.body


# --- Failed look-ups of tracking links and references (issue 14, point 8) -------------------


@pytest.mark.django_db
def test_an_address_that_keeps_failing_look_ups_is_refused_even_a_good_one(client, settings):
    settings.LOOKUP_FAILURE_LIMIT = 3
    mine = make_complaint()
    token = issue_tracking_token(complaint=mine, now=timezone.now())
    other = make_complaint()

    def status(url: str, ip: str = STRANGER) -> int:
        return client.get(url, REMOTE_ADDR=ip).status_code

    # The stranger's good link works and does not count; their guesses do.
    assert status(reverse("complaints:track", args=[token])) == 302
    assert status(f"/complaints/track/{'x' * 43}/") == 404
    assert status(reverse("complaints:detail", args=[other.reference])) == 404
    assert status(reverse("complaints:detail", args=[mine.reference])) == 200
    assert status("/complaints/KN-AAAA-BBBB/") == 404  # the third failure

    refused = client.get(
        reverse("complaints:detail", args=[mine.reference]), REMOTE_ADDR=STRANGER, HTTP_ACCEPT_LANGUAGE="vi"
    )
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert "Quá nhiều yêu cầu" in body(refused)
    assert status(reverse("complaints:track", args=[token])) == 429
    # Another address is not held back by the stranger's guesses.
    assert status(reverse("complaints:track", args=[token]), REAL_USER) == 302


@pytest.mark.django_db
def test_staff_mistyping_references_are_not_counted(client, settings):
    settings.LOOKUP_FAILURE_LIMIT = 1
    verified_sign_in(client, make_user(role=Role.AGENT))
    for _ in range(3):
        assert client.get("/complaints/KN-AAAA-BBBB/submitted/", REMOTE_ADDR=STRANGER).status_code == 404
    assert cache.get(ratelimit._cache_key("lookup-failed", STRANGER, 3600, int(time.time()))[0]) is None


@pytest.mark.django_db
def test_look_ups_go_on_while_the_store_is_down(client, store_down, settings):
    settings.LOOKUP_FAILURE_LIMIT = 0  # would refuse everything
    mine = make_complaint()
    token = issue_tracking_token(complaint=mine, now=timezone.now())

    assert client.get(reverse("complaints:track", args=[token]), REMOTE_ADDR=STRANGER).status_code == 302
    store_down.start()
    assert client.get(reverse("complaints:track", args=[token]), REMOTE_ADDR=STRANGER).status_code == 429


@pytest.mark.django_db
def test_without_a_privacy_officer_the_administrators_are_alerted(client, ceiling):
    make_user(username="manager", email="manager@example.org", role=Role.MANAGER)
    admin = make_user(username="boss", email="boss@example.org", is_superuser=True, preferred_language="en")

    probe_manager(client)

    (alert,) = Notification.objects.filter(template="security_alert")
    assert alert.recipient_id == admin.pk
    subject = render_notification(alert, now=timezone.now()).subject
    assert subject.startswith("[Security] Sign-ins to one account")
