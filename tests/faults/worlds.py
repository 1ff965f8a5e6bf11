"""One provider each — seeded, connected to the hub, changed on both sides, and compared.

A world wraps a sandbox or peer (behind a :class:`~tests.faults.proxy.FaultProxy`) with what a
scenario needs: ``seed`` data at the provider, ``connect`` an account through the hub, make
``remote_changes`` as another client would, and ``assert_agrees`` — the hub's rows against the
provider's state, exactly. CRM-side edits (meetings pushed through the outbox) are the same for
every calendar provider and live in :class:`CrmEdits`.
"""

from __future__ import annotations

import email.utils
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage

import sqlalchemy as sa

from hub.crm import meetings
from hub.models import Account, AccountStatus, Calendar, OutboxEntry
from hub.types import RemoteEvent
from tests.faults import agreement
from tests.faults.accounts import (
    connect_account,
    connect_google,
    connect_office365,
    imap_config,
    imap_params,
    set_provider_config,
)
from tests.faults.flaky import CLIENT_TIMEOUT


def at(day: int, hour: int) -> datetime:
    """A whole hour ``day`` days ahead (UTC) — inside the sync window."""
    base = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    return base.replace(hour=hour) + timedelta(days=day)


def raw_mail(subject: str, sender: str, to: str, message_id: str) -> bytes:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, subject
    message["Message-ID"] = message_id
    message["Date"] = email.utils.format_datetime(datetime.now(timezone.utc))
    message.set_content(f"{subject}\n")
    return bytes(message)


def outbox_settled(hub) -> bool:
    with hub.db.session() as s:
        return not s.scalar(sa.select(sa.func.count()).select_from(OutboxEntry).where(OutboxEntry.done_at.is_(None)))


def remote_only(events: dict) -> list[str]:
    """Ids of the events made at the provider (not the CRM's meetings), for edits made there."""
    return sorted(k for k, (summary, _) in events.items() if not summary.startswith("CRM meeting"))


class CrmEdits:
    """Meetings made, moved and cancelled in the CRM; their titles say which are alive."""

    def __init__(self, hub, user_id: int):
        self.hub, self.user_id = hub, user_id
        self.alive: dict[str, int] = {}
        self.cancelled: set[str] = set()

    def round(self, n: int) -> None:
        title = f"CRM meeting {n}"
        self.alive[title] = meetings.create_meeting(self.hub, self.user_id, title, at(3 + n, 9), at(3 + n, 10),
                                                    attendees=["guest@example.org"])
        if n >= 1:  # rename the previous one (a retitle is a change every provider shows)
            old = f"CRM meeting {n - 1}"
            meeting_id = self.alive.pop(old)
            self.alive[old + " (moved)"] = meeting_id
            meetings.update_meeting(self.hub, meeting_id, title=old + " (moved)", start=at(3 + n, 15),
                                    end=at(3 + n, 16))
        if n >= 2 and n % 2 == 0:
            victim = sorted(t for t in self.alive if t.endswith("(moved)"))[0]
            meetings.delete_meeting(self.hub, self.alive.pop(victim))
            self.cancelled.add(victim)

    def assert_pushed(self, provider_events: dict) -> None:
        """Every live meeting is on the calendar exactly once; every cancelled one is gone."""
        titles = [summary for summary, _ in provider_events.values()]
        for title in self.alive:
            assert titles.count(title) == 1, f"{title!r} is on the calendar {titles.count(title)} times: {titles}"
        for title in self.cancelled:
            assert title not in titles, f"cancelled {title!r} is still on the calendar"
        assert agreement.live_meetings(self.hub, self.user_id).keys() >= self.alive.keys()


class GoogleWorld:
    """The Google sandbox (Calendar and Gmail) behind a fault proxy."""

    provider = "google"

    def __init__(self, server, proxy, dice, email: str = "alice@example.com"):
        self.server, self.state, self.proxy, self.dice, self.email = server, server.state, proxy, dice, email
        self.state.add_user(email, "Alice Example")
        self.serial = 0

    def config(self, page_size: int = 4) -> dict:
        url = f"http://127.0.0.1:{self.proxy.port}"
        return {**self.server.provider_config(), "auth_base": url, "token_url": f"{url}/token", "api_base": url,
                "timeout": str(CLIENT_TIMEOUT), "page_size": str(page_size)}

    def connect(self, hub, user_id: int) -> int:
        set_provider_config(hub, "google", self.config())
        return connect_google(hub, user_id, self.email)

    def add_event(self, day: int, hour: int, summary: str | None = None) -> str:
        self.serial += 1
        body = {"summary": summary or f"remote event {self.serial}",
                "start": {"dateTime": at(day, hour).isoformat()}, "end": {"dateTime": at(day, hour + 1).isoformat()}}
        return self.state.create_event(self.email, self.email, body)["id"]

    def deliver(self, n: int) -> None:
        self.serial += 1
        raw = raw_mail(f"mail {self.serial}", "dan@globex.example", self.email, f"<m{self.serial}.{n}@globex.example>")
        self.state.deliver_mail(self.email, raw)

    def seed(self, events: int, messages: int) -> None:
        for i in range(events):
            self.add_event(1 + i % 20, 8 + i % 9)
        for i in range(messages):
            self.deliver(i)

    def remote_changes(self, n: int) -> None:
        ids = remote_only(agreement.google_events(self.state, self.email))
        self.add_event(2 + n, 7)
        self.add_event(4 + n, 18)
        self.state.update_event(self.email, self.email, ids[0], {"summary": f"renamed in Google {n}"}, replace=False)
        self.state.delete_event(self.email, self.email, ids[-1])
        self.deliver(n)

    def assert_agrees(self, hub, account_id: int, crm: CrmEdits | None = None) -> None:
        remote = agreement.google_events(self.state, self.email)
        assert agreement.hub_events(hub, account_id) == remote
        for folder, label in (("inbox", "INBOX"), ("sent", "SENT")):
            stored, held = agreement.hub_messages(hub, account_id, folder), agreement.gmail_messages(
                self.state, self.email, label)
            assert stored == held, (folder, stored, held)
        if crm is not None:
            crm.assert_pushed(remote)
            created = [i["event_id"] for i in self.state.invitations if i["method"] == "created"]
            assert len(created) == len(set(created)), "an invitation was sent twice for one event"
        assert agreement.account_healthy(hub, account_id) == (AccountStatus.ENABLED, False)
        assert outbox_settled(hub)


class GraphWorld:
    """The Microsoft 365 sandbox (Graph calendar and mail) behind a fault proxy."""

    provider = "office365"

    def __init__(self, sandbox, proxy, dice, email: str = "alice@contoso.example"):
        self.sandbox, self.state, self.proxy, self.dice, self.email = sandbox, sandbox.state, proxy, dice, email
        self.state.add_mailbox(email, "Alice Adams")
        self.serial = 0

    def config(self) -> dict:
        url = f"http://127.0.0.1:{self.proxy.port}"
        return {**self.sandbox.config(), "login_base": url, "graph_base": f"{url}/v1.0",
                "timeout": str(CLIENT_TIMEOUT)}

    def connect(self, hub, user_id: int) -> int:
        set_provider_config(hub, "office365", self.config())
        return connect_office365(hub, user_id, self.sandbox, self.email)

    def add_event(self, day: int, hour: int) -> str:
        self.serial += 1
        when = {"start": {"dateTime": at(day, hour).replace(tzinfo=None).isoformat(), "timeZone": "UTC"},
                "end": {"dateTime": at(day, hour + 1).replace(tzinfo=None).isoformat(), "timeZone": "UTC"}}
        return self.state.add_event(self.email, {"subject": f"remote event {self.serial}", **when})["id"]

    def deliver(self, n: int) -> None:
        self.serial += 1
        self.state.deliver_mail(self.email, "inbox", subject=f"mail {self.serial}", sender="dan@globex.example",
                                message_id=f"<m{self.serial}.{n}@globex.example>")

    def seed(self, events: int, messages: int) -> None:
        self.state.knobs.default_event_page_size = 4
        for i in range(events):
            self.add_event(1 + i % 20, 8 + i % 9)
        for i in range(messages):
            self.deliver(i)

    def remote_changes(self, n: int) -> None:
        ids = remote_only(agreement.graph_events(self.state, self.email))
        self.add_event(2 + n, 7)
        self.add_event(4 + n, 18)
        self.state.update_event(self.email, ids[0], {"subject": f"renamed in Outlook {n}"})
        self.state.delete_event(self.email, ids[-1])
        self.deliver(n)

    def assert_agrees(self, hub, account_id: int, crm: CrmEdits | None = None) -> None:
        remote = agreement.graph_events(self.state, self.email)
        assert agreement.hub_events(hub, account_id) == remote
        for folder, well_known in (("inbox", "inbox"), ("sent", "sentitems")):
            stored, held = agreement.hub_messages(hub, account_id, folder), agreement.graph_messages(
                self.state, self.email, well_known)
            assert stored == held, (folder, stored, held)
        if crm is not None:
            crm.assert_pushed(remote)
            transactions = [e["transactionId"] for e in self.state.mailbox(self.email).events.values()
                            if e.get("transactionId")]
            assert len(transactions) == len(set(transactions)), "one CRM meeting became two Outlook events"
        assert agreement.account_healthy(hub, account_id) == (AccountStatus.ENABLED, False)
        assert outbox_settled(hub)


def default_calendar_id(hub, account_id: int) -> int:
    with hub.db.session() as s:
        return s.scalar(sa.select(Calendar.id).where(Calendar.account_id == account_id, Calendar.is_default.is_(True)))


class ImapWorld:
    """A Dovecot mailbox reached through a fault proxy that spoils a share of the connections."""

    provider = "imap"

    def __init__(self, dovecot, smtp_server, proxy):
        self.dovecot, self.smtp_server, self.proxy = dovecot, smtp_server, proxy
        self.user = dovecot.add_user()
        self.serial = 0

    def connect(self, hub, user_id: int) -> int:
        set_provider_config(hub, "imap", imap_config(self.dovecot, self.smtp_server))
        return connect_account(hub, user_id, "imap", imap_params(self.dovecot, self.user, self.smtp_server,
                                                                 port=self.proxy.port))

    def mail(self, folder: str = "INBOX") -> bytes:
        self.serial += 1
        dan = "dan@globex.example"
        sender, to = (dan, self.user.email) if folder == "INBOX" else (self.user.email, dan)
        return raw_mail(f"mail {self.serial}", sender, to, f"<i{self.serial}@{self.user.username}.example>")

    def seed(self, inbox: int, sent: int) -> None:
        self.dovecot.append_many(self.user, "INBOX", [self.mail() for _ in range(inbox)])
        self.dovecot.append_many(self.user, "Sent", [self.mail("Sent") for _ in range(sent)])

    def remote_changes(self, n: int) -> None:
        self.dovecot.append_many(self.user, "INBOX", [self.mail(), self.mail()])
        self.dovecot.append(self.user, "Sent", self.mail("Sent"))
        with self.dovecot.client(self.user) as imap:  # another mail app deletes the oldest message
            imap.select_folder("INBOX")
            imap.delete_messages(imap.search(["ALL"])[:1])
            imap.expunge()
        self.proxy.sever_all()  # idle connections die between polls (NAT timeouts): the hub reconnects

    def assert_agrees(self, hub, account_id: int) -> None:
        for folder, mailbox in (("inbox", "INBOX"), ("sent", "Sent")):
            stored, held = agreement.hub_messages(hub, account_id, folder), agreement.imap_messages(
                self.dovecot, self.user, mailbox)
            assert stored == held, (folder, stored, held)
        assert agreement.account_healthy(hub, account_id) == (AccountStatus.ENABLED, False)


class CaldavWorld:
    """A Radicale calendar (the iCloud plugin's CalDAV) reached through a fault proxy."""

    provider = "icloud"
    calendar = "home"

    def __init__(self, radicale, dovecot, smtp_server, proxy):
        from hub_icloud.testing import new_user

        self.radicale, self.dovecot, self.smtp_server, self.proxy = radicale, dovecot, smtp_server, proxy
        self.user = new_user(radicale, dovecot, smtp_server)
        self.serial = 0
        self.email = self.user.name

    def connect(self, hub, user_id: int) -> int:
        from hub_icloud.testing import mail_config

        set_provider_config(hub, "icloud", {"caldav_url": f"http://127.0.0.1:{self.proxy.port}/",
                                            **mail_config(self.dovecot, self.smtp_server)})
        account_id = connect_account(hub, user_id, "icloud", {"email": self.user.name, "password": self.user.password})
        with hub.db.session() as s:  # calendars only: mail through IMAP has its own scenario
            s.get(Account, account_id).mail_enabled = False
        return account_id

    def put(self, name: str, summary: str, day: int, hour: int) -> None:
        from hub_icloud.testing import event_ics

        event = RemoteEvent(remote_id="", summary=summary, start=at(day, hour), end=at(day, hour + 1), timezone="UTC")
        self.radicale.put_object(self.user, f"/{self.user.name}/{self.calendar}/{name}.ics", event_ics(event, name))

    def add_event(self, day: int, hour: int) -> None:
        self.serial += 1
        self.put(f"remote-{self.serial}", f"remote event {self.serial}", day, hour)

    def seed(self, events: int, messages: int = 0) -> None:
        for i in range(events):
            self.add_event(1 + i % 20, 8 + i % 9)

    def events(self) -> dict:
        return agreement.caldav_events(self.radicale, self.user, self.calendar)

    def remote_changes(self, n: int) -> None:
        names = remote_only(self.events())
        self.add_event(2 + n, 7)
        self.add_event(4 + n, 18)
        first = names[0].removesuffix(".ics")
        self.put(first, f"renamed in Calendar {n}", 5 + n, 12)
        response = self.radicale.request(self.user, "DELETE", f"/{self.user.name}/{self.calendar}/{names[-1]}")
        assert response.status_code in (200, 204), response.text

    def assert_agrees(self, hub, account_id: int, crm: CrmEdits | None = None) -> None:
        remote = self.events()
        assert agreement.by_file_name(agreement.hub_events(hub, account_id)) == remote
        if crm is not None:
            crm.assert_pushed(remote)
        assert agreement.account_healthy(hub, account_id) == (AccountStatus.ENABLED, False)
        assert outbox_settled(hub)
