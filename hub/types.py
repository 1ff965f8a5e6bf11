"""Plain dataclasses that cross the hook boundary.

Plugins receive and return only these (and builtins); they never see ORM models or sessions.
All datetimes are timezone-aware, except an event's floating times (iCalendar times without a zone),
which stay naive so the hub reads them in the calendar's zone; all-day values are :class:`datetime.date`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Callable, Literal, Protocol

# --- capabilities a provider can declare --------------------------------------------------------

CALENDAR_READ = "calendar_read"  #: hub_list_calendars, hub_fetch_events (the hub reads calendars)
CALENDAR_WRITE = "calendar_write"  #: hub_push_events (CRM meetings and bookings go into calendars)
#: shorthand for both calendar capabilities (a two-way calendar provider)
CALENDAR = "calendar"
FREE_BUSY = "free_busy"  #: hub_free_busy
MAIL = "mail"  #: hub_sync_mail
SEND = "send"  #: hub_send_mail
PUSH = "push"  #: hub_watch / hub_handle_webhook (provider notifies of changes)
VIDEO = "video"  #: pushed events can get a video link (Meet, Teams)
ALL_CAPABILITIES = frozenset({CALENDAR_READ, CALENDAR_WRITE, FREE_BUSY, MAIL, SEND, PUSH, VIDEO})

ConnectKind = Literal["oauth", "form"]
AccessRole = Literal["owner", "writer", "reader", "freeBusyReader"]
#: a participant's answer to an invitation
ResponseStatus = Literal["needsAction", "accepted", "declined", "tentative"]

#: An opaque, provider-defined sync cursor (Google syncToken, Graph deltaLink, CalDAV sync-token,
#: IMAP "uidvalidity/uidnext/modseq" …). The core stores it and hands it back unchanged.
Cursor = str


@dataclass(frozen=True)
class ConfigField:
    """One setting an administrator enters for a provider (OAuth client id, secret, base URL).

    ``kind`` says how the admin pages check a value before it is saved (:mod:`hub.config_fields`):
    ``text``; ``number`` (> 0); ``integer`` (a whole number > 0); ``port`` (1–65535); ``url`` (http or
    https with a host); ``choice`` (one of ``choices``); ``pem`` (CA certificates as PEM text or the
    path of a PEM file on the hub's server: entered in a multi-line box or uploaded, parsed at save).
    """

    name: str
    label: str
    secret: bool = False
    required: bool = False
    default: str | None = None
    help: str = ""
    kind: Literal["text", "number", "integer", "port", "url", "choice", "pem"] = "text"
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class ConnectField:
    """One field of a form-based connect flow (IMAP host, Apple ID, password …)."""

    name: str
    label: str
    kind: Literal["text", "email", "password", "number", "select", "checkbox"] = "text"
    required: bool = True
    default: str | None = None
    choices: tuple[str, ...] = ()
    help: str = ""


@dataclass(frozen=True)
class ProviderInfo:
    """What a plugin registers through ``hub_register_providers``."""

    name: str
    label: str
    capabilities: frozenset[str]
    connect_kind: ConnectKind
    config_schema: tuple[ConfigField, ...] = ()
    connect_form: tuple[ConnectField, ...] = ()
    description: str = ""
    #: with ``send_invites`` the provider itself mails the attendees the invitation, its updates and its
    #: cancellation (Google ``sendUpdates=all``, Graph): the hub then attaches no ``.ics`` of its own to
    #: booking e-mails, so a guest never gets the same invitation twice (docs/hooks.md)
    sends_invitations: bool = False

    def __post_init__(self) -> None:
        declared = set(self.capabilities)
        if CALENDAR in declared:  # the shorthand stands for both halves
            declared = (declared - {CALENDAR}) | {CALENDAR_READ, CALENDAR_WRITE}
        unknown = declared - ALL_CAPABILITIES
        if unknown:
            raise ValueError(f"provider {self.name!r} declares unknown capabilities {sorted(unknown)}")
        if CALENDAR_WRITE in declared and CALENDAR_READ not in declared:
            raise ValueError(f"provider {self.name!r} declares calendar_write without calendar_read: the hub "
                             "reads back what it writes")
        object.__setattr__(self, "capabilities", frozenset(declared))

    def can(self, capability: str) -> bool:
        """Whether the provider declared ``capability`` (``CALENDAR``: both reading and writing)."""
        if capability == CALENDAR:
            return {CALENDAR_READ, CALENDAR_WRITE} <= self.capabilities
        return capability in self.capabilities


@dataclass
class ProviderContext:
    """Provider-wide settings handed to hooks that run before an account exists."""

    name: str
    #: admin configuration (config_schema values), secrets decrypted
    config: dict[str, Any]
    #: public base URL of the hub, for OAuth redirects and webhook addresses
    base_url: str
    #: whether the admin allows private / loopback hosts (on-premises servers, tests)
    allow_private_hosts: bool = False


@dataclass(repr=False)
class AccountHandle:
    """One connected account as a plugin sees it.

    ``credentials`` are decrypted; a plugin that refreshes a token calls ``save_credentials`` with the
    new dict and the core stores it encrypted. ``repr()`` never shows credentials.
    """

    id: int
    provider: str
    email: str
    credentials: dict[str, Any]
    settings: dict[str, Any]
    context: ProviderContext
    save_credentials: Callable[[dict[str, Any]], None] = lambda creds: None
    save_settings: Callable[[dict[str, Any]], None] = lambda settings: None

    def __repr__(self) -> str:
        return f"<AccountHandle {self.id} {self.provider} {self.email}>"

    def update_credentials(self, **changes: Any) -> None:
        """Merge ``changes`` into the credentials and persist them through the core."""
        self.credentials = {**self.credentials, **changes}
        self.save_credentials(self.credentials)

    def update_settings(self, **changes: Any) -> None:
        """Merge ``changes`` into the account settings and persist them through the core."""
        self.settings = {**self.settings, **changes}
        self.save_settings(self.settings)


@dataclass(repr=False)
class ConnectResult:
    """What ``hub_connect`` returns once credentials check out."""

    email: str
    credentials: dict[str, Any]
    display_name: str = ""
    settings: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"<ConnectResult {self.email}>"


@dataclass(frozen=True)
class OAuthStart:
    """The core's half of an OAuth authorization: state and PKCE verifier are made by the core."""

    redirect_uri: str
    state: str
    code_verifier: str
    code_challenge: str
    login_hint: str | None = None


# --- calendars -----------------------------------------------------------------------------------


@dataclass
class RemoteCalendar:
    remote_id: str
    name: str
    access_role: AccessRole = "owner"
    is_primary: bool = False
    timezone: str | None = None
    color: str | None = None


@dataclass
class Window:
    """The part of time a sync cares about (from the connection day to three months ahead)."""

    start: datetime
    end: datetime


@dataclass
class Participant:
    email: str
    name: str = ""
    response: ResponseStatus = "needsAction"
    organizer: bool = False
    optional: bool = False
    resource: bool = False


@dataclass
class RemoteEvent:
    """One event (a single event, a recurring master, or an exception) as the provider holds it.

    ``start``/``end`` are aware datetimes, or dates when ``all_day`` (end exclusive). A recurring
    master carries ``recurrence`` (RRULE/EXDATE/RDATE lines); an exception or cancelled occurrence
    carries ``recurring_event_id`` and ``original_start``.
    """

    remote_id: str
    start: datetime | date
    end: datetime | date
    summary: str = ""
    ical_uid: str | None = None
    etag: str | None = None
    status: Literal["confirmed", "tentative", "cancelled"] = "confirmed"
    description: str = ""
    location: str = ""
    all_day: bool = False
    timezone: str | None = None
    recurrence: list[str] = field(default_factory=list)
    recurring_event_id: str | None = None
    original_start: datetime | date | None = None
    organizer: Participant | None = None
    attendees: list[Participant] = field(default_factory=list)
    #: True when the event does not block time (Google transparent, Graph free/workingElsewhere)
    transparent: bool = False
    video_url: str | None = None
    #: the VTIMEZONE (iCalendar text) defining ``timezone`` when it is neither an IANA nor a Windows
    #: name (Outlook's "Customized Time Zone"), so series repeat by the zone's own DST rules
    vtimezone: str | None = None
    #: the exact length in seconds when the event was written with a DURATION of hours, minutes or
    #: seconds (RFC 5545 §3.3.6: exact, unlike days and weeks, which are nominal). A floating start's
    #: wall-clock ``end`` is an hour off when a DST change of the calendar's zone falls in between; with
    #: this set the hub ends the event (and each occurrence of a series) this many seconds after its start
    duration_seconds: int | None = None
    #: the hub's own marker (a meeting's client id) when the hub created the event
    hub_marker: str | None = None
    updated: datetime | None = None
    sequence: int = 0

    def replace(self, **changes: Any) -> "RemoteEvent":
        return dataclasses.replace(self, **changes)


@dataclass
class EventPage:
    """One page of ``hub_fetch_events``.

    ``done`` is True on the last page; ``next_cursor`` is then the cursor for the next incremental
    sync (and otherwise the cursor to resume this one).
    """

    events: list[RemoteEvent] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    next_cursor: Cursor | None = None
    done: bool = True
    #: items the provider holds but could not read (malformed iCalendar): ``(remote id, reason)``.
    #: They are skipped — the page goes on — and the core writes them to the account's error log.
    unreadable: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class EventChange:
    """One change for ``hub_push_events``.

    ``client_id`` is generated by the hub once per meeting and calendar, and sent as the provider's
    idempotency key (Google event id, Graph transactionId, CalDAV resource name), so a retried
    create never makes two events.
    """

    op: Literal["create", "update", "delete"]
    client_id: str
    event: RemoteEvent | None = None
    remote_id: str | None = None
    etag: str | None = None
    send_invites: bool = True
    want_video: bool = False


@dataclass
class PushResult:
    client_id: str
    remote_id: str | None = None
    etag: str | None = None
    ical_uid: str | None = None
    video_url: str | None = None
    #: set when this one change failed; the others in the batch still count
    error: Exception | None = None


@dataclass
class BusyInterval:
    start: datetime
    end: datetime


@dataclass
class FreeBusy:
    """``hub_free_busy``'s answer: busy intervals per calendar, and calendars that could not be read."""

    busy: dict[str, list[BusyInterval]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @staticmethod
    def spans(start: datetime, end: datetime, longest: timedelta) -> list[tuple[datetime, datetime]]:
        """``start``–``end`` cut into consecutive spans of at most ``longest``, for providers whose
        free/busy query refuses long ranges."""
        cuts, cursor = [], start
        while cursor < end:
            cuts.append((cursor, min(cursor + longest, end)))
            cursor = cuts[-1][1]
        return cuts

    def add(self, calendar_id: str, intervals: list[BusyInterval], span_start: datetime | None = None) -> None:
        """Add one span's busy intervals of a calendar (ignored once it has errors). An interval
        already known (listed by two spans) is not repeated, and one that starts right at
        ``span_start`` continues the interval ending there (one busy stretch cut at the spans' edge)."""
        if calendar_id in self.errors:
            return
        kept = self.busy.setdefault(calendar_id, [])
        for interval in intervals:
            cut = next((k for k in kept if span_start is not None and k.end == interval.start == span_start), None)
            if cut is not None:
                cut.end = max(cut.end, interval.end)
            elif interval not in kept:
                kept.append(interval)
        kept.sort(key=lambda b: (b.start, b.end))

    def fail(self, calendar_id: str, message: str) -> None:
        """Mark a calendar unreadable (its busy intervals from other spans are dropped)."""
        self.busy.pop(calendar_id, None)
        self.errors[calendar_id] = message


@dataclass
class PushChannel:
    """A push subscription the provider keeps for us (Google watch channel, Graph subscription)."""

    channel_id: str
    expires_at: datetime
    resource_id: str | None = None
    #: secret the provider echoes back (Google channel token, Graph clientState)
    token: str | None = None
    calendar_id: str | None = None
    folder: str | None = None


class PushListener(Protocol):
    """A background listener a plugin hands to the core (``hub_push_listeners``)."""

    def start(self) -> object: ...

    def stop(self, timeout: float = 10.0) -> None: ...


# --- mail ------------------------------------------------------------------------------------------

MailFolder = Literal["inbox", "sent"]


@dataclass
class Address:
    email: str
    name: str = ""


@dataclass
class AttachmentInfo:
    filename: str
    content_type: str
    size: int = 0
    remote_id: str | None = None


@dataclass
class RemoteMessage:
    """One message as the hub stores it: headers, text parts, attachment metadata — no attachment bytes."""

    remote_id: str
    folder: str
    message_id: str | None = None
    thread_id: str | None = None
    in_reply_to: str | None = None
    references: list[str] = field(default_factory=list)
    subject: str = ""
    sender: Address | None = None
    to: list[Address] = field(default_factory=list)
    cc: list[Address] = field(default_factory=list)
    bcc: list[Address] = field(default_factory=list)
    date: datetime | None = None
    text_body: str = ""
    html_body: str = ""
    attachments: list[AttachmentInfo] = field(default_factory=list)
    size: int = 0
    #: set when the message could not be parsed fully; what could be read is still filled in
    parse_error: str | None = None


@dataclass
class MailPage:
    messages: list[RemoteMessage] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    next_cursor: Cursor | None = None
    done: bool = True
    #: estimate of the whole initial sync, for progress ("3,200 of 10,000")
    total_estimate: int | None = None


@dataclass
class MailPartitions:
    """A large folder's initial sync cut into disjoint parts that separate jobs page through.

    Each of ``parts`` is a cursor for ``hub_sync_mail`` that delivers only its own messages and
    ends with ``done=True``; together they are exactly the initial sync. ``after`` is the cursor
    the folder continues with (incrementally) once every part is stored.
    """

    parts: list[Cursor]
    after: Cursor
    #: messages in all parts together (progress)
    total: int


@dataclass(frozen=True)
class OutgoingAttachment:
    """A file sent with a message (a booking's ``.ics``): ``content_type`` may carry parameters
    (``text/calendar; method=REQUEST``)."""

    filename: str
    content_type: str
    data: bytes


@dataclass
class OutgoingMessage:
    sender: Address
    to: list[Address]
    subject: str
    text_body: str = ""
    html_body: str = ""
    cc: list[Address] = field(default_factory=list)
    bcc: list[Address] = field(default_factory=list)
    in_reply_to: str | None = None
    references: list[str] = field(default_factory=list)
    thread_id: str | None = None
    message_id: str | None = None
    attachments: list[OutgoingAttachment] = field(default_factory=list)
    #: where answers should go when that is not the sender (booking mail sent through the hub's relay)
    reply_to: Address | None = None


@dataclass
class SentMessage:
    remote_id: str | None
    message_id: str | None = None
    thread_id: str | None = None


# --- webhooks --------------------------------------------------------------------------------------


@dataclass
class WebhookRequest:
    method: str
    path: str
    headers: dict[str, str]
    args: dict[str, str]
    body: bytes


@dataclass
class SyncTarget:
    """A sync the hub should run because of a notification."""

    kind: Literal["calendar", "mail", "channels"]
    #: the calendar's remote id or the mail folder; None = all of that kind
    key: str | None = None
    #: drop the cursor first (Graph ``missed`` lifecycle event)
    full: bool = False


@dataclass
class WebhookResult:
    status: int = 202
    body: str = ""
    content_type: str = "text/plain"
    syncs: list[SyncTarget] = field(default_factory=list)


# --- the demo ------------------------------------------------------------------------------------


@dataclass
class DemoSandbox:
    """A provider's local stand-in, running, as ``hub demo`` uses it (see ``hub_demo_sandbox``)."""

    #: the provider's admin configuration pointing it at the stand-in (``ProviderSetting.config``)
    config: dict[str, Any]
    #: the form a person who allows access as ``email`` sends to the stand-in's consent page at
    #: ``url`` (the provider's authorization URL): ``consent_form(url, email) -> fields``
    consent_form: Callable[[str, str], dict[str, Any]]
    #: stops the stand-in; called once when the demo ends
    stop: Callable[[], None]
