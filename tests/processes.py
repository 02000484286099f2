"""Start and stop the portal's processes (a Celery worker and beat, gunicorn) and wait on them;
an SMTP server for them to send to, and a real IMAP server (Dovecot) for them to read from.

Plain helpers, no pytest: the tests use them through their fixtures (tests/conftest.py)
and `make bench` (bench/harness.py) starts its gunicorn, worker and beat with them too.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate, *, timeout: float, interval: float = 0.1, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def empty_broker(broker_url: str) -> None:
    """Empty the tests' broker database before a worker starts: the queues, and the messages a
    worker killed by an earlier test left unacknowledged, which kombu would hand to the next
    worker (a stray sweep or delivery run would then act in the middle of another test).
    `app.control.purge()` empties the queues only."""
    import redis

    client = redis.Redis.from_url(broker_url)
    try:
        client.flushdb()
    finally:
        client.close()


class WorkerProcess:
    """A real `celery worker` subprocess; its output is kept in a log file."""

    ARGS = ("worker", "--loglevel=INFO", "--pool=solo", "--without-gossip", "--without-mingle")
    READY = b"ready."

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def launch(self, command: list[str]) -> None:
        """Start `command` with its output (stdout and stderr) appended to the log file."""
        self.log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT
        )

    def start(self, *extra: str) -> WorkerProcess:
        self.launch([sys.executable, "-m", "celery", "-A", "config", *self.ARGS, *extra])
        wait_for(
            lambda: self.READY in self.log_path.read_bytes() or self.process.poll() is not None,
            timeout=60,
            what=f"celery {self.ARGS[0]} to be ready",
        )
        assert self.process.poll() is None, self.output()
        return self

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 20) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process:
            self.log.close()


class BeatProcess(WorkerProcess):
    """A real `celery beat` subprocess (pass `--schedule PATH` to keep its state in a test's folder)."""

    ARGS = ("beat", "--loglevel=INFO")
    READY = b"beat: Starting"


def subprocess_env(**overrides: str) -> dict[str, str]:
    """The environment for a child Django process, pointed at the test settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["DJANGO_SETTINGS_MODULE"] = "config.test_settings"
    env["PYTHONPATH"] = str(ROOT)
    env.update(overrides)
    return env


def celery_env(broker_url: str, **overrides: str) -> dict[str, str]:
    """The environment for a Celery worker or beat on `broker_url` and this test's database."""
    from django.db import connection

    return subprocess_env(
        CELERY_BROKER_URL=broker_url,
        DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{connection.settings_dict['NAME']}",
        **overrides,
    )


class GunicornProcess(WorkerProcess):
    """gunicorn serving `config.wsgi` on a free port, access and error log in one file.

    `access_log` names another file for the access log, or is None for none at all;
    `start(*extra)` appends gunicorn options (an access-log format, a log level...) and
    waits until `ready_path` answers.
    """

    def __init__(
        self,
        env: dict[str, str],
        log_path: Path,
        *,
        workers: int = 2,
        timeout: int = 30,
        access_log: str | Path | None = "-",
        ready_path: str = "/healthz",
    ) -> None:
        super().__init__(env, log_path)
        self.workers = workers
        self.timeout = timeout
        self.access_log = access_log
        self.ready_path = ready_path
        self.port = free_port()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *extra: str) -> GunicornProcess:
        import urllib.error
        import urllib.request

        access_log = () if self.access_log is None else ("--access-logfile", str(self.access_log))
        self.launch(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi",
                "--workers",
                str(self.workers),
                "--bind",
                f"127.0.0.1:{self.port}",
                *access_log,
                "--error-logfile",
                "-",
                "--timeout",
                str(self.timeout),
                "--no-control-socket",  # its default path is shared by every gunicorn of the user
                *extra,
            ]
        )

        def answers() -> bool:
            if self.process.poll() is not None:
                return True
            try:
                urllib.request.urlopen(f"{self.url}{self.ready_path}", timeout=5).close()  # noqa: S310 - http only
            except urllib.error.HTTPError:
                return True  # it answers, even if a service behind it does not
            except OSError:
                return False
            return True

        wait_for(answers, timeout=60, what="gunicorn to answer")
        assert self.process.poll() is None, self.output()
        return self

    def stop(self, timeout: float = 30) -> None:
        super().stop(timeout)


class SmtpSink:
    """A minimal SMTP server on a free port that keeps every message it accepts.

    Enough of RFC 5321 for smtplib (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT), no
    TLS and no AUTH: point EMAIL_HOST/EMAIL_PORT at it with EMAIL_USE_TLS=false.
    `received` counts the messages accepted, `sessions` the SMTP connections made to it;
    `on_message`, if set, is called with the number accepted so far before each one is
    acknowledged (in the server's thread, while the client waits for the reply). With
    `keep=False` it only counts.
    """

    def __init__(self, *, keep: bool = True) -> None:
        import socketserver
        import threading

        # What was accepted, as (raw bytes, recipients); parsed when `messages` is read, so
        # that a sink taking thousands of messages costs the process sending them little.
        self.raw: list[tuple[bytes, str]] = []
        self._parsed: list = []
        self.received = self.sessions = 0
        self.on_message = None
        lock = self._lock = threading.Lock()
        sink = self

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, line: str) -> None:
                self.wfile.write(line.encode() + b"\r\n")

            def handle(self) -> None:
                with lock:
                    sink.sessions += 1
                self.reply("220 sink ESMTP")
                recipients: list[str] = []
                while line := self.rfile.readline():
                    command = line.decode(errors="replace").strip()
                    verb = command[:4].upper()
                    if verb == "EHLO":
                        self.wfile.write(b"250-sink\r\n250 8BITMIME\r\n")
                    elif verb in ("HELO", "MAIL", "NOOP"):
                        self.reply("250 OK")
                    elif verb == "RSET":
                        recipients = []
                        self.reply("250 OK")
                    elif verb == "RCPT":
                        recipients.append(command.split(":", 1)[1].strip().strip("<>"))
                        self.reply("250 OK")
                    elif verb == "DATA":
                        self.reply("354 End data with <CR><LF>.<CR><LF>")
                        data = bytearray()
                        while (chunk := self.rfile.readline()) not in (b".\r\n", b".\n", b""):
                            data += chunk[1:] if chunk.startswith(b"..") else chunk
                        with lock:
                            if keep:
                                sink.raw.append((bytes(data), ", ".join(recipients)))
                            sink.received += 1
                            count = sink.received
                        if sink.on_message is not None:
                            sink.on_message(count)
                        recipients = []
                        self.reply("250 OK queued")
                    elif verb == "QUIT":
                        self.reply("221 Bye")
                        return
                    else:
                        self.reply("502 Command not implemented")

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.host, self.port = self.server.server_address
        self.thread = threading.Thread(target=self.server.serve_forever, name="smtp-sink", daemon=True)

    @property
    def messages(self) -> list:
        """Every message accepted so far (email.message.EmailMessage, with "X-Rcpt-To" added)."""
        import email
        import email.policy

        with self._lock:
            unparsed = self.raw[len(self._parsed) :]
        for data, recipients in unparsed:
            message = email.message_from_bytes(data, policy=email.policy.default)
            message["X-Rcpt-To"] = recipients
            self._parsed.append(message)
        return list(self._parsed)

    def __enter__(self) -> SmtpSink:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.shutdown()
        self.server.server_close()


class ImapServer:
    """A real Dovecot IMAP server on a free port of 127.0.0.1, for as long as the `with` lasts.

    Everything it writes (configuration, mail in Maildir form, sockets, state, log) lives in
    a temporary folder of its own; no system file or service is touched. One user, `user`
    with `password`, logs in with plain text (no TLS: it listens on the loopback only).
    Dovecot never gives mail access to uid 0, so when the tests run as root the mail belongs
    to Dovecot's own system user; otherwise every Dovecot process runs as the current user.
    `capabilities`, if given, replaces what the server announces after login (Dovecot's
    `imap_capability`): a server without MOVE, say, for a client's fallback path.
    """

    USER = "portal"
    PASSWORD = "imap-test-password"  # a throwaway server's only account

    def __init__(self, *, capabilities: str | None = None) -> None:
        self.capabilities = capabilities
        self.host = "127.0.0.1"
        self.port = free_port()
        self.user, self.password = self.USER, self.PASSWORD
        self.process: subprocess.Popen[bytes] | None = None

    def _config(self, root: Path, mail_uid: int, mail_gid: int, process_user: str | None) -> str:
        import grp

        process_group = grp.getgrgid(mail_gid).gr_name
        # Without root, every service runs as the current user and none of them chroots.
        rootless = (
            ""
            if process_user is None
            else f"""
default_internal_user = {process_user}
default_internal_group = {process_group}
default_login_user = {process_user}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
"""
        )
        announce = "" if self.capabilities is None else f"imap_capability = {self.capabilities}"
        return f"""
protocols = imap
listen = {self.host}
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = no
# Dovecot 2.3's name for "allow LOGIN without TLS" (2.4 calls it auth_allow_cleartext).
disable_plaintext_auth = no
first_valid_uid = {mail_uid}
last_valid_uid = {mail_uid}
first_valid_gid = {mail_gid}
last_valid_gid = {mail_gid}
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {root}/users
}}
userdb {{
  driver = static
  args = uid={mail_uid} gid={mail_gid} home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = {self.host}
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
{announce}
{rootless}"""

    def __enter__(self) -> ImapServer:
        import pwd
        import shutil
        import tempfile

        dovecot = shutil.which("dovecot") or "/usr/sbin/dovecot"
        self.root = root = Path(tempfile.mkdtemp(prefix="portal-imap-"))
        (root / "run").mkdir()
        (root / "state").mkdir()
        (root / "mail").mkdir()
        if os.geteuid() == 0:
            owner = pwd.getpwnam("dovecot")  # created by Debian's dovecot-core
            mail_uid, mail_gid, process_user = owner.pw_uid, owner.pw_gid, None
            root.chmod(0o755)  # the mail processes, as that user, must reach mail/
            os.chown(root / "mail", mail_uid, mail_gid)
        else:
            mail_uid, mail_gid = os.getuid(), os.getgid()
            process_user = pwd.getpwuid(mail_uid).pw_name
        (root / "users").write_text(f"{self.user}:{{PLAIN}}{self.password}\n")
        (root / "dovecot.conf").write_text(self._config(root, mail_uid, mail_gid, process_user))
        self.log = (root / "output.log").open("ab")
        self.process = subprocess.Popen(
            [dovecot, "-F", "-c", str(root / "dovecot.conf")], stdout=self.log, stderr=subprocess.STDOUT
        )
        try:
            wait_for(
                lambda: self.process.poll() is not None or port_open(self.host, self.port),
                timeout=30,
                what="dovecot to listen",
            )
            assert self.process.poll() is None, self.output()
        except BaseException:
            self.__exit__()
            raise
        return self

    def output(self) -> str:
        """What Dovecot printed and logged, for an assertion message."""
        return "".join(
            path.read_text(errors="replace")
            for path in (self.root / "output.log", self.root / "dovecot.log")
            if path.exists()
        )

    def connect(self):
        """A logged-in `imapclient.IMAPClient` (a context manager: it logs out on exit)."""
        from imapclient import IMAPClient

        client = IMAPClient(self.host, port=self.port, ssl=False, timeout=10)
        client.login(self.user, self.password)
        return client

    def append(self, raw: bytes, folder: str = "INBOX") -> None:
        """Deliver `raw` into `folder` (created if missing), unseen."""
        with self.connect() as client:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            client.append(folder, raw)

    def fetch(self, folder: str) -> list[tuple[bytes, tuple[bytes, ...]]]:
        """Each message of `folder` as (raw bytes, flags), oldest first; [] if there is no folder.
        Read without setting \\Seen."""
        with self.connect() as client:
            if not client.folder_exists(folder):
                return []
            client.select_folder(folder, readonly=True)
            uids = sorted(client.search("ALL"))
            if not uids:
                return []
            fetched = client.fetch(uids, ["BODY.PEEK[]", "FLAGS"])
            return [(fetched[uid][b"BODY[]"], fetched[uid][b"FLAGS"]) for uid in uids]

    def messages(self, folder: str = "INBOX") -> list[bytes]:
        """The raw bytes of each message in `folder`, oldest first."""
        return [raw for raw, _flags in self.fetch(folder)]

    def clear(self) -> None:
        """Delete every message and every folder but INBOX: a fresh mailbox for the next test."""
        with self.connect() as client:
            for _flags, _delimiter, name in client.list_folders():
                if name.upper() != "INBOX":
                    client.delete_folder(name)
            client.select_folder("INBOX")
            if uids := client.search("ALL"):
                client.delete_messages(uids)
                client.expunge()

    def __exit__(self, *exc_info: object) -> None:
        import shutil

        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        shutil.rmtree(self.root, ignore_errors=True)
