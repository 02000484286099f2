"""Plain factory functions with sensible defaults and keyword overrides."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import struct
import time
from datetime import UTC, datetime, timedelta

from django.contrib.auth.models import Group
from django.http import HttpRequest
from django_otp import login as otp_login

from accounts.models import User
from accounts.second_factor import authenticator, enrol_authenticator

PASSWORD = "correct horse battery staple"
_seq = itertools.count(1)


def make_user(
    *,
    username: str | None = None,
    email: str | None = None,
    role: str | None = None,
    password: str = PASSWORD,
    **fields: object,
) -> User:
    n = next(_seq)
    username = username or f"user{n}"
    user = User(username=username, email=email if email is not None else f"{username}@example.org", **fields)
    user.set_password(password)
    user.save()
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


NOW = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)  # a Monday, 10:00 in Ho Chi Minh City


def intake_data(**overrides: object) -> dict[str, object]:
    """Cleaned intake data as the form hands it to submit_complaint."""
    from complaints.models import Subcategory

    data: dict[str, object] = {
        "subcategory": Subcategory.objects.get(category__slug="account", slug="cannot-log-in"),
        "provider_name": "ShopNhanh",
        "subject": "Không đăng nhập được sau khi đổi số điện thoại",
        "description": "Tôi đổi số điện thoại và không nhận được mã OTP nữa.",
        "desired_outcome": "Khôi phục quyền truy cập tài khoản.",
        "occurred_at": NOW - timedelta(days=3),
        "first_reported_at": NOW - timedelta(days=2),
        "contact_name": "Nguyễn Thị Lan",
        "contact_email": "lan@example.org",
        "contact_phone": "",
        "language": "vi",
        "provider_username": "lan.nguyen",
        "provider_email": "",
        "provider_account_id": "",
        "steps_taken": "Đã gửi e-mail cho bộ phận hỗ trợ hai lần.",
    }
    data.update(overrides)
    return data


def make_complaint(
    *, by: object = None, now: datetime = NOW, contacts: list[dict] | None = None, **overrides: object
):
    """A complaint filed through the real intake service."""
    from complaints.services import submit_complaint

    complaint, _created = submit_complaint(
        data=intake_data(**overrides), contacts=contacts or [], by=by, now=now, submission_key=None
    )
    return complaint


def file_copies(times: list[datetime], *, provider_name: str, subcategory: object = None) -> int:
    """Complaints about `provider_name` (of `subcategory`: by default, can't log in to an account)
    filed at each of `times`: one through the real intake service, the others copies of it written
    by one bulk INSERT, as many as a seeded history needs. Returns how many."""
    from complaints.models import Complaint, new_reference

    if not times:
        return 0
    extra = {"subcategory": subcategory} if subcategory is not None else {}
    first = make_complaint(now=times[0], provider_name=provider_name, **extra)
    values = {
        field.attname: getattr(first, field.attname)
        for field in Complaint._meta.concrete_fields
        if not field.primary_key
    }
    copies = [
        Complaint(
            **values
            | {
                "reference": new_reference(),
                "submission_key": None,
                "submitted_at": at,
                "status_changed_at": at,
            }
        )
        for at in times[1:]
    ]
    Complaint.objects.bulk_create(copies, batch_size=1_000)
    return len(times)


def contact_data(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "channel": "email",
        "contacted_at": NOW - timedelta(days=2),
        "with_whom": "CSKH",
        "their_reference": "TICKET-991",
        "summary": "Họ nói sẽ trả lời trong 48 giờ.",
    }
    data.update(overrides)
    return data


def found(complaint, **overrides: object) -> dict[str, object]:
    """What staff found, as resolving a complaint requires it: the first cause of its category
    (or one for every category), upheld, an apology."""
    from django.db.models import Q

    from complaints.models import Cause

    cause = (
        Cause.objects.filter(Q(category_id=complaint.category_id) | Q(category=None), is_active=True)
        .order_by("category", "position")
        .first()
    )
    return {"cause": cause, "outcome": "upheld", "remedy": "apology", **overrides}


def found_form(complaint, **overrides: object) -> dict[str, object]:
    """`found` as the resolve form posts it."""
    values = found(complaint, **overrides)
    return {**values, "cause": values["cause"].pk if values["cause"] else ""}


def resolve(
    complaint, *, by, now: datetime = NOW, summary: str = "Đã khôi phục tài khoản.", **overrides: object
):
    """Take a new complaint through triage to resolution with the real services."""
    from complaints.services import resolve_complaint, transition_complaint

    if complaint.status == "new":
        complaint = transition_complaint(complaint=complaint, to_status="open", by=by, now=now)
    return resolve_complaint(
        complaint=complaint,
        summary=summary,
        by=by,
        now=now,
        version=complaint.version,
        **found(complaint, **overrides),
    )


# --- the second factor ------------------------------------------------------------------------


def enrol(user: User):
    """Give `user` a confirmed authenticator (random secret) and recovery codes through the
    real service; returns the TOTP device."""
    device, _codes = enrol_authenticator(user=user)
    return device


def sign_in(client, user: User) -> None:
    """Sign `user` in on a test client as the two steps of the real sign-in leave them: the
    password (force_login), then, for anyone who owes a second factor (a staff role, or an
    authenticator of their own; one is set up if they have none), the session marked as
    verified by django-otp's own otp_login."""
    client.force_login(user)
    device = authenticator(user)
    if device is None and not user.holds_staff_role:
        return
    request = HttpRequest()
    request.session = client.session
    request.user = user
    otp_login(request, device or enrol(user))
    request.session.save()


def hotp(key: bytes, counter: int, digits: int = 6) -> str:
    """RFC 4226 by hand (no OTP library), so the tests check the portal's codes independently."""
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)


def totp_code(secret: str | bytes, *, at: float | None = None, step: int = 30) -> str:
    """RFC 6238: the code an authenticator app shows at `at` (now by default) for `secret`,
    given as the base32 text the portal shows (spaces allowed) or as raw bytes."""
    if isinstance(secret, str):
        secret = base64.b32decode(secret.replace(" ", "").upper())
    return hotp(secret, int((time.time() if at is None else at) // step))


def fresh_totp_code(device) -> str:
    """A code `device` accepts now: the current step's, or the next step's when the current one
    was used already (a code works once; the portal allows one step of clock drift)."""
    device.refresh_from_db()
    counter = max(int(time.time() // device.step), device.last_t + 1)
    return hotp(device.bin_key, counter)


def make_incident(by: object, *, now: datetime = NOW, **overrides: object):
    """An open incident declared through the real service by `by` (a team lead or manager): ShopNhanh's
    log-in down, in the account category, since an hour before `now`."""
    from complaints.models import Category
    from complaints.services import declare_incident

    values: dict[str, object] = {
        "title_vi": "ShopNhanh không đăng nhập được",
        "title_en": "ShopNhanh log-in down",
        "note_vi": "Đang xử lý.",
        "note_en": "Being worked on.",
        "category": Category.objects.get(slug="account"),
        "provider_name": "ShopNhanh",
        "started_at": now - timedelta(hours=1),
        **overrides,
    }
    return declare_incident(**values, by=by, now=now)
