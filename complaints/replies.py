"""Addressing the portal's e-mails so that a reply finds its case: reply tokens and threading.

Every notice about a case is sent with a `Reply-To` of `<local>+<token>@<domain>`, built from
INBOUND_EMAIL_ADDRESS. The token (160 random bits, lowercase base 32, since mail systems may
lowercase a local part) is bound to one complaint and to the one recipient the notice went
to; only its SHA-256 is stored (`ReplyToken`), and it can be revoked. Each notice also has a
Message-ID of its own, stored on its row, and names the case's root id in `References` and
`In-Reply-To`, so mail clients thread every notice of a case together and a reply that lost
its token can still be traced to the notice it answers.
"""

from __future__ import annotations

import base64
import functools
import re
import secrets
from datetime import datetime
from email.utils import parseaddr

from django.conf import settings
from django.utils.encoding import punycode

from complaints.models import Notification, ReplyToken, hash_token

# 20 random bytes: 32 base-32 characters, no padding.
TOKEN_BYTES = 20
TOKEN_LENGTH = 32
_TOKEN = re.compile(rf"[a-z2-7]{{{TOKEN_LENGTH}}}")
MESSAGE_ID_MAX_LENGTH = Notification._meta.get_field("message_id").max_length


def new_reply_token() -> str:
    """160 random bits in lowercase base 32, without padding: 32 characters of a-z and 2-7."""
    return base64.b32encode(secrets.token_bytes(TOKEN_BYTES)).decode("ascii").lower()


def inbound_address_configured() -> bool:
    """Whether replies by e-mail reach the portal (INBOUND_EMAIL_ADDRESS is set)."""
    return bool(settings.INBOUND_EMAIL_ADDRESS)


@functools.cache
def _split(address: str) -> tuple[str, str]:
    local, _at, domain = address.rpartition("@")
    return local, domain


def reply_address(token: str) -> str:
    """The Reply-To address carrying `token`: `<local>+<token>@<domain>` of INBOUND_EMAIL_ADDRESS."""
    local, domain = _split(settings.INBOUND_EMAIL_ADDRESS)
    return f"{local}+{token}@{domain}"


def token_in_address(address: str) -> str | None:
    """The token (lowercased) in `address` if it is `<local>+<token>@<domain>` with the local
    part and domain of INBOUND_EMAIL_ADDRESS (case ignored), else None. `address` may carry a
    display name (`Name <addr>`). Whether the token is a live one is `redeem_reply_token`'s to say.
    """
    if not settings.INBOUND_EMAIL_ADDRESS or not address:
        return None
    local, domain = _split(settings.INBOUND_EMAIL_ADDRESS.lower())
    found_local, _at, found_domain = parseaddr(address)[1].lower().rpartition("@")
    base, plus, token = found_local.partition("+")
    if not plus or not token or base != local or _ascii(found_domain) != _ascii(domain):
        return None
    return token


@functools.lru_cache(maxsize=64)
def _ascii(domain: str) -> str:
    """The domain as it travels (IDNA), so `khiếu-nại.vn` and `xn--khiu-ni-...vn` compare equal."""
    try:
        return punycode(domain).lower()
    except UnicodeError:
        return domain


def issue_reply_tokens(*, pairs: list[tuple[int, int | None, str]], now: datetime) -> list[str]:
    """Mint a reply token for each (complaint id, recipient user id or None, e-mail address),
    in one INSERT; return the raw tokens in the same order (only their hashes are stored).
    The outbox mints a batch's at once, when it sends them."""
    tokens = [new_reply_token() for _ in pairs]
    ReplyToken.objects.bulk_create(
        [
            ReplyToken(
                complaint_id=complaint_id,
                recipient_id=recipient_id,
                email=email,
                token_hash=hash_token(token),
                created_at=now,
            )
            for (complaint_id, recipient_id, email), token in zip(pairs, tokens, strict=True)
        ]
    )
    return tokens


def redeem_reply_token(token: str) -> ReplyToken | None:
    """The live (not revoked) reply token `token` names, with its complaint and recipient;
    None for an unknown, malformed or revoked one. Case is ignored."""
    token = (token or "").lower()
    if not _TOKEN.fullmatch(token):
        return None
    return (
        ReplyToken.objects.select_related("complaint", "recipient")
        .filter(token_hash=hash_token(token), revoked_at__isnull=True)
        .first()
    )


def revoke_reply_tokens(*, complaint_id: int, email: str | None = None, now: datetime) -> int:
    """Revoke the complaint's live reply tokens (only those issued to `email`, case ignored,
    when it is given); return how many."""
    tokens = ReplyToken.objects.filter(complaint_id=complaint_id, revoked_at__isnull=True)
    if email is not None:
        tokens = tokens.filter(email__iexact=email)
    return tokens.update(revoked_at=now)


# --- Threading ---------------------------------------------------------------------------------


@functools.cache
def _domain_of(inbound: str, sender: str) -> str:
    address = inbound or parseaddr(sender)[1]
    domain = _ascii(address.rpartition("@")[2])  # a header must stay ASCII
    return domain if domain.isascii() and domain else "localhost"


def message_id_domain() -> str:
    """The right-hand side of the portal's Message-IDs: INBOUND_EMAIL_ADDRESS's domain, else
    DEFAULT_FROM_EMAIL's."""
    return _domain_of(settings.INBOUND_EMAIL_ADDRESS, settings.DEFAULT_FROM_EMAIL)


def new_message_id() -> str:
    """A fresh Message-ID for one notice, angle brackets included: `<random@domain>`."""
    return f"<{secrets.token_hex(16)}@{message_id_domain()}>"


def case_root_id(reference: str) -> str:
    """The case's thread root, named by every notice about it (References, In-Reply-To):
    `<case-KN-XXXX-XXXX@domain>`. No message has it; it holds the thread together."""
    return f"<case-{reference}@{message_id_domain()}>"


_ROOT = re.compile(r"<?case-(KN-[0-9A-Z]{4}-[0-9A-Z]{4})@[^>]*>?", re.IGNORECASE)


def reference_in_root_id(message_id: str) -> str | None:
    """The complaint reference a case root id (`case_root_id`) names, or None."""
    match = _ROOT.fullmatch((message_id or "").strip())
    return match.group(1).upper() if match else None


def bracketed(message_id: str) -> str:
    """`message_id` as a header writes it: `<id@domain>`, with angle brackets, no white space."""
    return f"<{message_id.strip().strip('<>').strip()}>"


# A reply's References can be long (or hostile): the first this many ids are looked up.
MAX_LOOKED_UP_IDS = 100


def notice_for_message_ids(ids: list[str]) -> Notification | None:
    """The newest notice, with its complaint, whose Message-ID is one of `ids` (with or without
    angle brackets): the notice a reply's In-Reply-To or References names. None if none is.
    Only the first MAX_LOOKED_UP_IDS distinct ids count: pass In-Reply-To first."""
    wanted: dict[str, None] = {}
    for message_id in ids:
        if message_id and message_id.strip("<> \t") and len(message_id) <= MESSAGE_ID_MAX_LENGTH:
            wanted[bracketed(message_id)] = None
            if len(wanted) == MAX_LOOKED_UP_IDS:
                break
    if not wanted:
        return None
    return (
        Notification.objects.select_related("complaint")
        .filter(message_id__in=list(wanted))
        .order_by("-created_at", "-pk")
        .first()
    )
