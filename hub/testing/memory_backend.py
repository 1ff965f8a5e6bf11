"""The "server side" of :class:`hub.testing.memory.MemoryProvider`: accounts, calendars, mail, and fault knobs.

A :class:`MemoryBackend` plays the provider's servers. Tests and engines mutate it directly to make
provider-side edits ("the user moved the meeting in their calendar app") and turn its knobs to make
the provider misbehave:

* :meth:`MemoryBackend.fail_next` — the next N calls of a hook raise ``RateLimited``, ``AuthExpired``,
  ``ProviderUnavailable`` … (any exception);
* :attr:`MemoryBackend.flaky_etags` — the etag a write returns is not the one stored afterwards
  (content unchanged), as some CalDAV servers do;
* :meth:`MemoryBackend.expire_cursors` — every cursor handed out so far stops working;
* :meth:`MemoryBackend.revoke` — the account's tokens stop working (password changed, consent revoked).

Provider-side edits: :meth:`~MemoryBackend.add_account`, :meth:`~MemoryBackend.add_calendar`,
:meth:`~MemoryBackend.put_event` (create or replace, optional ``if_match``),
:meth:`~MemoryBackend.delete_event`, :meth:`~MemoryBackend.bump_etag`, :meth:`~MemoryBackend.deliver`
(mail arrives) and :meth:`~MemoryBackend.expunge`. What the provider "sent" is kept for assertions:
:attr:`~MemoryBackend.outbox`, :attr:`~MemoryBackend.invitations`, :attr:`~MemoryBackend.cancellations`,
:attr:`~MemoryBackend.notifications`, and :attr:`~MemoryBackend.calls` counts hook calls.

Every object change is recorded in a :class:`ChangeLog` with a backend-wide sequence number; cursors
are ``"<epoch>:<sequence>"``, so expiring cursors is bumping the epoch.
"""

from __future__ import annotations

import copy
import secrets
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone
from email import message_from_bytes, policy
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr

from hub.exceptions import NotFound, WrongEtag
from hub.types import AccessRole, PushChannel, RemoteCalendar, RemoteEvent, WebhookRequest


class ChangeLog:
    """Which keys changed at which backend sequence number; the latest change per key wins."""

    def __init__(self):
        self._latest: dict[str, int] = {}

    def record(self, key: str, seq: int) -> None:
        self._latest[key] = seq

    def after(self, seq: int) -> list[tuple[int, str]]:
        """``(seq, key)`` of every key changed after ``seq``, oldest first."""
        return sorted((s, k) for k, s in self._latest.items() if s > seq)


@dataclass
class MemoryCalendar:
    """One calendar: its events by remote id and which client id created which event."""

    info: RemoteCalendar
    events: dict[str, RemoteEvent] = field(default_factory=dict)
    by_client_id: dict[str, str] = field(default_factory=dict)
    log: ChangeLog = field(default_factory=ChangeLog)


@dataclass
class StoredMail:
    uid: int
    raw: bytes
    received: datetime


@dataclass
class MemoryFolder:
    """One mail folder: messages by UID (ascending, never reused) and a change log of arrivals/expunges."""

    messages: dict[int, StoredMail] = field(default_factory=dict)
    next_uid: int = 1
    log: ChangeLog = field(default_factory=ChangeLog)


@dataclass
class MemoryAccount:
    """One account at the provider."""

    email: str
    password: str
    display_name: str = ""
    tokens: set[str] = field(default_factory=set)
    calendars: dict[str, MemoryCalendar] = field(default_factory=dict)
    folders: dict[str, MemoryFolder] = field(default_factory=lambda: {"inbox": MemoryFolder(), "sent": MemoryFolder()})
    #: live push channels by channel id, with the address each notifies
    channels: dict[str, tuple[PushChannel, str]] = field(default_factory=dict)

    def __repr__(self) -> str:  # the password never shows
        return f"<MemoryAccount {self.email}>"


@dataclass
class Grant:
    """An authorization code waiting to be exchanged (OAuth flow)."""

    email: str
    code_challenge: str
    redirect_uri: str


class MemoryBackend:
    """All state of the in-memory provider. Thread-safe: every public method holds :attr:`lock`.

    :param page_size: events or changes per ``hub_fetch_events`` page.
    """

    def __init__(self, page_size: int = 50):
        self.lock = threading.RLock()
        self.page_size = page_size
        self.accounts: dict[str, MemoryAccount] = {}
        self.grants: dict[str, Grant] = {}
        #: every hook call, by hook name (how many times the engines asked)
        self.calls: Counter[str] = Counter()
        #: raw RFC 822 of every message sent through ``hub_send_mail`` (the provider's transport)
        self.outbox: list[bytes] = []
        #: ``(remote id, attendee email)`` for every invitation the provider would have mailed
        self.invitations: list[tuple[str, str]] = []
        #: ``(remote id, attendee email)`` for every cancellation the provider would have mailed
        self.cancellations: list[tuple[str, str]] = []
        #: push notifications the provider "sent", oldest first
        self.notifications: list[WebhookRequest] = []
        #: when True, the etag a write returns is replaced right after (content unchanged)
        self.flaky_etags = False
        self.epoch = 1
        self._seq = 0
        self._faults: dict[str, list[BaseException]] = {}

    # --- accounts and tokens ---------------------------------------------------------------------

    def add_account(self, email: str, password: str, display_name: str = "",
                    calendars: tuple[str, ...] = ("primary",)) -> MemoryAccount:
        """Create an account with the given calendars (the first one is primary, all owned)."""
        with self.lock:
            email = email.lower()  # addresses are matched case-insensitively, as providers do
            account = MemoryAccount(email=email, password=password, display_name=display_name)
            for i, cal_id in enumerate(calendars):
                self.add_calendar(account, cal_id, primary=i == 0)
            self.accounts[email] = account
            return account

    def add_calendar(self, account: MemoryAccount, calendar_id: str, name: str | None = None,
                     primary: bool = False, access_role: AccessRole = "owner") -> MemoryCalendar:
        with self.lock:
            info = RemoteCalendar(remote_id=calendar_id, name=name or calendar_id, access_role=access_role,
                                  is_primary=primary, timezone="UTC")
            account.calendars[calendar_id] = MemoryCalendar(info)
            return account.calendars[calendar_id]

    def issue_token(self, email: str) -> str:
        with self.lock:
            token = "mem-" + secrets.token_urlsafe(16)
            self.accounts[email].tokens.add(token)
            return token

    def account_for_token(self, token: str | None) -> MemoryAccount | None:
        with self.lock:
            return next((a for a in self.accounts.values() if token and token in a.tokens), None)

    def revoke(self, email: str, token: str | None = None) -> None:
        """Make one token (or all of the account's tokens) stop working."""
        with self.lock:
            tokens = self.accounts[email].tokens
            tokens.discard(token) if token else tokens.clear()

    def approve(self, email: str, code_challenge: str, redirect_uri: str) -> str:
        """The user consented: an authorization code for the OAuth flow."""
        with self.lock:
            code = "code-" + secrets.token_urlsafe(12)
            self.grants[code] = Grant(email, code_challenge, redirect_uri)
            return code

    # --- fault knobs --------------------------------------------------------------------------------

    def fail_next(self, hook: str, error: BaseException | type[BaseException], times: int = 1) -> None:
        """Make the next ``times`` calls of ``hook`` (e.g. ``"hub_fetch_events"``) raise ``error``."""
        with self.lock:
            for _ in range(times):
                self._faults.setdefault(hook, []).append(error() if isinstance(error, type) else copy.copy(error))

    def enter(self, hook: str) -> None:
        """Count a hook call and raise the fault queued for it, if any."""
        with self.lock:
            self.calls[hook] += 1
            queued = self._faults.get(hook)
            if queued:
                raise queued.pop(0)

    def expire_cursors(self) -> None:
        """Every cursor handed out so far raises CursorExpired from now on."""
        with self.lock:
            self.epoch += 1

    def next_seq(self) -> int:
        with self.lock:
            self._seq += 1
            return self._seq

    @property
    def seq(self) -> int:
        return self._seq

    # --- events (provider-side edits; the hooks use these too) -------------------------------------

    def calendar(self, email: str, calendar_id: str) -> MemoryCalendar:
        try:
            return self.accounts[email].calendars[calendar_id]
        except KeyError:
            raise NotFound(f"There is no calendar {calendar_id!r} for {email}.") from None

    def events(self, email: str, calendar_id: str) -> list[RemoteEvent]:
        """Copies of every event of a calendar."""
        with self.lock:
            return [copy.deepcopy(e) for e in self.calendar(email, calendar_id).events.values()]

    def put_event(self, email: str, calendar_id: str, event: RemoteEvent, if_match: str | None = None,
                  client_id: str | None = None) -> RemoteEvent:
        """Create or replace ``event`` (by ``remote_id``; a new id when empty); returns the stored copy.

        :param if_match: the etag the caller last saw; a different stored etag raises WrongEtag.
        :param client_id: remembered so a retried create can find the event it made.
        """
        with self.lock:
            cal = self.calendar(email, calendar_id)
            old = cal.events.get(event.remote_id) if event.remote_id else None
            if if_match is not None and (old is None or old.etag != if_match):
                raise WrongEtag(f"The event {event.remote_id} changed at the provider.")
            seq = self.next_seq()
            stored = copy.deepcopy(event)
            stored.remote_id = event.remote_id or f"ev{seq}-{secrets.token_hex(3)}"
            stored.ical_uid = stored.ical_uid or (old.ical_uid if old else f"{stored.remote_id}@memory.invalid")
            stored.etag = f'"{seq}"'
            stored.sequence = old.sequence + 1 if old else 0
            stored.updated = datetime.now(timezone.utc)
            cal.events[stored.remote_id] = stored
            cal.log.record(stored.remote_id, seq)
            if client_id:
                cal.by_client_id[client_id] = stored.remote_id
            self._notify(email, "calendar", calendar_id)
            written = copy.deepcopy(stored)
            if self.flaky_etags:
                self.bump_etag(email, calendar_id, stored.remote_id)
            return written

    def bump_etag(self, email: str, calendar_id: str, remote_id: str) -> str:
        """Give an event a new etag without changing its content (a flaky server)."""
        with self.lock:
            cal = self.calendar(email, calendar_id)
            seq = self.next_seq()
            cal.events[remote_id].etag = f'"{seq}"'
            cal.log.record(remote_id, seq)
            return cal.events[remote_id].etag

    def delete_event(self, email: str, calendar_id: str, remote_id: str, if_match: str | None = None) -> None:
        """Delete an event (a recurring master takes its exceptions with it)."""
        with self.lock:
            cal = self.calendar(email, calendar_id)
            old = cal.events.get(remote_id)
            if old is None:
                raise NotFound(f"The event {remote_id} does not exist.")
            if if_match is not None and old.etag != if_match:
                raise WrongEtag(f"The event {remote_id} changed at the provider.")
            doomed = [remote_id] + [k for k, e in cal.events.items() if e.recurring_event_id == remote_id]
            for key in doomed:
                del cal.events[key]
                cal.log.record(key, self.next_seq())
            self._notify(email, "calendar", calendar_id)

    # --- mail ------------------------------------------------------------------------------------

    def deliver(self, email: str, folder: str, raw: bytes, received: datetime | None = None) -> int:
        """Put a message into a folder; returns its UID."""
        with self.lock:
            box = self.accounts[email].folders[folder]
            uid = box.next_uid
            box.next_uid += 1
            if received is None:
                received = _header_date(raw) or datetime.now(timezone.utc)
            box.messages[uid] = StoredMail(uid, raw, received)
            box.log.record(str(uid), self.next_seq())
            self._notify(email, "mail", folder)
            return uid

    def expunge(self, email: str, folder: str, uid: int) -> None:
        with self.lock:
            box = self.accounts[email].folders[folder]
            del box.messages[uid]
            box.log.record(str(uid), self.next_seq())

    # --- push channels -------------------------------------------------------------------------------

    def _notify(self, email: str, kind: str, key: str) -> None:
        """Record the notification each live channel on (kind, key) sends (modelled on Google's headers)."""
        for channel, address in self.accounts[email].channels.values():
            if (channel.calendar_id if kind == "calendar" else channel.folder) == key:
                self.notifications.append(WebhookRequest(
                    method="POST",
                    path=urlsplit(address).path or "/",
                    headers={"X-Memory-Channel": channel.channel_id, "X-Memory-Token": channel.token or "",
                             "X-Memory-Kind": kind, "X-Memory-Key": key, "X-Memory-State": "exists"},
                    args={},
                    body=b"",
                ))

    def watch(self, email: str, channel: PushChannel, address: str) -> None:
        """Keep (or renew) a channel; changes on what it watches are notified to ``address``."""
        with self.lock:
            self.accounts[email].channels[channel.channel_id] = (channel, address)

    def unwatch(self, email: str, channel_id: str) -> None:
        with self.lock:
            self.accounts[email].channels.pop(channel_id, None)

    def last_notification(self, channel_id: str) -> WebhookRequest | None:
        """The newest notification sent on a channel."""
        with self.lock:
            return next((n for n in reversed(self.notifications)
                         if n.headers.get("X-Memory-Channel") == channel_id), None)

    # --- time ----------------------------------------------------------------------------------------

    @staticmethod
    def occurrences(event: RemoteEvent, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """The event's occurrences overlapping [start, end), recurrences expanded with dateutil.

        All-day dates count from midnight UTC. A timed recurring event expands in its own time zone,
        so a weekly 10:00 stays 10:00 across daylight-saving changes.
        """
        first, last = as_datetime(event.start), as_datetime(event.end)
        if event.timezone and not event.all_day:
            first, last = first.astimezone(ZoneInfo(event.timezone)), last.astimezone(ZoneInfo(event.timezone))
        duration = last - first
        if not event.recurrence:
            return [(first, last)] if first < end and last > start else []
        rules = rrulestr("\n".join(event.recurrence), dtstart=first, forceset=True)
        return [(o, o + duration) for o in rules.between(start - duration, end, inc=True) if o + duration > start]


def as_datetime(value: datetime | date) -> datetime:
    """An aware datetime for a datetime or an all-day date (midnight UTC)."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return datetime.combine(value, time.min, timezone.utc)


def _header_date(raw: bytes) -> datetime | None:
    try:
        value = message_from_bytes(raw, policy=policy.compat32)["Date"]
        return parsedate_to_datetime(value) if value else None
    except (TypeError, ValueError):
        return None
