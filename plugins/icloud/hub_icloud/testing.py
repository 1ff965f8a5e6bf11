"""Test helpers for the iCloud provider: the conformance suite's Remote on Radicale (the CalDAV
plugin's, plus mail on Dovecot), and accounts.

Shipped in the package (not in ``tests/``) so tests import it the same way whatever pytest's
import mode, like :mod:`hub_imap.testing`.
"""

from __future__ import annotations

from hub_caldav.testing import CalDAVRemote, event_ics  # noqa: F401 (event_ics: re-exported for tests)


class RadicaleRemote(CalDAVRemote):
    """Remote edits for one Radicale user (and, for mail, one Dovecot user)."""

    def __init__(self, radicale, user, mail_server=None):
        from hub.testing.peers.imap import MailUser

        super().__init__(radicale, user)
        self.mail_server = mail_server
        self.mail_user = MailUser(user.name, user.password, user.name)

    def expire_cursors(self) -> None:
        super().expire_cursors()
        if self.mail_server is not None:
            for mailbox in ("INBOX", "Sent"):
                self.mail_server.expire_uidvalidity(self.mail_user, mailbox)

    def deliver_mail(self, folder: str, raw: bytes) -> None:
        self.mail_server.append(self.mail_user, "INBOX" if folder == "inbox" else "Sent", raw)


def plugin_hooks():
    """A real plugin manager with only the iCloud plugin, as the hub builds it."""
    from hub.plugins import PluginManager

    from hub_icloud import hooks

    manager = PluginManager()
    manager.load("", extra=[("icloud", hooks)])
    return manager.hook


def connect(hooks, caldav_url: str, user, allow_private: bool = True, **config):
    """Connect ``user`` through ``hub_connect`` and return the AccountHandle the core would build."""
    from hub.types import AccountHandle, ProviderContext

    context = ProviderContext(name="icloud", config={"caldav_url": caldav_url, **config},
                              base_url="http://127.0.0.1:8000", allow_private_hosts=allow_private)
    result = hooks.hub_connect(context=context, params={"email": user.name, "password": user.password})
    return AccountHandle(id=7, provider="icloud", email=result.email, credentials=dict(result.credentials),
                         settings=dict(result.settings), context=context)


def mail_config(dovecot, smtp_server) -> dict[str, str]:
    """iCloud's mail settings pointed at the test peers (implicit-TLS IMAP, STARTTLS SMTP)."""
    certificates = dovecot.cert_path.read_text() + smtp_server.cert_path.read_text()
    return {"imap_host": "127.0.0.1", "imap_port": str(dovecot.ssl_port), "imap_security": "ssl",
            "smtp_host": "127.0.0.1", "smtp_port": str(smtp_server.port), "smtp_security": "starttls",
            "ca_certificates": certificates}


def new_user(radicale, dovecot, smtp_server):
    """An Apple ID as the peers know it: a Radicale user with calendars, a mailbox and SMTP login."""
    user = radicale.add_user()
    radicale.make_calendar(user, "home", "Home")
    radicale.make_calendar(user, "reminders", "Reminders", components=("VTODO",))
    dovecot.add_user(user.name, user.password)
    smtp_server.add_user(user.name, user.password)
    return user
