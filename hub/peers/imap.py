"""IMAP peers: Dovecot (CONDSTORE, QRESYNC, SPECIAL-USE, IDLE) and pymap (plain IMAP).

The test kit's ``dovecot`` and ``pymap`` fixtures (:mod:`hub.testing.peers.imap`) are session-scoped
servers on free loopback ports with a self-signed certificate for ``localhost``/``127.0.0.1`` (the
same one the ``smtp_server`` serves). Tests isolate themselves by creating their own users::

    def test_something(dovecot):
        user = dovecot.add_user()                     # MailUser(username, password, email)
        uid = dovecot.append(user, "INBOX", raw_bytes, flags=[b"\\Seen"])
        with dovecot.client(user) as imap:            # an imapclient.IMAPClient, logged in
            imap.select_folder("INBOX")

``dovecot.port`` speaks plain IMAP and STARTTLS, ``dovecot.ssl_port`` implicit TLS; ``pymap`` has
only ``port`` (STARTTLS, no implicit-TLS listener). ``cert_path`` is the certificate to trust.
``expire_uidvalidity(user, mailbox)`` changes a mailbox's UIDVALIDITY the way a server restore
does, so every cached UID becomes invalid. Dovecot also accepts XOAUTH2/OAUTHBEARER: register a
token with ``dovecot.add_token(user)``; it checks tokens against a small introspection endpoint.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import ssl
import subprocess
import threading
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterable

from hub.peers.base import free_port, wait_for_port
from hub.peers.smtp import peer_certificate


@dataclass(frozen=True)
class MailUser:
    """A mailbox on a test peer; ``password`` is plain text (test data only)."""

    username: str
    password: str
    email: str

    def __repr__(self) -> str:
        return f"<MailUser {self.username}>"


class ImapPeer:
    """What both IMAP peers offer tests: users, a logged-in client, APPEND, a UIDVALIDITY change."""

    name = "imap"
    host = "127.0.0.1"
    #: whether the server offers CONDSTORE/QRESYNC and SPECIAL-USE
    modern = False
    #: the mailbox ``add_user`` creates as the Sent folder (its name differs between servers)
    sent_folder = "Sent"
    #: whether raw 8-bit bytes in a header reach clients as ``X`` (Cyrus's ``munge8bit``)
    munges_8bit = False

    def __init__(self, directory: Path):
        self.directory = directory
        self.port = free_port()
        self.ssl_port: int | None = None
        self.cert_path, self.key_path = peer_certificate()
        self.process: subprocess.Popen | None = None
        self._lock = threading.Lock()

    # --- what subclasses provide -------------------------------------------------------------------

    def _write_user(self, user: MailUser) -> None:
        raise NotImplementedError

    def _make_sent_folder(self, user: MailUser) -> None:
        with self.client(user) as imap:
            folders = {f[2] for f in imap.list_folders()}
            if self.sent_folder not in folders:
                imap.create_folder(self.sent_folder)  # Dovecot auto-creates it with \Sent; pymap needs it made

    def expire_uidvalidity(self, user: MailUser, mailbox: str = "INBOX") -> None:
        """Give ``mailbox`` a new UIDVALIDITY, so every cached UID of it is invalid."""
        raise NotImplementedError

    # --- shared ------------------------------------------------------------------------------------

    def ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts this peer's certificate (and checks the host name)."""
        return ssl.create_default_context(cafile=str(self.cert_path))

    def mailbox(self, folder: str) -> str:
        """The mailbox name of the hub folder ``folder`` ("inbox" or "sent") on this server."""
        return {"inbox": "INBOX", "sent": self.sent_folder}[folder]

    def add_user(self, name: str | None = None, password: str | None = None) -> MailUser:
        """Create a mailbox user (a fresh random one by default) with INBOX and a Sent folder
        (named :attr:`sent_folder`).

        :param name: the login name; the address is the name when it has an ``@``, else
            ``<name>@example.test``.
        """
        user = self._new_user(name, password)
        self._make_sent_folder(user)
        return user

    def _new_user(self, name: str | None, password: str | None) -> MailUser:
        """The user's login, written where the server reads it; no folders yet."""
        name = name or "user" + secrets.token_hex(4)
        email = name if "@" in name else f"{name}@example.test"  # e.g. an Apple ID as the login name
        user = MailUser(name, password or secrets.token_urlsafe(12), email)
        with self._lock:
            self._write_user(user)
        return user

    def client(self, user: MailUser, timeout: float = 15):
        """An ``imapclient.IMAPClient`` logged in as ``user`` over STARTTLS, with TCP_NODELAY."""
        import imapclient

        imap = imapclient.IMAPClient(self.host, self.port, ssl=False, timeout=timeout)
        # without it every APPEND waits on Nagle's algorithm (~40 ms each on pymap)
        imap.socket().setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        imap.starttls(self.ssl_context())
        imap.login(user.username, user.password)
        return imap

    def append(
        self,
        user: MailUser,
        folder: str,
        raw: bytes,
        flags: Iterable[bytes | str] = (),
        msg_time: datetime | None = None,
    ) -> int | None:
        """APPEND ``raw`` to ``folder`` of ``user``; returns the new UID when the server says it (UIDPLUS)."""
        with self.client(user) as imap:
            return self.append_with(imap, folder, raw, flags, msg_time)

    def append_many(self, user: MailUser, folder: str, messages: Iterable[bytes]) -> list[int | None]:
        """APPEND several messages over one connection (for bulk seeding)."""
        with self.client(user) as imap:
            return [self.append_with(imap, folder, raw) for raw in messages]

    @staticmethod
    def append_with(imap, folder, raw, flags=(), msg_time=None) -> int | None:
        response = imap.append(folder, raw, flags=tuple(flags), msg_time=msg_time)
        # "[APPENDUID <uidvalidity> <uid>] Append completed."
        text = response.decode("ascii", "replace") if isinstance(response, bytes) else str(response)
        if "APPENDUID" in text:
            return int(text.split("APPENDUID", 1)[1].split("]", 1)[0].split()[1])
        return None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None


# --- Dovecot ---------------------------------------------------------------------------------------

_DOVECOT_CONF = """\
base_dir = {d}/run
state_dir = {d}/state
instance_name = hub-test-{tag}
log_path = {d}/dovecot.log
listen = 127.0.0.1
protocols = imap
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
disable_plaintext_auth = no
auth_mechanisms = plain login xoauth2 oauthbearer
auth_failure_delay = 0
mail_location = maildir:~/Maildir
mail_fsync = never
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/users/%u
  mechanisms = plain login
}}
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {d}/oauth2.conf
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={d}/mail/%u allow_all_users=yes
}}
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Sent {{
    special_use = \\Sent
    auto = subscribe
  }}
  mailbox Drafts {{
    special_use = \\Drafts
    auto = subscribe
  }}
  mailbox Trash {{
    special_use = \\Trash
    auto = subscribe
  }}
}}
protocol imap {{
  mail_max_userip_connections = 200
}}
# no auth penalty: every test logs in from 127.0.0.1, and after one wrong password Dovecot would
# delay that address's next logins by up to 15 s (the auth process skips penalties it cannot ask anvil about)
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {ssl_port}
    ssl = yes
  }}
}}
"""

_OAUTH2_CONF = """\
introspection_mode = post
introspection_url = http://127.0.0.1:{port}/introspect
username_attribute = username
active_attribute = active
active_value = true
force_introspection = yes
"""


class _Introspection(ThreadingHTTPServer):
    """RFC 7662 token introspection for Dovecot's oauth2 passdb: known tokens are active."""

    daemon_threads = True

    def __init__(self):
        self.tokens: dict[str, str] = {}
        super().__init__(("127.0.0.1", 0), _IntrospectionHandler)


class _IntrospectionHandler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server naming)
        from urllib.parse import parse_qs

        length = int(self.headers.get("Content-Length") or 0)
        token = parse_qs(self.rfile.read(length).decode()).get("token", [""])[0]
        user = self.server.tokens.get(token)
        body = json.dumps({"active": "true", "username": user} if user else {"active": "false"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # keep test output clean
        pass


class DovecotServer(ImapPeer):
    """Dovecot started in the foreground (``dovecot -F``) with its own config, users and mail."""

    name = "dovecot"
    modern = True

    def __init__(self, directory: Path, executable: str):
        super().__init__(directory)
        self.executable = executable
        self.ssl_port = free_port()
        self.config_path = directory / "dovecot.conf"
        self.introspection = _Introspection()

    def start(self) -> "DovecotServer":
        d = self.directory
        for sub in ("run", "state", "mail"):
            (d / sub).mkdir(exist_ok=True)
        shutil.chown(d / "mail", "nobody", "nogroup")  # Dovecot refuses to deliver as root
        (d / "users").mkdir(exist_ok=True)
        threading.Thread(target=self.introspection.serve_forever, daemon=True).start()
        (d / "oauth2.conf").write_text(_OAUTH2_CONF.format(port=self.introspection.server_address[1]))
        self.config_path.write_text(_DOVECOT_CONF.format(
            d=d, tag=d.name, cert=self.cert_path, key=self.key_path, port=self.port, ssl_port=self.ssl_port,
        ))
        with open(d / "stderr.log", "wb") as err:
            self.process = subprocess.Popen(
                [self.executable, "-F", "-c", str(self.config_path)], stdout=subprocess.DEVNULL, stderr=err
            )
        try:
            wait_for_port(self.port, proc=self.process)
            wait_for_port(self.ssl_port, proc=self.process)
        except RuntimeError as exc:
            log = "".join(p.read_text(errors="replace") for p in (d / "dovecot.log", d / "stderr.log") if p.exists())
            self.stop()
            raise RuntimeError(f"Dovecot did not start: {exc}\n{log}") from None
        return self

    def _write_user(self, user: MailUser) -> None:
        # one passwd-file per user: Dovecot re-checks a changed file at most once a second, a new
        # file is read at once
        path = self.directory / "users" / user.username
        path.write_text(f"{user.username}:{{PLAIN}}{user.password}\n")
        os.chmod(path, 0o644)

    def add_token(self, user: MailUser) -> str:
        """A new OAuth access token Dovecot accepts for ``user`` (XOAUTH2 / OAUTHBEARER)."""
        token = "ya29." + secrets.token_urlsafe(24)
        self.introspection.tokens[token] = user.username
        return token

    def revoke_tokens(self, user: MailUser) -> None:
        """Make every token of ``user`` inactive, as a revoked grant is."""
        for token, owner in list(self.introspection.tokens.items()):
            if owner == user.username:
                del self.introspection.tokens[token]

    def doveadm(self, *args: str) -> str:
        """Run ``doveadm`` against this instance."""
        doveadm = shutil.which("doveadm") or "/usr/bin/doveadm"
        done = subprocess.run([doveadm, "-c", str(self.config_path), *args], capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"doveadm {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout

    def expire_uidvalidity(self, user: MailUser, mailbox: str = "INBOX") -> None:
        current = int(self.doveadm("mailbox", "status", "-u", user.username, "uidvalidity", mailbox).split("=")[1])
        self.doveadm("mailbox", "update", "-u", user.username, "--uid-validity", str(current + 1000), mailbox)

    def stop(self) -> None:
        super().stop()
        self.introspection.shutdown()
        self.introspection.server_close()


# --- pymap -----------------------------------------------------------------------------------------


class PymapServer(ImapPeer):
    """pymap's maildir backend: no CONDSTORE/QRESYNC/ENABLE/SPECIAL-USE, STARTTLS only."""

    name = "pymap"
    modern = False

    def __init__(self, directory: Path, executable: str):
        super().__init__(directory)
        self.executable = executable
        self.maildir = directory / "md"

    def start(self) -> "PymapServer":
        self.maildir.mkdir(exist_ok=True)
        for name in ("pymap-etc-passwd", "pymap-etc-shadow"):
            (self.maildir / name).touch()
        with open(self.directory / "stderr.log", "wb") as err:
            self.process = subprocess.Popen(
                [self.executable, "--host", self.host, "--port", str(self.port), "--cert", str(self.cert_path),
                 "--key", str(self.key_path), "maildir", str(self.maildir)],
                stdout=subprocess.DEVNULL, stderr=err,
            )
        try:
            wait_for_port(self.port, proc=self.process, timeout=30)
        except RuntimeError as exc:
            output = (self.directory / "stderr.log").read_text(errors="replace")
            self.stop()
            raise RuntimeError(f"pymap did not start: {exc}\n{output}") from None
        return self

    def _write_user(self, user: MailUser) -> None:
        from pysasl.hashing import BuiltinHash

        # pymap re-reads both files at each login; few hash rounds keep test logins fast
        hashed = BuiltinHash(rounds=1000).hash(user.password)
        with open(self.maildir / "pymap-etc-passwd", "a") as fh:
            fh.write(f"{user.username}:x::::{user.username}:\n")
        with open(self.maildir / "pymap-etc-shadow", "a") as fh:
            fh.write(f"{user.username}:{hashed}\n")

    def expire_uidvalidity(self, user: MailUser, mailbox: str = "INBOX") -> None:
        # pymap keeps UIDVALIDITY in the mailbox's uid list header ("3 V<uidvalidity> N<next> G<guid>"),
        # re-read when a session opens the mailbox; rewriting it is what restoring a backup does
        folder = self.maildir / user.username
        if mailbox.upper() != "INBOX":
            folder = folder / ("." + mailbox)
        uidlist = folder / "dovecot-uidlist"
        lines = uidlist.read_text().splitlines(keepends=True)
        fields = lines[0].split()
        fields = [f"V{int(f[1:]) + 1000}" if f.startswith("V") else f for f in fields]
        lines[0] = " ".join(fields) + "\n"
        uidlist.write_text("".join(lines))
