"""Run by tests/complaints/test_mailbox.py in a subprocess of its own:

    python -m tests.complaints.killed_poller HOST PORT USER PASSWORD KILL_AFTER

polls the IMAP door once with a handler that commits one row per message into the test's
table `test_mailbox_handled` and, right after its KILL_AFTER-th commit, kills its own
process with SIGKILL: the handler has returned nothing yet, so the door has not moved that
message. Needs DJANGO_SETTINGS_MODULE and DATABASE_URL (tests.processes.subprocess_env).
"""

from __future__ import annotations

import os
import signal
import sys

import django


def main(host: str, port: str, user: str, password: str, kill_after: str) -> None:
    django.setup()
    from django.db import connection, transaction

    from complaints.mailbox import MailboxSettings, poll_imap
    from tests.complaints.test_mailbox import number

    committed = 0

    def commit_then_die(raw: bytes) -> None:
        nonlocal committed
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("INSERT INTO test_mailbox_handled (number) VALUES (%s)", [number(raw)])
        committed += 1
        if committed == int(kill_after):
            os.kill(os.getpid(), signal.SIGKILL)

    mailbox = MailboxSettings(host=host, port=int(port), user=user, password=password, ssl=False)
    poll_imap(commit_then_die, mailbox=mailbox)


if __name__ == "__main__":
    main(*sys.argv[1:])
