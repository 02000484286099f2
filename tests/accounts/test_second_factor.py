"""The second factor: enrolment with a first code, recovery codes shown once, the code step
after the password (throttled, revealing nothing), remembered browsers, the profile's page.

Codes are computed here by hand (RFC 6238 in tests.factories), from the secret the page
shows or the device's key: the portal's own arithmetic is not trusted to check itself.
"""

from __future__ import annotations

import html
import re
import time
from unittest import mock

import pytest
from django.conf import settings as django_settings
from django.urls import reverse
from django.utils import translation
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import second_factor
from accounts.models import Role
from accounts.second_factor import REMEMBER_COOKIE, SecondFactorRefused
from tests.config.test_environment import load_settings
from tests.factories import PASSWORD, enrol, fresh_totp_code, hotp, make_user, sign_in, totp_code

pytestmark = pytest.mark.django_db

SETUP = reverse("accounts:second_factor_setup")
VERIFY = reverse("accounts:second_factor_verify")
CODES = reverse("accounts:second_factor_codes")
QUEUE = reverse("staff:queue")
REFUSED = "That code did not work. Check the time on your phone and type the newest code."


def speak(client, language: str) -> None:
    """Choose the language as the switcher does (the cookie outranks the browser's)."""
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = language


def text(response) -> str:
    return html.unescape(response.content.decode())


def tr(language: str, msgid: str) -> str:
    with translation.override(language):
        return translation.gettext(msgid)


def password_sign_in(client, user, **extra):
    """The first step only: the real sign-in form, with the password."""
    response = client.post(
        reverse("accounts:login"), {"username": user.username, "password": PASSWORD}, **extra
    )
    assert response.status_code == 302, text(response)[:2000]
    return response


def sign_out(client) -> None:
    """The sign-out button (Client.logout() would drop every cookie, as no browser does)."""
    assert client.post(reverse("accounts:logout")).status_code == 302


def wrong(code: str) -> str:
    """Another six digits than `code`."""
    return f"{(int(code) + 1) % 1_000_000:06d}"


def forget_failures(device) -> None:
    """django-otp makes a device wait 1 s after a failure: a test that types the right code
    straight after a wrong one lifts that wait (the wait itself is tested below)."""
    device.refresh_from_db()
    device.throttle_reset()


# --- enrolment -----------------------------------------------------------------------------------


def test_a_staff_member_without_an_app_is_sent_to_set_one_up_after_the_password(client):
    agent = make_user(role=Role.AGENT)
    password_sign_in(client, agent)
    response = client.get(QUEUE)
    assert response.status_code == 302
    assert response["Location"] == f"{SETUP}?next={QUEUE}"


def test_enrolment_shows_a_local_qr_code_and_the_secret_and_confirms_with_a_first_code(client):
    agent = make_user(role=Role.AGENT, username="minh", preferred_language="en")
    password_sign_in(client, agent)
    page = client.get(f"{SETUP}?next={QUEUE}")
    assert page.status_code == 200
    assert "no-store" in page["Cache-Control"]
    body = text(page)
    # The QR code is drawn by the portal: an SVG in a data: URI, no outside address.
    qr = re.search(r'<img src="(data:image/svg\+xml[^"]+)"[^>]*alt="([^"]+)"', body)
    assert qr and qr.group(2)
    assert not re.search(r'(src|href)="(https?:)?//', body)
    secret = re.search(r'data-testid="secret">([A-Z2-7 ]+)<', body).group(1)
    device = TOTPDevice.objects.get(user=agent)
    assert qr.group(1) == second_factor.qr_code_data_uri(device)
    assert f"secret={secret.replace(' ', '')}&" in device.config_url
    assert device.config_url.startswith("otpauth://totp/Complaint%20portal%3Aminh?")
    # Reloading the page shows the same secret (nothing is confirmed yet).
    assert secret in text(client.get(SETUP))
    assert not device.confirmed
    assert QUEUE in body  # `next` is kept for after the codes

    refused = client.post(SETUP, {"code": wrong(totp_code(secret)), "next": QUEUE})
    assert refused.status_code == 200
    assert REFUSED in text(refused)
    assert client.get(QUEUE).status_code == 302  # still held
    forget_failures(device)

    confirmed = client.post(SETUP, {"code": totp_code(secret), "next": QUEUE})
    assert confirmed.status_code == 302 and confirmed["Location"] == CODES
    device.refresh_from_db()
    assert device.confirmed
    codes_page = client.get(CODES)
    codes = re.findall(r"<li[^>]*>([a-z2-7]{4}-[a-z2-7]{4})</li>", codes_page.content.decode())
    assert len(codes) == 10 == len(set(codes))
    assert "no-store" in codes_page["Cache-Control"]
    assert f'href="{QUEUE}"' in codes_page.content.decode()
    # Shown once: the page does not show them again.
    assert client.get(CODES)["Location"] == reverse("accounts:second_factor")
    assert client.get(QUEUE).status_code == 200


def test_a_new_app_replaces_the_old_one_only_once_confirmed(client):
    agent = make_user(role=Role.AGENT)
    old = enrol(agent)
    old_codes = set(StaticToken.objects.filter(device__user=agent).values_list("token", flat=True))
    sign_in(client, agent)

    client.get(SETUP)
    pending = TOTPDevice.objects.get(user=agent, confirmed=False)
    # Abandoned half-way: the old app still works.
    assert second_factor.authenticator(agent) == old
    assert client.post(SETUP, {"code": hotp(pending.bin_key, int(time.time() // 30))}).status_code == 302
    assert list(TOTPDevice.objects.filter(user=agent)) == [pending]
    new_codes = set(StaticToken.objects.filter(device__user=agent).values_list("token", flat=True))
    assert len(new_codes) == 10 and not new_codes & old_codes
    assert client.get(QUEUE).status_code == 200  # the session passed with the new app


def test_an_app_cannot_be_replaced_with_the_password_alone(client):
    """Whoever has only the password cannot swap the authenticator for their own."""
    for user in (make_user(role=Role.MANAGER), make_user()):
        enrol(user)
        password_sign_in(client, user)
        response = client.get(SETUP)
        assert response.status_code == 302 and response["Location"].startswith(VERIFY)
        assert client.post(SETUP, {"code": "123456"}).status_code == 302
        assert not TOTPDevice.objects.filter(user=user, confirmed=False).exists()
        sign_out(client)


def test_confirm_enrolment_refuses_a_wrong_code_and_counts_the_failure():
    user = make_user()
    pending = second_factor.start_enrolment(user=user)
    assert second_factor.start_enrolment(user=user) == pending
    with pytest.raises(SecondFactorRefused):
        second_factor.confirm_enrolment(user=user, code=wrong(totp_code(pending.bin_key)))
    pending.refresh_from_db()
    assert not pending.confirmed
    assert pending.throttling_failure_count == 1  # committed, though the call raised


# --- the code step -------------------------------------------------------------------------------


@pytest.fixture
def manager(client):
    user = make_user(role=Role.MANAGER, preferred_language="en")
    device = enrol(user)
    password_sign_in(client, user)
    return user, device


def test_a_staff_member_with_an_app_types_a_code_after_the_password(client, manager):
    _user, device = manager
    held = client.get(QUEUE)
    assert held["Location"] == f"{VERIFY}?next={QUEUE}"
    page = client.get(held["Location"])
    assert page.status_code == 200 and "no-store" in page["Cache-Control"]
    session_before = client.session.session_key
    response = client.post(VERIFY, {"code": totp_code(device.bin_key), "next": QUEUE})
    assert response.status_code == 302 and response["Location"] == QUEUE
    assert client.session.session_key != session_before  # a new key once verified
    assert client.get(QUEUE).status_code == 200


@pytest.mark.parametrize("then", ["me", "staff:queue", "a\x00b", '"><img src=x>'])
def test_a_next_that_is_no_address_is_not_taken_for_a_page_name(client, manager, then):
    """Found by tests/test_hostile_input.py: the code step sent `next` to redirect(), which
    reversed it as a view name first and failed with a 500 for any word without a slash or a dot:
    after a right code, and for anyone who owes no code at all."""
    _user, device = manager
    response = client.post(VERIFY, {"code": totp_code(device.bin_key), "next": then})
    assert response.status_code == 302
    assert client.get(VERIFY, {"next": then}).status_code == 302  # verified now: sent on
    complainant = make_user()
    client.force_login(complainant)
    assert client.post(VERIFY, {"code": "123456", "next": then}).status_code == 302


def test_a_code_works_once(client, manager):
    user, device = manager
    code = totp_code(device.bin_key)
    assert client.post(VERIFY, {"code": code}).status_code == 302
    sign_out(client)
    password_sign_in(client, user)
    replayed = client.post(VERIFY, {"code": code})
    assert replayed.status_code == 200
    assert client.get(QUEUE).status_code == 302


def test_a_code_from_another_secret_or_another_time_is_refused(client, manager):
    _user, device = manager
    for code in (totp_code(b"another secret 20 b"), totp_code(device.bin_key, at=time.time() - 120)):
        forget_failures(device)
        assert client.post(VERIFY, {"code": code}).status_code == 200
    assert client.get(QUEUE).status_code == 302


def test_every_refused_code_gets_one_message_in_the_persons_language(client, manager):
    """Wrong digits, a used or a made-up recovery code, garbage: nothing tells them apart."""
    user, device = manager
    speak(client, "vi")
    used = StaticToken.objects.filter(device__user=user).first().token
    StaticToken.objects.filter(token=used).delete()
    pages = []
    for code in (
        wrong(totp_code(device.bin_key)),
        used,
        "abcd-efgh",
        "12",
        "' OR 1=1 --",
        "\uff11\uff12\uff13\uff14\uff15\uff16",
    ):
        forget_failures(device)
        forget_failures(StaticDevice.objects.get(user=user))
        response = client.post(VERIFY, {"code": code})
        assert response.status_code == 200
        assert tr("vi", REFUSED) in text(response)
        assert tr("vi", REFUSED) != REFUSED
        pages.append(re.sub(r'value="[^"]*"', "", re.sub(r"csrfmiddlewaretoken[^>]*>", "", text(response))))
    assert len(set(pages)) == 1
    # An empty form asks for the code (the field is required), still not a 500.
    assert client.post(VERIFY, {"code": ""}).status_code == 200


def test_a_recovery_code_signs_in_once_in_any_case_and_says_how_many_are_left(client, manager):
    user, _device = manager
    code = StaticToken.objects.filter(device__user=user).first().token
    typed = f"{code[:4].upper()} - {code[4:]}"
    response = client.post(VERIFY, {"code": typed, "next": QUEUE}, follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert response.redirect_chain[0] == (QUEUE, 302)
    assert "You used a recovery code: 9 are left. Make new ones in your profile." in text(response)
    assert not StaticToken.objects.filter(token=code).exists()
    sign_out(client)
    password_sign_in(client, user)
    assert client.post(VERIFY, {"code": code}).status_code == 200
    assert client.get(QUEUE).status_code == 302


def test_new_recovery_codes_replace_the_old_ones(client):
    user = make_user(role=Role.AGENT)
    enrol(user)
    old = StaticToken.objects.filter(device__user=user).first().token
    sign_in(client, user)
    response = client.post(CODES)
    assert response["Location"] == CODES
    fresh = re.findall(r"([a-z2-7]{4})-([a-z2-7]{4})</li>", client.get(CODES).content.decode())
    assert len(fresh) == 10
    assert set(StaticToken.objects.filter(device__user=user).values_list("token", flat=True)) == {
        a + b for a, b in fresh
    }
    assert old not in {a + b for a, b in fresh}


# --- throttling ----------------------------------------------------------------------------------


def test_codes_are_limited_per_account_and_a_refused_attempt_checks_nothing(client, manager, settings):
    """Over the limit even the right code is refused: the answer does not depend on it."""
    _user, device = manager
    settings.OTP_LIMIT_PER_USER = 3
    for _ in range(3):
        forget_failures(device)
        assert client.post(VERIFY, {"code": wrong(totp_code(device.bin_key))}).status_code == 200
    forget_failures(device)
    speak(client, "vi")
    refused = client.post(VERIFY, {"code": totp_code(device.bin_key)})
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert "Quá nhiều yêu cầu" in text(refused)
    assert client.get(QUEUE).status_code == 302
    device.refresh_from_db()
    assert device.last_t == -1  # the right code was never checked
    # The limit counts the account, from any address.
    assert client.post(VERIFY, {"code": "000000"}, REMOTE_ADDR="198.51.100.99").status_code == 429


def test_codes_are_limited_per_address_across_accounts(client, settings):
    settings.OTP_LIMIT_PER_IP = 2
    for _ in range(3):
        user = make_user(role=Role.AGENT)
        device = enrol(user)
        password_sign_in(client, user)
        last = client.post(VERIFY, {"code": wrong(totp_code(device.bin_key))})
        sign_out(client)
    assert last.status_code == 429


def test_a_right_code_does_not_use_up_the_limit(client, settings):
    settings.OTP_LIMIT_PER_USER = 1
    user = make_user(role=Role.AGENT)
    device = enrol(user)
    for _ in range(2):
        password_sign_in(client, user)
        assert client.post(VERIFY, {"code": fresh_totp_code(device)}).status_code == 302
        sign_out(client)


def test_the_device_makes_a_guesser_wait_longer_after_each_failure(client, manager):
    """django-otp's own back-off: right after a failure even the right code waits (429)."""
    _user, device = manager
    assert client.post(VERIFY, {"code": wrong(totp_code(device.bin_key))}).status_code == 200
    waiting = client.post(VERIFY, {"code": totp_code(device.bin_key)})
    assert waiting.status_code == 429 and int(waiting["Retry-After"]) >= 1
    assert client.get(QUEUE).status_code == 302


def test_codes_fail_closed_while_the_limiters_store_is_down(client, manager, settings, redis_server):
    _user, device = manager
    settings.CACHES = {
        "default": {
            "BACKEND": "common.cache.RedisCache",
            "LOCATION": redis_server.url,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    refused = client.post(VERIFY, {"code": totp_code(device.bin_key)}, HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 503
    assert "Sign-in is unavailable right now. Please try again in a minute." in text(refused)
    assert client.get(QUEUE).status_code == 302


# --- remembered browsers -------------------------------------------------------------------------


def remembered_sign_in(client, user, device):
    sign_out(client)
    password_sign_in(client, user)
    response = client.post(VERIFY, {"code": fresh_totp_code(device), "remember": "on"})
    assert response.status_code == 302
    return response


def test_a_remembered_browser_skips_the_code_for_the_configured_days(client, manager, settings):
    user, device = manager
    response = client.post(VERIFY, {"code": totp_code(device.bin_key), "remember": "on"})
    cookie = response.cookies[REMEMBER_COOKIE]
    assert cookie["max-age"] == 7 * 24 * 3600 == settings.OTP_REMEMBER_DAYS * 24 * 3600
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    sign_out(client)
    password_sign_in(client, user)
    assert client.get(QUEUE).status_code == 200
    # Past the days (the browser may keep the cookie; its signature's time says no).
    sign_out(client)
    password_sign_in(client, user)
    later = time.time() + 7 * 24 * 3600 + 60
    with mock.patch("django.core.signing.time.time", return_value=later):
        assert client.get(QUEUE).status_code == 302


def test_without_remember_the_next_sign_in_asks_again(client, manager):
    user, device = manager
    response = client.post(VERIFY, {"code": totp_code(device.bin_key)})
    assert REMEMBER_COOKIE not in response.cookies
    sign_out(client)
    password_sign_in(client, user)
    assert client.get(QUEUE).status_code == 302


def test_a_remembered_browser_is_forgotten_with_a_new_app_or_a_new_password(client):
    user = make_user(role=Role.AGENT)
    device = enrol(user)
    remembered_sign_in(client, user, device)
    # A new app (the old device removed): the cookie is void.
    device, _codes = second_factor.enrol_authenticator(user=user)
    sign_out(client)
    password_sign_in(client, user)
    assert client.get(QUEUE).status_code == 302
    remembered_sign_in(client, user, device)
    user.set_password(PASSWORD)  # a new hash, though the same password
    user.save()
    sign_out(client)
    password_sign_in(client, user)
    assert client.get(QUEUE).status_code == 302


def test_a_remembered_browser_counts_only_for_its_own_person(client):
    lan, minh = make_user(role=Role.AGENT), make_user(role=Role.AGENT)
    remembered_sign_in(client, lan, enrol(lan))
    enrol(minh)
    sign_out(client)
    password_sign_in(client, minh)
    assert client.get(QUEUE).status_code == 302


def test_an_altered_remember_cookie_is_worthless(client, manager):
    user, device = manager
    response = client.post(VERIFY, {"code": totp_code(device.bin_key), "remember": "on"})
    value = response.cookies[REMEMBER_COOKIE].value
    sign_out(client)
    password_sign_in(client, user)
    client.cookies[REMEMBER_COOKIE] = value[:-2] + ("AA" if not value.endswith("AA") else "BB")
    assert client.get(QUEUE).status_code == 302


def test_with_zero_days_no_browser_is_remembered(client, manager, settings):
    settings.OTP_REMEMBER_DAYS = 0
    _user, device = manager
    assert 'name="remember"' not in client.get(VERIFY).content.decode()
    response = client.post(VERIFY, {"code": totp_code(device.bin_key), "remember": "on"})
    assert REMEMBER_COOKIE not in response.cookies


# --- complainants ---------------------------------------------------------------------------------


def test_a_complainant_needs_no_second_factor_and_may_opt_in(client):
    lan = make_user(preferred_language="en")
    password_sign_in(client, lan)
    assert client.get(reverse("complaints:mine")).status_code == 200
    overview = text(client.get(reverse("accounts:second_factor")))
    assert "You sign in with your password alone." in overview
    client.get(SETUP)
    pending = TOTPDevice.objects.get(user=lan)
    assert client.post(SETUP, {"code": totp_code(pending.bin_key)}).status_code == 302
    assert client.get(CODES).status_code == 200
    # From now on their sign-in asks for a code too.
    sign_out(client)
    password_sign_in(client, lan)
    held = client.get(reverse("complaints:mine"))
    assert held.status_code == 302 and held["Location"].startswith(VERIFY)
    assert client.post(VERIFY, {"code": fresh_totp_code(pending)}).status_code == 302
    assert client.get(reverse("complaints:mine")).status_code == 200


def test_a_complainant_may_turn_it_off_and_staff_may_not(client):
    lan = make_user()
    enrol(lan)
    sign_in(client, lan)
    speak(client, "en")
    assert "Turn off the second factor" in text(client.get(reverse("accounts:second_factor")))
    response = client.post(reverse("accounts:second_factor_turn_off"))
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=lan).exists()
    assert not StaticDevice.objects.filter(user=lan).exists()
    sign_out(client)
    password_sign_in(client, lan)
    assert client.get(reverse("complaints:mine")).status_code == 200

    agent = make_user(role=Role.AGENT)
    sign_in(client, agent)
    speak(client, "en")
    page = text(client.get(reverse("accounts:second_factor")))
    assert "Turn off the second factor" not in page and "Staff accounts must keep a second factor." in page
    assert client.post(reverse("accounts:second_factor_turn_off")).status_code == 404
    assert TOTPDevice.objects.filter(user=agent, confirmed=True).exists()


def test_the_profile_links_to_the_second_factor_page(client):
    user = make_user()
    sign_in(client, user)
    assert reverse("accounts:second_factor") in client.get(reverse("accounts:profile")).content.decode()


def test_the_staff_menu_shows_only_after_the_second_factor(client):
    user = make_user(role=Role.MANAGER, is_staff=True)
    enrol(user)
    password_sign_in(client, user)
    pending = client.get(VERIFY).content.decode()
    assert 'data-testid="staff-menu"' not in pending
    sign_in(client, user)
    assert 'data-testid="staff-menu"' in client.get(reverse("accounts:profile")).content.decode()


def test_the_remember_cookie_is_secure_when_the_session_cookie_is(client, manager, settings):
    settings.SESSION_COOKIE_SECURE = True
    _user, device = manager
    response = client.post(VERIFY, {"code": totp_code(device.bin_key), "remember": "on"})
    assert response.cookies[REMEMBER_COOKIE]["secure"]


@pytest.mark.parametrize("days", ["-1", "31", "a week"])
def test_a_remember_time_outside_0_to_30_days_stops_start_up(tmp_path, days):
    result = load_settings(tmp_path, DEBUG="true", OTP_REMEMBER_DAYS=days)
    assert result.returncode != 0
    assert "OTP_REMEMBER_DAYS" in result.stderr
