"""The second factor: a TOTP authenticator app, its one-time recovery codes, and browsers
remembered for a few days after a code.

Every staff role and every admin must have one (`User.holds_staff_role`); complainants may
set one up. django-otp keeps the devices: one confirmed `TOTPDevice` per person (the
authenticator) and one `StaticDevice` whose tokens are the recovery codes. A session has
passed the second factor when django-otp's `otp_login` recorded the device that accepted a
code in it (`request.user.is_verified()`); `accounts.middleware` holds every other page
until then.

TOTP is arithmetic on the wall clock: django-otp reads the time itself when it checks a code
(and refuses a code whose time step was already used, so a code works once).
"""

from __future__ import annotations

import re
import unicodedata
from base64 import b32encode
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

import segno
from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext_lazy as _
from django_otp import login as otp_login
from django_otp import verify_token
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User

RECOVERY_CODE_COUNT = 10
AUTHENTICATOR_NAME = "Authenticator app"
RECOVERY_CODES_NAME = "Recovery codes"
# What a person types: six digits from the app, or a recovery code (8 base32 characters, as
# django-otp makes them); spaces and dashes are ignored, and the case of a recovery code.
_TOTP_CODE = re.compile(r"[0-9]{6}")
_RECOVERY_CODE = re.compile(r"[a-z2-7]{8}")
_SEPARATORS = re.compile(r"[\s\-]+")

REMEMBER_COOKIE = "second_factor_remembered"
_REMEMBER_SALT = "accounts.second_factor.remember"


class SecondFactorRefused(ValidationError):
    """A code that was not accepted. One message for every reason, so it reveals nothing."""

    def __init__(self) -> None:
        super().__init__(
            _("That code did not work. Check the time on your phone and type the newest code."),
            code="code_refused",
        )


class Owed(Enum):
    """What a signed-in person still owes before the portal's pages open."""

    ENROL = "enrol"  # a staff role and no authenticator yet
    VERIFY = "verify"  # an authenticator, and no code from it in this session


@dataclass(frozen=True)
class CodeCheck:
    """The outcome of a typed code: the device that accepted it, or None; and when the
    device refused to look (too many failures in a row), the seconds it still waits."""

    device: Device | None
    wait: int = 0

    @property
    def used_recovery_code(self) -> bool:
        return isinstance(self.device, StaticDevice)


# --- reading ---------------------------------------------------------------------------------


def authenticator(user: User) -> TOTPDevice | None:
    """The person's confirmed authenticator app, or None when they have not set one up."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


def recovery_codes_left(user: User) -> int:
    """How many unused recovery codes the person has."""
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def owed(user: User) -> Owed | None:
    """What `user` (signed in with a password, not yet through the second factor in this
    session) must do next: verify a code if they have an authenticator, enrol one if they
    hold a staff role; None for a complainant who never set one up."""
    if authenticator(user) is not None:
        return Owed.VERIFY
    if user.holds_staff_role:
        return Owed.ENROL
    return None


def can_turn_off(user: User) -> bool:
    """Only complainants may go back to signing in with a password alone."""
    return not user.holds_staff_role


def secret_text(device: TOTPDevice) -> str:
    """The secret as people type it into an app by hand: base32, in groups of four."""
    secret = b32encode(device.bin_key).decode()
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def qr_code_data_uri(device: TOTPDevice) -> str:
    """The device's otpauth:// address as a QR code: an SVG drawn here, as a data: URI for
    an <img> (the page's policy allows data: images; nothing leaves the portal)."""
    return segno.make(device.config_url, error="m").svg_data_uri(scale=5, border=4, light="#fff")


def format_recovery_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


def normalise_code(typed: str) -> str:
    """As typed, less spaces and dashes, in lower case; full-width digits made plain."""
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", typed or "")).lower()


# --- enrolment -------------------------------------------------------------------------------


def start_enrolment(*, user: User) -> TOTPDevice:
    """The person's authenticator being set up: unconfirmed, with a fresh random secret the
    first time, the same one on every later visit until a code confirms it. Their current
    authenticator, if any, keeps working until then."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=AUTHENTICATOR_NAME, confirmed=False)
    return device


def confirm_enrolment(*, user: User, code: str) -> tuple[TOTPDevice, list[str]]:
    """Confirm the authenticator being set up with a first code from it: it replaces the
    person's authenticator, and new recovery codes replace theirs.

    Returns the device and the recovery codes (shown once, never again). Raises
    SecondFactorRefused when nothing is being set up or the code does not match; the failure
    is counted on the device (django-otp's growing wait). Locks the pending device.
    """
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).first()
        typed = normalise_code(code)
        # The failure django-otp counts must be committed, so nothing is raised in here.
        accepted = device is not None and bool(_TOTP_CODE.fullmatch(typed)) and device.verify_token(typed)
        if accepted:
            codes = _install(user=user, device=device)
    if not accepted:
        raise SecondFactorRefused
    return device, codes


def enrol_authenticator(*, user: User, key: str | None = None) -> tuple[TOTPDevice, list[str]]:
    """Give the person a confirmed authenticator with secret `key` (hex; random if None) at
    once, with no code to prove it: for the demo accounts, whose secret the README shows.
    Returns the device and the new recovery codes."""
    with transaction.atomic():
        device = TOTPDevice(user=user, name=AUTHENTICATOR_NAME, confirmed=False)
        if key is not None:
            device.key = key
        device.full_clean(exclude=["user"])
        device.save()
        codes = _install(user=user, device=device)
    return device, codes


def _install(*, user: User, device: TOTPDevice) -> list[str]:
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    return new_recovery_codes(user=user)


def new_recovery_codes(*, user: User) -> list[str]:
    """Replace the person's recovery codes with RECOVERY_CODE_COUNT new ones and return them
    (stored as django-otp stores them; each works once)."""
    with transaction.atomic():
        device, _created = StaticDevice.objects.select_for_update().get_or_create(
            user=user, defaults={"name": RECOVERY_CODES_NAME, "confirmed": True}
        )
        StaticDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        device.token_set.all().delete()
        codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
        StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
        device.throttle_reset()
    return codes


def turn_off(*, user: User) -> None:
    """Delete the person's authenticator and recovery codes (a complainant going back to
    the password alone). Raises ValidationError for anyone who holds a staff role."""
    if not can_turn_off(user):
        raise ValidationError(_("Staff accounts must keep a second factor."), code="staff")
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()


# --- signing in ------------------------------------------------------------------------------


def check_code(*, user: User, code: str) -> CodeCheck:
    """Check a code typed at sign-in: six digits against the authenticator, anything else
    against the recovery codes (a recovery code that works is used up).

    django-otp locks the device while it checks, so two requests with one code cannot both
    pass, and counts a failure on it. A device that is made to wait is not asked at all:
    `wait` then says how long.
    """
    typed = normalise_code(code)
    if _TOTP_CODE.fullmatch(typed):
        device: Device | None = authenticator(user)
    elif _RECOVERY_CODE.fullmatch(typed):
        device = StaticDevice.objects.filter(user=user, confirmed=True).first()
    else:
        return CodeCheck(None)
    if device is None:
        return CodeCheck(None)
    allowed, details = device.verify_is_allowed()
    if not allowed:
        return CodeCheck(None, wait=_seconds_until((details or {}).get("locked_until")))
    return CodeCheck(verify_token(user, device.persistent_id, typed))


def pass_second_factor(request: HttpRequest, device: Device) -> None:
    """Record in the session, under a new session key, that it passed the second factor with
    `device` (django-otp's otp_login: request.user.is_verified() from now on)."""
    request.session.cycle_key()
    otp_login(request, device)


def _seconds_until(moment: datetime | None) -> int:
    if moment is None:
        return 1
    return max(1, int((moment - timezone.now()).total_seconds()) + 1)


# --- remembered browsers -----------------------------------------------------------------------


def _remember_digest(user: User, device: TOTPDevice) -> str:
    # Bound to the authenticator's secret and to the password: a new authenticator, a
    # removed one or a changed password forgets every remembered browser.
    return salted_hmac(
        _REMEMBER_SALT, f"{user.pk}|{device.persistent_id}|{device.key}|{user.password}"
    ).hexdigest()


def remember_browser(response: HttpResponse, *, user: User, device: TOTPDevice) -> HttpResponse:
    """Let this browser skip the code for OTP_REMEMBER_DAYS: a signed cookie naming the
    person and their authenticator (a no-op when the setting is 0)."""
    days = settings.OTP_REMEMBER_DAYS
    if days <= 0:
        return response
    value = signing.dumps(
        {"user": user.pk, "device": device.persistent_id, "digest": _remember_digest(user, device)},
        salt=_REMEMBER_SALT,
    )
    response.set_cookie(
        REMEMBER_COOKIE,
        value,
        max_age=int(timedelta(days=days).total_seconds()),
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
    return response


def remembered_authenticator(request: HttpRequest, user: User) -> TOTPDevice | None:
    """The person's authenticator when this browser was remembered for it less than
    OTP_REMEMBER_DAYS ago (by them, with this authenticator and password); else None."""
    days = settings.OTP_REMEMBER_DAYS
    raw = request.COOKIES.get(REMEMBER_COOKIE)
    if days <= 0 or not raw:
        return None
    try:
        claim = signing.loads(raw, salt=_REMEMBER_SALT, max_age=timedelta(days=days))
    except signing.BadSignature:  # altered, or older than the setting allows
        return None
    if not isinstance(claim, dict) or claim.get("user") != user.pk:
        return None
    device = authenticator(user)
    if device is None or claim.get("device") != device.persistent_id:
        return None
    if not constant_time_compare(str(claim.get("digest", "")), _remember_digest(user, device)):
        return None
    return device
