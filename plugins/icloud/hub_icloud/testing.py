"""Test helpers for the iCloud provider: the conformance suite's Remote on Radicale, and accounts.

Events are written as plain HTTP PUTs of iCalendar built here with the ``icalendar`` library —
never with the plugin's own code — so the tests compare the plugin against an independent writer.
Shipped in the package (not in ``tests/``) so tests import it the same way whatever pytest's
import mode, like :mod:`hub_imap.testing`.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import icalendar

from hub.testing.conformance import Remote
from hub.types import RemoteEvent


def event_ics(event: RemoteEvent, uid: str) -> str:
    """A VCALENDAR for ``event`` as a typical client writes it (keeping X- properties it saw)."""
    vevent = icalendar.Event()
    vevent.add("UID", uid)
    vevent.add("DTSTAMP", datetime.now(timezone.utc))
    start, end = event.start, event.end
    if not event.all_day and event.timezone and event.timezone != "UTC":
        zone = ZoneInfo(event.timezone)
        start, end = start.astimezone(zone), end.astimezone(zone)
    vevent.add("DTSTART", start)
    vevent.add("DTEND", end)
    vevent.add("SUMMARY", event.summary)
    if event.location:
        vevent.add("LOCATION", event.location)
    if event.transparent:
        vevent.add("TRANSP", "TRANSPARENT")
    for line in event.recurrence:
        name, _, value = line.partition(":")
        if name == "RRULE":
            vevent.add("RRULE", icalendar.vRecur.from_ical(value))
    if event.hub_marker:  # clients keep unknown X- properties when they edit an event
        vevent.add("X-CRM-HUB-MARKER", event.hub_marker)
    calendar = icalendar.Calendar()
    calendar.add("PRODID", "-//hub tests//another client//EN")
    calendar.add("VERSION", "2.0")
    calendar.add_component(vevent)
    calendar.add_missing_timezones()
    return calendar.to_ical().decode()


class RadicaleRemote(Remote):
    """Remote edits for one Radicale user (and, for mail, one Dovecot user)."""

    def __init__(self, radicale, user, mail_server=None):
        from hub.testing.peers.imap import MailUser

        self.radicale, self.user = radicale, user
        self.mail_server = mail_server
        self.mail_user = MailUser(user.name, user.password, user.name)

    def create_event(self, calendar_id: str, event: RemoteEvent) -> str:
        uid = secrets.token_hex(8)
        href = f"{calendar_id}{uid}.ics"
        self.radicale.put_object(self.user, href, event_ics(event, uid))
        return href

    def update_event(self, calendar_id: str, event: RemoteEvent) -> None:
        self.radicale.put_object(self.user, event.remote_id, event_ics(event, event.ical_uid or secrets.token_hex(8)))

    def delete_event(self, calendar_id: str, remote_id: str) -> None:
        response = self.radicale.request(self.user, "DELETE", remote_id)
        assert response.status_code in (200, 204), response.text

    def expire_cursors(self) -> None:
        self.radicale.expire_sync_tokens(self.user)
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
