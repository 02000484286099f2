"""The polling doors of inbound mail (complaints.mailbox): a real Dovecot IMAP server (the
`imap_server` fixture) and a real folder; the handler is the tests' own.

What a door guarantees: each message is handed over, and leaves the mailbox (or the folder)
only after its handler returned; a handler that raises leaves its message in place and
stops nothing; a poller killed mid-batch loses nothing (at least once: the pipeline's
de-duplication absorbs the message handed over twice).
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import signal
import subprocess
import sys

import pytest
from django.db import connection

from complaints import mailbox as mailbox_module
from complaints import tasks
from complaints.mailbox import MailboxSettings, PollResult, drain_imap, poll_folder, poll_imap
from complaints.models import InboundDoor
from tests.conftest import ROOT, ImapServer, free_port, require, subprocess_env


def message(n: int) -> bytes:
    """A small, real-shaped reply, numbered in its Message-ID and subject."""
    return (
        f"From: Lan <lan{n}@example.org>\r\n"
        "To: inbox@portal.test\r\n"
        f"Subject: Re: message {n}\r\n"
        f"Message-ID: <{n}@example.org>\r\n"
        "Date: Tue, 01 Dec 2026 08:00:00 +0700\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: text/plain; charset="utf-8"\r\n'
        "Content-Transfer-Encoding: 8bit\r\n"
        "\r\n"
        f"Tôi gửi thêm thông tin, lần {n}.\r\n"
    ).encode()


def number(raw: bytes) -> int:
    return int(re.search(rb"Message-ID: <(\d+)@example.org>", raw).group(1))


def numbers(raws: list[bytes]) -> list[int]:
    return [number(raw) for raw in raws]


def mailbox_of(server: ImapServer, **overrides: object) -> MailboxSettings:
    account = {"host": server.host, "port": server.port, "user": server.user, "password": server.password}
    return MailboxSettings(**{**account, "ssl": False, **overrides})


class Recorder:
    """A handler that records the number of each message handed to it; `fails` raise."""

    def __init__(self, *, fails: set[int] = frozenset(), during=None) -> None:
        self.seen: list[int] = []
        self.fails, self.during = fails, during

    def __call__(self, raw: bytes) -> None:
        n = number(raw)
        self.seen.append(n)
        if self.during is not None:
            self.during(raw)
        if n in self.fails:
            raise ValueError(f"cannot take message {n}")


# --- The IMAP door ---------------------------------------------------------------------------


def test_each_message_is_handed_over_once_and_ends_in_the_processed_folder(imap_server):
    for n in (1, 2, 3):
        imap_server.append(message(n))
    handler = Recorder()

    assert poll_imap(handler, mailbox=mailbox_of(imap_server)) == PollResult(taken=3, failed=0)
    assert poll_imap(handler, mailbox=mailbox_of(imap_server)) == PollResult(taken=0, failed=0)

    assert handler.seen == [1, 2, 3]
    assert imap_server.messages("INBOX") == []
    assert imap_server.messages("Processed") == [message(n) for n in (1, 2, 3)]


def test_a_message_whose_handler_raises_stays_unseen_in_the_inbox_and_the_others_go_on(imap_server, caplog):
    for n in (1, 2, 3):
        imap_server.append(message(n))
    handler = Recorder(fails={2})

    with caplog.at_level(logging.ERROR, logger="complaints.mailbox"):
        assert poll_imap(handler, mailbox=mailbox_of(imap_server)) == PollResult(taken=2, failed=1)

    assert handler.seen == [1, 2, 3]
    ((raw, flags),) = imap_server.fetch("INBOX")
    assert number(raw) == 2
    assert b"\\Seen" not in flags
    assert numbers(imap_server.messages("Processed")) == [1, 3]
    with imap_server.connect() as client:
        client.select_folder("INBOX", readonly=True)
        (uid,) = client.search("ALL")
    (line,) = [record.getMessage() for record in caplog.records]
    assert f"uid {uid} " in line and "ValueError: cannot take message 2" in line and "\n" not in line
    assert caplog.records[0].exc_info is None  # one line, no traceback

    # Once the trouble has passed, the next poll takes it.
    assert poll_imap(Recorder(), mailbox=mailbox_of(imap_server)) == PollResult(taken=1, failed=0)
    assert numbers(imap_server.messages("Processed")) == [1, 3, 2]


def test_a_message_is_moved_only_after_its_handler_returned(imap_server):
    for n in (1, 2):
        imap_server.append(message(n))
    where: list[tuple[int, bool, bool]] = []

    def look(raw: bytes) -> None:
        where.append(
            (number(raw), raw in imap_server.messages("INBOX"), raw in imap_server.messages("Processed"))
        )

    assert poll_imap(Recorder(during=look), mailbox=mailbox_of(imap_server)).taken == 2
    # While its handler ran, each message was still in the inbox and not yet processed.
    assert where == [(1, True, False), (2, True, False)]


def test_mail_that_keeps_failing_does_not_hold_back_the_mail_behind_it(imap_server):
    for n in (1, 2, 3, 4):
        imap_server.append(message(n))
    mailbox = mailbox_of(imap_server, batch=2)
    handler = Recorder(fails={1, 2})

    assert poll_imap(handler, mailbox=mailbox) == PollResult(taken=0, failed=2)
    assert poll_imap(handler, mailbox=mailbox) == PollResult(taken=2, failed=0)

    assert handler.seen == [1, 2, 3, 4]
    assert numbers(imap_server.messages("Processed")) == [3, 4]
    # The failed ones are tried again when there is room in a batch.
    assert poll_imap(handler, mailbox=mailbox) == PollResult(taken=0, failed=2)
    assert numbers(imap_server.messages("INBOX")) == [1, 2]


def test_a_backlog_is_drained_batch_after_batch_in_one_run(imap_server):
    for n in range(1, 8):
        imap_server.append(message(n))
    handler = Recorder()

    assert drain_imap(handler, mailbox=mailbox_of(imap_server, batch=3)) == PollResult(taken=7, failed=0)
    assert handler.seen == list(range(1, 8))
    assert imap_server.messages("INBOX") == []


def test_a_batch_is_fetched_several_messages_to_a_command_within_the_byte_budget(imap_server, monkeypatch):
    for n in range(1, 6):
        imap_server.append(message(n))
    size = len(message(1).replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
    monkeypatch.setattr(mailbox_module, "FETCH_BUDGET", 2 * size + 1)

    with imap_server.connect() as client:
        client.select_folder("INBOX", readonly=True)
        uids = sorted(client.search("ALL"))
        # Two messages to a FETCH while they fit; a message larger than the budget goes alone.
        assert [len(group) for group in mailbox_module._fetch_groups(client, uids)] == [2, 2, 1]
        monkeypatch.setattr(mailbox_module, "FETCH_BUDGET", 10)
        assert mailbox_module._fetch_groups(client, uids) == [[uid] for uid in uids]

    monkeypatch.setattr(mailbox_module, "FETCH_BUDGET", 2 * size + 1)
    handler = Recorder()
    assert poll_imap(handler, mailbox=mailbox_of(imap_server)) == PollResult(taken=5, failed=0)
    assert handler.seen == [1, 2, 3, 4, 5]
    assert numbers(imap_server.messages("Processed")) == [1, 2, 3, 4, 5]


@pytest.fixture
def handled_table(transactional_db):
    """A table the killed poller's handler commits to, read from here once it is dead."""
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE test_mailbox_handled (id serial PRIMARY KEY, number integer NOT NULL)")
    yield
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE test_mailbox_handled")


def handled() -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT number FROM test_mailbox_handled ORDER BY id")
        return [row[0] for row in cursor.fetchall()]


def test_a_poller_killed_between_the_commit_and_the_move_loses_nothing(imap_server, handled_table):
    for n in range(1, 6):
        imap_server.append(message(n))
    database = connection.settings_dict["NAME"]
    env = subprocess_env(DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{database}")
    args = [imap_server.host, str(imap_server.port), imap_server.user, imap_server.password, "3"]

    poller = subprocess.run(
        [sys.executable, "-m", "tests.complaints.killed_poller", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert poller.returncode == -signal.SIGKILL, poller.stderr
    # Killed after committing message 3 and before moving it.
    assert handled() == [1, 2, 3]
    assert numbers(imap_server.messages("Processed")) == [1, 2]
    assert numbers(imap_server.messages("INBOX")) == [3, 4, 5]

    def commit(raw: bytes) -> None:
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO test_mailbox_handled (number) VALUES (%s)", [number(raw)])

    assert poll_imap(commit, mailbox=mailbox_of(imap_server)) == PollResult(taken=3, failed=0)
    # At least once: message 3 was handed over twice (the pipeline records it once), and
    # every message was handled and moved exactly once to the processed folder.
    assert handled() == [1, 2, 3, 3, 4, 5]
    assert numbers(imap_server.messages("Processed")) == [1, 2, 3, 4, 5]
    assert imap_server.messages("INBOX") == []


def test_an_unreachable_server_is_logged_and_the_poll_returns(caplog):
    mailbox = MailboxSettings(
        host="127.0.0.1", port=free_port(), user="u", password="p", ssl=False, timeout=5
    )

    with caplog.at_level(logging.WARNING, logger="complaints.mailbox"):
        assert poll_imap(Recorder(), mailbox=mailbox) == PollResult(taken=0, failed=0)

    (line,) = [record.getMessage() for record in caplog.records]
    assert line.startswith(
        f"inbound mail: cannot reach IMAP 127.0.0.1:{mailbox.port}: ConnectionRefusedError"
    )


def test_a_refused_login_is_logged_and_the_poll_returns(imap_server, caplog):
    imap_server.append(message(1))
    mailbox = mailbox_of(imap_server, password="not-the-password")
    handler = Recorder()

    with caplog.at_level(logging.WARNING, logger="complaints.mailbox"):
        assert poll_imap(handler, mailbox=mailbox) == PollResult(taken=0, failed=0)

    assert handler.seen == []
    assert "poll cut short: LoginError" in caplog.records[0].getMessage()
    assert numbers(imap_server.messages("INBOX")) == [1]


@pytest.mark.parametrize(
    "capabilities",
    [
        pytest.param("IMAP4rev1 LITERAL+ NAMESPACE UNSELECT UIDPLUS", id="copy-and-uid-expunge"),
        pytest.param("IMAP4rev1 LITERAL+ NAMESPACE UNSELECT", id="copy-and-expunge"),
    ],
)
def test_a_server_without_move_gets_copy_delete_and_expunge(capabilities):
    require(shutil.which("dovecot") is not None, "Dovecot (Debian's dovecot-imapd; `make system-packages`)")
    with ImapServer(capabilities=capabilities) as server:
        for n in (1, 2, 3):
            server.append(message(n))
        handler = Recorder(fails={2})

        assert poll_imap(handler, mailbox=mailbox_of(server)) == PollResult(taken=2, failed=1)

        assert numbers(server.messages("Processed")) == [1, 3]
        ((raw, flags),) = server.fetch("INBOX")
        assert number(raw) == 2 and b"\\Deleted" not in flags


# --- The folder door ---------------------------------------------------------------------------


def drop(folder, name: str, raw: bytes) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(raw)


def names(folder) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if path.is_file())


def test_each_file_is_handed_over_once_and_moved_to_processed(tmp_path):
    inbox = tmp_path / "inbox"
    for n in (3, 1, 2):
        drop(inbox, f"{n}.eml", message(n))
    drop(inbox, "notes.txt", b"not a message")
    handler = Recorder()

    assert poll_folder(handler, path=inbox) == PollResult(taken=3, failed=0)
    assert poll_folder(handler, path=inbox) == PollResult(taken=0, failed=0)

    assert handler.seen == [1, 2, 3]  # in name order
    assert names(inbox) == ["notes.txt"]
    assert names(inbox / "processed") == ["1.eml", "2.eml", "3.eml"]
    assert (inbox / "processed" / "2.eml").read_bytes() == message(2)


def test_a_file_whose_handler_raises_stays_and_the_others_go_on(tmp_path, caplog):
    inbox = tmp_path / "inbox"
    for n in (1, 2, 3):
        drop(inbox, f"{n}.eml", message(n))

    with caplog.at_level(logging.ERROR, logger="complaints.mailbox"):
        assert poll_folder(Recorder(fails={2}), path=inbox) == PollResult(taken=2, failed=1)

    assert names(inbox) == ["2.eml"]
    assert names(inbox / "processed") == ["1.eml", "3.eml"]
    (line,) = [record.getMessage() for record in caplog.records]
    assert line.startswith("inbound mail: 2.eml failed, left in ") and line.endswith(
        "ValueError: cannot take message 2"
    )
    assert poll_folder(Recorder(), path=inbox) == PollResult(taken=1, failed=0)
    assert names(inbox) == []


def test_a_file_is_moved_only_after_its_handler_returned(tmp_path):
    inbox = tmp_path / "inbox"
    drop(inbox, "1.eml", message(1))
    where: list[bool] = []

    def look(raw: bytes) -> None:
        where.append((inbox / "1.eml").exists() and not (inbox / "processed" / "1.eml").exists())

    assert poll_folder(Recorder(during=look), path=inbox).taken == 1
    assert where == [True]


def test_the_folder_is_created_when_missing_and_hidden_files_wait(tmp_path):
    inbox = tmp_path / "var" / "inbox"
    assert poll_folder(Recorder(), path=inbox) == PollResult(taken=0, failed=0)
    assert (inbox / "processed").is_dir()

    drop(inbox, ".being-written.eml", message(1))
    assert poll_folder(Recorder(), path=inbox) == PollResult(taken=0, failed=0)
    (inbox / ".being-written.eml").rename(inbox / "1.eml")
    assert poll_folder(Recorder(), path=inbox) == PollResult(taken=1, failed=0)


def test_a_name_already_processed_is_kept_beside_the_first(tmp_path):
    inbox = tmp_path / "inbox"
    drop(inbox, "reply.eml", message(1))
    poll_folder(Recorder(), path=inbox)
    drop(inbox, "reply.eml", message(2))
    poll_folder(Recorder(), path=inbox)

    assert names(inbox / "processed") == ["reply-1.eml", "reply.eml"]
    assert (inbox / "processed" / "reply-1.eml").read_bytes() == message(2)


# --- The task and its schedule ----------------------------------------------------------------

RECEIVED: list[tuple[int, str]] = []


def receive(raw: bytes, *, door: str) -> None:
    """The handler the task resolves in the test below, in place of the pipeline."""
    RECEIVED.append((number(raw), door))


def test_the_task_takes_mail_from_both_doors_with_the_handler_it_names(imap_server, tmp_path, settings):
    imap_server.append(message(1))
    drop(tmp_path / "inbox", "2.eml", message(2))
    settings.INBOUND_IMAP_HOST, settings.INBOUND_IMAP_PORT = imap_server.host, imap_server.port
    settings.INBOUND_IMAP_USER, settings.INBOUND_IMAP_PASSWORD = imap_server.user, imap_server.password
    settings.INBOUND_IMAP_SSL = False
    settings.INBOUND_FOLDER = tmp_path / "inbox"
    settings.INBOUND_HANDLER = f"{__name__}.receive"
    RECEIVED.clear()

    assert tasks.poll_inbound_mail.apply().get() == {"taken": 2, "failed": 0}
    assert RECEIVED == [(1, InboundDoor.IMAP), (2, InboundDoor.FOLDER)]
    assert numbers(imap_server.messages("Processed")) == [1]


def beat_entry(tmp_path, **env: str) -> subprocess.CompletedProcess[str]:
    """config.settings in a fresh interpreter with exactly `env`: the inbound poll's beat entry."""
    code = (
        "import json, config.settings as s; "
        "print(json.dumps([s.CELERY_BEAT_SCHEDULE.get('poll-inbound-mail'), str(s.INBOUND_FOLDER)]))"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "VAR_DIR": str(tmp_path / "var"), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_beat_polls_the_inbound_doors_only_when_one_is_configured(tmp_path):
    production = {"SECRET_KEY": "x" * 60}
    imap = {"INBOUND_IMAP_HOST": "imap.example.org", "INBOUND_IMAP_USER": "u", "INBOUND_IMAP_PASSWORD": "p"}
    runs = {
        "none": beat_entry(tmp_path, **production),
        "imap": beat_entry(tmp_path, **production, **imap, INBOUND_POLL_INTERVAL="30"),
        "folder": beat_entry(tmp_path, **production, INBOUND_FOLDER=str(tmp_path / "drop")),
        "debug": beat_entry(tmp_path, DEBUG="true"),
    }
    entries = {name: json.loads(run.stdout) for name, run in runs.items() if run.returncode == 0}
    assert entries.keys() == runs.keys(), [run.stderr for run in runs.values()]

    assert entries["none"] == [None, "None"]
    entry = {"task": tasks.poll_inbound_mail.name, "schedule": 30.0, "options": {"expires": 30.0}}
    assert entries["imap"][0] == entry
    assert entries["folder"] == [
        {**entry, "schedule": 10.0, "options": {"expires": 10.0}},
        str(tmp_path / "drop"),
    ]
    # `make run` (DEBUG) takes what is dropped in var/inbox/.
    assert entries["debug"][1] == str(tmp_path / "var" / "inbox")
    assert entries["debug"][0]["task"] == tasks.poll_inbound_mail.name


def test_an_imap_door_without_its_account_fails_at_start_up(tmp_path):
    run = beat_entry(tmp_path, SECRET_KEY="x" * 60, INBOUND_IMAP_HOST="imap.example.org")
    assert run.returncode != 0
    assert "INBOUND_IMAP_HOST needs INBOUND_IMAP_USER and INBOUND_IMAP_PASSWORD" in run.stderr
