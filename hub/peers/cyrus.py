"""Cyrus IMAP (with CalDAV) as a real peer; the test kit's ``cyrus`` fixture runs one per test session.

Debian's ``cyrus-imapd`` conflicts with ``dovecot-imapd`` as a package, so Cyrus runs from its
unpacked ``.deb`` files (``apt-get download`` + ``dpkg -x``, done by ``.ci/run``) under
``$HUB_CYRUS_ROOT`` (default ``/opt/cyrus``). The libraries it links against and ``saslpasswd2``
(``sasl2-bin``) are ordinary packages installed on the machine.

The server is configured the way Cyrus installations usually are, which is what makes it a useful
peer next to Dovecot and pymap:

* the standard namespace with ``.`` as separator: a user's folders are ``INBOX.Sent``,
  ``INBOX.Archive``… (:attr:`CyrusServer.sent_folder`);
* ``munge8bit``: raw 8-bit bytes in a header reach clients as ``X`` (:attr:`munges_8bit`);
* CONDSTORE, QRESYNC, SPECIAL-USE, CREATE-SPECIAL-USE, and IDLE through ``idled``;
* users in a sasldb (PLAIN/LOGIN), mailboxes created by the ``cyrus`` admin.

Tests isolate themselves by creating users, as with the other IMAP peers::

    def test_something(cyrus):
        user = cyrus.add_user()                       # INBOX + INBOX.Sent flagged \\Sent
        old = cyrus.add_user(legacy_sent=True)        # INBOX.Sent without the \\Sent flag
        cyrus.append(user, "INBOX", raw_bytes)
        with cyrus.client(user) as imap: ...

CalDAV (``httpmodules: caldav``) listens on plain HTTP at :attr:`CyrusServer.http_port` with Basic
authentication (same user name and password as IMAP). URL layout (:meth:`CyrusServer.caldav_url`):

* ``/.well-known/caldav`` → redirect to ``/dav/``;
* ``/dav/principals/user/<name>/`` — the principal;
* ``/dav/calendars/user/<name>/`` — the calendar home; ``Default/`` in it is created on first
  access; other calendars are made with MKCALENDAR under the home;
* an invalid or expired ``DAV:sync-token`` is answered with **403** (``DAV:valid-sync-token``).
"""

from __future__ import annotations

import getpass
import imaplib
import os
import secrets
import shutil
import subprocess
from pathlib import Path

from hub.peers.base import free_port, wait_for_port
from hub.peers.imap import ImapPeer, MailUser

#: where the unpacked Debian packages live (``usr/lib/cyrus/bin/master`` under it)
CYRUS_ROOT = Path(os.environ.get("HUB_CYRUS_ROOT", "/opt/cyrus"))

_IMAPD_CONF = """\
configdirectory: {d}/conf
partition-default: {d}/spool
defaultpartition: default
proc_path: {d}/run/proc
mboxname_lockpath: {d}/run/lock
sievedir: {d}/sieve
servername: localhost
cyrus_user: {run_as}
admins: {admin}
altnamespace: no
unixhierarchysep: no
munge8bit: yes
# delayed delete keeps DELETED.<name>.<time>: two deletes of one name in a second would collide
delete_mode: immediate
allowplaintext: yes
sasl_pwcheck_method: auxprop
sasl_auxprop_plugin: sasldb
sasl_sasldb_path: {d}/sasldb2
sasl_mech_list: PLAIN LOGIN
tls_server_cert: {cert}
tls_server_key: {key}
httpmodules: caldav
syslog_prefix: hub-test-cyrus
"""

# Services get the full path and -C: the unpacked binaries are not where Cyrus was built to look.
_CYRUS_CONF = """\
START {{
  recover cmd="{bin}/ctl_cyrusdb -C {conf} -r"
}}
SERVICES {{
  imap cmd="{bin}/imapd -C {conf}" listen="127.0.0.1:{port}" prefork=1
  imaps cmd="{bin}/imapd -C {conf} -s" listen="127.0.0.1:{ssl_port}" prefork=0
  http cmd="{bin}/httpd -C {conf}" listen="127.0.0.1:{http_port}" prefork=1
}}
DAEMON {{
  idled cmd="{bin}/idled -C {conf}"
}}
"""


class CyrusServer(ImapPeer):
    """Cyrus's ``master`` in the foreground with its own configuration, sasldb and spool."""

    name = "cyrus"
    modern = True
    sent_folder = "INBOX.Sent"
    munges_8bit = True
    admin = "cyrus"

    def __init__(self, directory: Path, root: Path = CYRUS_ROOT):
        super().__init__(directory)
        self.root = root
        self.bin = root / "usr/lib/cyrus/bin"
        self.ssl_port = free_port()
        self.http_port = free_port()
        self.config_path = directory / "imapd.conf"
        self.admin_password = secrets.token_urlsafe(12)
        self.saslpasswd2 = shutil.which("saslpasswd2") or str(root / "usr/sbin/saslpasswd2")
        # a non-root user runs Cyrus as itself; root hands it to nobody (Cyrus refuses to run as root)
        self.run_as = "nobody" if os.geteuid() == 0 else getpass.getuser()

    @property
    def environment(self) -> dict[str, str]:
        libs = [str(p) for p in (self.root / "usr/lib").glob("*-linux-gnu")]
        return {**os.environ, "LD_LIBRARY_PATH": os.pathsep.join([*libs, os.environ.get("LD_LIBRARY_PATH", "")])}

    def start(self) -> "CyrusServer":
        d = self.directory
        for sub in ("conf/socket", "spool", "run/proc", "run/lock", "sieve"):
            (d / sub).mkdir(parents=True, exist_ok=True)
        # Cyrus runs as another user: it gets its own copy of the shared test certificate and key
        cert, key = d / "cert.pem", d / "key.pem"
        shutil.copyfile(self.cert_path, cert)
        shutil.copyfile(self.key_path, key)
        self.config_path.write_text(_IMAPD_CONF.format(d=d, run_as=self.run_as, admin=self.admin, cert=cert, key=key))
        (d / "cyrus.conf").write_text(_CYRUS_CONF.format(
            bin=self.bin, conf=self.config_path, port=self.port, ssl_port=self.ssl_port, http_port=self.http_port))
        self._set_password(self.admin, self.admin_password)
        if os.geteuid() == 0:
            subprocess.run(["chown", "-R", f"{self.run_as}:", str(d)], check=True)
        with open(d / "stderr.log", "wb") as err:
            self.process = subprocess.Popen(
                [str(self.bin / "master"), "-D", "-C", str(self.config_path), "-M", str(d / "cyrus.conf"),
                 "-p", str(d / "master.pid")],
                stdout=subprocess.DEVNULL, stderr=err, env=self.environment,
            )
        try:
            for port in (self.port, self.ssl_port, self.http_port):
                wait_for_port(port, proc=self.process)
        except RuntimeError as exc:
            log = (d / "stderr.log").read_text(errors="replace")
            self.stop()
            raise RuntimeError(f"Cyrus did not start (it logs to syslog): {exc}\n{log}") from None
        return self

    def _set_password(self, username: str, password: str) -> None:
        done = subprocess.run(
            [self.saslpasswd2, "-p", "-c", "-f", str(self.directory / "sasldb2"), "-u", "localhost", username],
            input=password.encode(), capture_output=True, env=self.environment,
        )
        if done.returncode:
            raise RuntimeError(f"saslpasswd2 failed: {done.stderr.decode(errors='replace').strip()}")

    def _write_user(self, user: MailUser) -> None:
        if "." in user.username or "@" in user.username:
            raise ValueError("Cyrus user names here may not contain '.' or '@' (the hierarchy separator)")
        self._set_password(user.username, user.password)
        with self.admin_client() as imap:
            imap.create_folder(f"user.{user.username}")

    def admin_client(self):
        """An IMAP client logged in as the Cyrus admin (sees every user's folders as ``user.<name>``)."""
        return self.client(MailUser(self.admin, self.admin_password, f"{self.admin}@example.test"))

    def add_user(self, name: str | None = None, password: str | None = None, *,
                 legacy_sent: bool = False) -> MailUser:
        """A user with INBOX and ``INBOX.Sent``; with ``legacy_sent`` the Sent folder has no ``\\Sent``
        flag, like every mailbox created before SPECIAL-USE was configured."""
        user = self._new_user(name, password)
        with self.client(user) as imap:
            if legacy_sent:
                imap.create_folder(self.sent_folder)
            else:
                create_special(imap, self.sent_folder, b"\\Sent")
        return user

    def expire_uidvalidity(self, user: MailUser, mailbox: str = "INBOX") -> None:
        # a restore from backup: the mailbox is made anew (new UIDVALIDITY) and its messages put back
        # with their flags and dates. Cyrus cannot rename INBOX (imapd drops the connection), so for
        # INBOX the whole user is deleted and restored, every folder getting a new UIDVALIDITY.
        with self.client(user) as imap:
            listing = [(name, flags) for flags, _d, name in imap.list_folders()
                       if mailbox.upper() == "INBOX" or name == mailbox]
            saved = {name: _read_all(imap, name) for name, _flags in listing}
            if mailbox.upper() != "INBOX":
                # Cyrus refuses to delete a special-use mailbox: clear its flag first
                imap._imap._simple_command(  # noqa: SLF001 - imapclient has no SETMETADATA
                    "SETMETADATA", imap._imap._quote(mailbox), "(/private/specialuse NIL)")
                imap.delete_folder(mailbox)
        if mailbox.upper() == "INBOX":
            with self.admin_client() as admin:
                admin.setacl(f"user.{user.username}", self.admin, "lrswipkxtecdan")
                admin.delete_folder(f"user.{user.username}")
                admin.create_folder(f"user.{user.username}")
        with self.client(user) as imap:
            for name, flags in listing:
                use = next((f for f in flags if f.lower() in _SPECIAL_USE), None)
                if name.upper() != "INBOX":
                    create_special(imap, name, use) if use else imap.create_folder(name)
                for raw, msg_flags, when in saved[name]:
                    imap.append(name, raw, flags=[f for f in msg_flags if f != b"\\Recent"], msg_time=when)

    def caldav_url(self, user: MailUser | None = None) -> str:
        """The server's DAV root, or ``user``'s calendar home when given."""
        base = f"http://{self.host}:{self.http_port}/dav/"
        return base if user is None else f"{base}calendars/user/{user.username}/"


# imaplib sends only the commands it knows; SETMETADATA (RFC 5464) clears a special-use flag
imaplib.Commands.setdefault("SETMETADATA", ("AUTH", "SELECTED"))

_SPECIAL_USE = {b"\\sent", b"\\drafts", b"\\trash", b"\\junk", b"\\archive", b"\\all", b"\\flagged"}


def create_special(imap, mailbox: str, use: bytes) -> None:
    """CREATE-SPECIAL-USE (RFC 6154 §3): imapclient has no call for it."""
    imap._imap._simple_command("CREATE", imap._imap._quote(mailbox), f"(USE ({use.decode()}))")  # noqa: SLF001


def _read_all(imap, mailbox: str) -> list[tuple[bytes, tuple[bytes, ...], object]]:
    """Every message of ``mailbox`` as (raw bytes, flags, internal date)."""
    imap.select_folder(mailbox, readonly=True)
    uids = imap.search(["ALL"])
    fetched = imap.fetch(uids, ["BODY.PEEK[]", "FLAGS", "INTERNALDATE"]) if uids else {}
    imap.unselect_folder()
    return [(data[b"BODY[]"], data[b"FLAGS"], data[b"INTERNALDATE"]) for _uid, data in sorted(fetched.items())]
