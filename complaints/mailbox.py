"""The inbound doors that poll: an IMAP mailbox and, for `make run`, a folder of `.eml` files.

Both hand each message, as the raw bytes received, to a handler — the inbound pipeline,
which stores the message and applies its effects in a transaction of its own, returns once
that is committed, and records the same message (Message-ID, hash) once however often it
is handed over. A door lets go of a message only after the handler has returned:

- a handler that raises leaves its message where it was, to be tried again at the next
  poll (one line in the log; the other messages go on);
- a poller killed between the handler's commit and the move sees the message again next
  time and hands it over again: delivery is at least once, and the pipeline's de-duplication
  makes the second time harmless. Nothing is lost, because nothing leaves the mailbox or
  the folder before it is committed.

Nothing here reads or writes the database; complaints.tasks.poll_inbound_mail runs the
doors on beat with the pipeline as handler.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from django.conf import settings
from imapclient import DELETED, IMAPClient
from imapclient.exceptions import IMAPClientError

from complaints.models import InboundDoor

logger = logging.getLogger(__name__)

# The IMAP keyword put on a message whose handling failed: later polls take every message
# without it first, so mail that keeps failing never holds back the mail behind it.
RETRY_KEYWORD = "PortalRetry"

# The most bytes of messages fetched in one command: a batch of replies comes in one or two
# round trips, and a batch of 25 MB messages still one message at a time.
FETCH_BUDGET = 8 * 1024 * 1024

# What a broken connection, a refused login or an unexpected answer raises.
CONNECTION_ERRORS = (OSError, IMAPClientError)


@dataclass(frozen=True)
class MailboxSettings:
    """Where the IMAP door reads: the server, the account, the folder polled and the folder
    a message is moved to once handled; `batch` messages at most per poll, `timeout` seconds
    at most for the server to answer a command."""

    host: str
    port: int
    user: str
    password: str
    ssl: bool = True
    folder: str = "INBOX"
    processed_folder: str = "Processed"
    batch: int = 50
    timeout: float = 60.0


@dataclass(frozen=True)
class PollResult:
    """Messages handed over and let go of (`taken`), and those whose handler raised (`failed`)."""

    taken: int
    failed: int

    def __add__(self, other: PollResult) -> PollResult:
        return PollResult(self.taken + other.taken, self.failed + other.failed)


NOTHING = PollResult(0, 0)


def imap_settings() -> MailboxSettings | None:
    """The IMAP door as the INBOUND_IMAP_* settings describe it; None when INBOUND_IMAP_HOST is unset."""
    if not settings.INBOUND_IMAP_HOST:
        return None
    return MailboxSettings(
        host=settings.INBOUND_IMAP_HOST,
        port=settings.INBOUND_IMAP_PORT,
        user=settings.INBOUND_IMAP_USER,
        password=settings.INBOUND_IMAP_PASSWORD,
        ssl=settings.INBOUND_IMAP_SSL,
        folder=settings.INBOUND_IMAP_FOLDER,
        processed_folder=settings.INBOUND_IMAP_PROCESSED_FOLDER,
    )


def poll_imap(handler: Callable[[bytes], object], *, mailbox: MailboxSettings) -> PollResult:
    """Hand up to `mailbox.batch` messages of the polled folder to `handler`, oldest (lowest
    UID) first, and move each to the processed folder (created if missing) once its handler
    has returned.

    The batch's messages are fetched with BODY.PEEK[], several to a command (FETCH_BUDGET
    bytes at most, one message at least), so a message whose handler raises stays unseen,
    where it was; it is marked with RETRY_KEYWORD, and later polls take it only after every
    message not so marked. The move is UID MOVE where the server offers MOVE, else COPY,
    \\Deleted and UID EXPUNGE (a plain EXPUNGE without UIDPLUS, which also purges any other
    message marked deleted in that folder: give the portal a mailbox of its own). A poller
    killed after the handler returned and before the move hands the message over again at the
    next poll; the pipeline's de-duplication absorbs it. A server that cannot be reached,
    refuses the login or drops the connection is logged and ends the poll: never raises for
    the server's sake; returns what was done before.
    """
    return drain_imap(handler, mailbox=mailbox, max_batches=1)


def drain_imap(
    handler: Callable[[bytes], object], *, mailbox: MailboxSettings, max_batches: int = 20
) -> PollResult:
    """poll_imap batch after batch, on one connection, while a full batch made progress,
    `max_batches` at most (the next poll goes on from there): a backlog is taken in one run,
    not one batch per beat."""
    tally = _Tally()
    try:
        client = IMAPClient(mailbox.host, port=mailbox.port, ssl=mailbox.ssl, timeout=mailbox.timeout)
    except CONNECTION_ERRORS as exc:
        logger.warning("inbound mail: cannot reach IMAP %s:%s: %s", mailbox.host, mailbox.port, _said(exc))
        return NOTHING
    try:
        client.login(mailbox.user, mailbox.password)
        if not client.folder_exists(mailbox.processed_folder):
            client.create_folder(mailbox.processed_folder)
        client.select_folder(mailbox.folder)
        for _ in range(max_batches):
            before = tally.result()
            _take_batch(client, handler, mailbox=mailbox, tally=tally)
            batch = PollResult(tally.taken - before.taken, tally.failed - before.failed)
            if batch.taken == 0 or batch.taken + batch.failed < mailbox.batch:
                break
    except CONNECTION_ERRORS as exc:
        logger.warning("inbound mail: IMAP %s:%s, poll cut short: %s", mailbox.host, mailbox.port, _said(exc))
    finally:
        try:
            client.logout()
        except CONNECTION_ERRORS:
            with contextlib.suppress(OSError):
                client.shutdown()
    return tally.result()


@dataclass
class _Tally:
    """What a poll has done so far; kept when the connection drops midway."""

    taken: int = 0
    failed: int = 0

    def result(self) -> PollResult:
        return PollResult(self.taken, self.failed)


def _take_batch(
    client: IMAPClient, handler: Callable[[bytes], object], *, mailbox: MailboxSettings, tally: _Tally
) -> None:
    """The next batch handed over, message by message, each moved once its handler returned."""
    uids = _next_batch(client, mailbox.batch)
    for group in _fetch_groups(client, uids):
        bodies = client.fetch(group, ["BODY.PEEK[]"])
        for uid in group:
            raw = bodies.get(uid, {}).get(b"BODY[]")
            if raw is None:  # gone since the search: another poller took it
                continue
            try:
                handler(raw)
            except Exception as exc:  # noqa: BLE001 - one bad message must not stop the poll
                tally.failed += 1
                logger.error(
                    "inbound mail: IMAP message uid %s in %s failed, left there: %s",
                    uid,
                    mailbox.folder,
                    _said(exc),
                )
                _mark_for_retry(client, uid)
                continue
            _move(client, uid, mailbox.processed_folder)
            tally.taken += 1


def _fetch_groups(client: IMAPClient, uids: list[int]) -> list[list[int]]:
    """`uids` in order, cut into runs whose messages add up to FETCH_BUDGET bytes at most (a
    larger message alone): one FETCH per run instead of one per message, without holding a
    whole batch of large messages in memory at once."""
    if not uids:
        return []
    sizes = client.fetch(uids, ["RFC822.SIZE"])
    groups: list[list[int]] = [[]]
    held = 0
    for uid in uids:
        size = sizes.get(uid, {}).get(b"RFC822.SIZE", 0)
        if groups[-1] and held + size > FETCH_BUDGET:
            groups.append([])
            held = 0
        groups[-1].append(uid)
        held += size
    return groups


def poll_folder(handler: Callable[[bytes], object], *, path: Path) -> PollResult:
    """Hand every `*.eml` file in `path` (created if missing) to `handler`, in name order, and
    move each into `path / "processed"` once its handler has returned.

    A file whose handler raises is left where it is and logged, to be tried again at the next
    poll, as the IMAP door does (the pipeline keeps malformed mail for review rather than
    raising, so what fails is a passing trouble, the database down say). Hidden files are
    skipped: write a message under a name starting with "." and rename it, so that no poll
    reads it half-written. A name already in processed/ gets a number added.
    """
    processed = path / "processed"
    processed.mkdir(parents=True, exist_ok=True)
    taken = failed = 0
    for file in sorted(path.glob("*.eml")):
        if file.name.startswith(".") or not file.is_file():
            continue
        try:
            raw = file.read_bytes()
        except FileNotFoundError:  # another poller took it
            continue
        try:
            handler(raw)
        except Exception as exc:  # noqa: BLE001 - one bad file must not stop the poll
            failed += 1
            logger.error("inbound mail: %s failed, left in %s: %s", file.name, path, _said(exc))
            continue
        _move_file(file, processed)
        taken += 1
    return PollResult(taken, failed)


def poll_doors(
    receive: Callable[..., object], *, mailbox: MailboxSettings | None, folder: Path | None
) -> PollResult:
    """Take what waits at each door given, the IMAP mailbox (drained) and the folder, handing
    each message to `receive(raw, door=...)` with the door's name (InboundDoor.IMAP or FOLDER)."""
    result = NOTHING
    if mailbox is not None:
        result += drain_imap(partial(receive, door=InboundDoor.IMAP), mailbox=mailbox)
    if folder is not None:
        result += poll_folder(partial(receive, door=InboundDoor.FOLDER), path=folder)
    return result


def _next_batch(client: IMAPClient, batch: int) -> list[int]:
    # \Deleted ones were copied already by a COPY fallback cut short before its EXPUNGE.
    fresh = sorted(client.search(["NOT", "DELETED", "UNKEYWORD", RETRY_KEYWORD]))[:batch]
    if len(fresh) == batch:
        return fresh
    retries = sorted(client.search(["NOT", "DELETED", "KEYWORD", RETRY_KEYWORD]))
    return fresh + retries[: batch - len(fresh)]


def _mark_for_retry(client: IMAPClient, uid: int) -> None:
    try:
        client.add_flags([uid], [RETRY_KEYWORD])
    except IMAPClientError as exc:
        # A server without keywords: the message is simply tried again in UID order.
        logger.info("inbound mail: cannot mark IMAP message uid %s for retry: %s", uid, _said(exc))


def _move(client: IMAPClient, uid: int, folder: str) -> None:
    if client.has_capability("MOVE"):
        client.move([uid], folder)
        return
    client.copy([uid], folder)
    client.add_flags([uid], [DELETED])
    if client.has_capability("UIDPLUS"):
        client.uid_expunge([uid])
    else:
        client.expunge()


def _move_file(file: Path, folder: Path) -> None:
    target, number = folder / file.name, 1
    while target.exists():
        target = folder / f"{file.stem}-{number}{file.suffix}"
        number += 1
    with contextlib.suppress(FileNotFoundError):  # another poller moved it first
        file.replace(target)


def _said(exc: BaseException) -> str:
    """An exception on one line, without its traceback."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:300]}" if text else type(exc).__name__
