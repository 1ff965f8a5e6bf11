"""Everything the Google sandbox holds, and the knobs tests and ``hub demo`` turn.

:class:`SandboxState` is the Python API: add users and calendars, make changes the way another
Google client would (they trigger push notifications), deliver mail, and inject faults (429 /
403 rate limits, 5xx, slow answers), revoke grants, expire sync tokens and history ids. The HTTP
side (:mod:`hub_google.sandbox.app`) reads and writes the same object under its lock.
"""

from __future__ import annotations

import hashlib
import threading
from collections import deque
from dataclasses import dataclass, field

from hub_google.sandbox.calendar_store import CalendarStore
from hub_google.sandbox.channels import ChannelRegistry, Notifier
from hub_google.sandbox.errors import GoogleError, not_found
from hub_google.sandbox.faults import Fault, FaultPlan
from hub_google.sandbox.grants import GrantStore
from hub_google.sandbox.mailbox import Mailbox, StoredMessage
from hub_google.sandbox.routing import PageStore

DEFAULT_CLIENT_ID = "sandbox-client.apps.googleusercontent.com"
DEFAULT_CLIENT_SECRET = "sandbox-client-secret"


@dataclass
class User:
    """A Google account in the sandbox."""

    email: str
    name: str
    time_zone: str
    #: calendar id → the user's calendarList entry settings (accessRole, primary, selected …)
    calendar_list: dict[str, dict] = field(default_factory=dict)
    mailbox: Mailbox = None

    def __post_init__(self):
        if self.mailbox is None:
            self.mailbox = Mailbox(self.email)

    @property
    def sub(self) -> str:
        """Google's stable numeric user id."""
        return str(int(hashlib.sha256(self.email.encode()).hexdigest()[:15], 16))


class SandboxState:
    """The sandbox's data and knobs; thread-safe through :attr:`lock`."""

    def __init__(self):
        self.lock = threading.RLock()
        self.grants = GrantStore()
        self.faults = FaultPlan()
        self.notifier = Notifier()
        self.channels = ChannelRegistry()
        self.users: dict[str, User] = {}
        self.calendars: dict[str, CalendarStore] = {}
        #: the sandbox's own base URL (set by the server), used in resource URIs
        self.base_url = "http://127.0.0.1"
        #: answer an empty page (with a nextPageToken) before every page of a listing, as Google may
        self.empty_pages = False
        #: Google refuses every webhook address but https (push.webhookUrlNotHttps). The one exception,
        #: off unless turned on (the test fixtures and `hub demo` do): http to a loopback address, so
        #: a hub on this machine can be notified
        self.loopback_http_push = False
        #: the update mails Google would have sent for ``sendUpdates`` (event id, method, recipients)
        self.invitations: list[dict] = []
        #: mail sent to addresses outside the sandbox (Gmail would deliver it)
        self.outbound: list[dict] = []
        #: (method, path, status) of recent requests, newest last
        self.requests: deque = deque(maxlen=5000)
        #: when True, every JSON response is kept as (discovery method id, status, body)
        self.record_responses = False
        self.responses: list[tuple[str, int, object]] = []
        self.pages = PageStore()
        #: tracebacks of requests the sandbox itself failed on (a sandbox bug; tests assert there are none)
        self.crashes: list[str] = []
        self.grants.add_client(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)

    # --- users and calendars ---------------------------------------------------------------------

    def add_client(self, client_id: str, secret: str, redirect_uris: tuple[str, ...] = ()) -> None:
        """Register an OAuth client (``redirect_uris`` empty = any redirect is accepted)."""
        with self.lock:
            self.grants.add_client(client_id, secret, redirect_uris)

    def add_user(self, email: str, name: str = "", time_zone: str = "UTC") -> User:
        """A Google account with its primary calendar (id = the address) and an empty mailbox."""
        with self.lock:
            if email in self.users:
                return self.users[email]
            user = User(email, name or email.split("@")[0].title(), time_zone)
            self.users[email] = user
            self._new_calendar(email, email, time_zone, owner=user)  # Google names it after the address
            user.calendar_list[email]["primary"] = True
            return user

    def user(self, email: str) -> User:
        """The sandbox user ``email`` (KeyError if there is none)."""
        with self.lock:
            if email not in self.users:
                raise KeyError(f"no sandbox user {email!r}")
            return self.users[email]

    def add_calendar(self, owner: str, summary: str, calendar_id: str | None = None,
                     time_zone: str | None = None, description: str = "") -> CalendarStore:
        """A secondary calendar owned by ``owner``."""
        with self.lock:
            user = self.user(owner)
            calendar_id = calendar_id or (hashlib.sha256(f"{owner}/{summary}".encode()).hexdigest()[:26]
                                          + "@group.calendar.google.com")
            return self._new_calendar(calendar_id, summary, time_zone or user.time_zone, owner=user,
                                      description=description)

    def add_public_calendar(self, calendar_id: str, summary: str, time_zone: str = "UTC") -> CalendarStore:
        """A calendar nobody in the sandbox owns (holidays, a colleague's); share it to make it visible."""
        with self.lock:
            store = CalendarStore(calendar_id, summary, time_zone, owner_email=calendar_id)
            store.on_change = self._calendar_changed
            self.calendars[calendar_id] = store
            return store

    def _new_calendar(self, calendar_id: str, summary: str, time_zone: str, owner: User,
                      description: str = "") -> CalendarStore:
        store = CalendarStore(calendar_id, summary, time_zone, description=description,
                              owner_email=owner.email, owner_name=owner.name)
        store.on_change = self._calendar_changed
        self.calendars[calendar_id] = store
        owner.calendar_list[calendar_id] = {"accessRole": "owner", "selected": True,
                                            "colorId": str(len(owner.calendar_list) % 24 + 1)}
        return store

    def share(self, calendar_id: str, email: str, role: str = "reader") -> None:
        """Put a calendar into another user's calendar list with ``role``."""
        with self.lock:
            self.user(email).calendar_list[calendar_id] = {"accessRole": role, "selected": role != "freeBusyReader",
                                                           "colorId": "7"}

    def calendar(self, user: User, calendar_id: str, role: str = "reader") -> CalendarStore:
        """The calendar ``user`` asks for (``primary`` = theirs), checking their access role."""
        if calendar_id == "primary":
            calendar_id = user.email
        entry = user.calendar_list.get(calendar_id)
        if entry is None or calendar_id not in self.calendars:
            raise not_found()
        ranks = ["freeBusyReader", "reader", "writer", "owner"]
        if ranks.index(entry["accessRole"]) < ranks.index(role):
            raise GoogleError(403, "requiredAccessLevel", f"You need to have {role} access to this calendar.")
        return self.calendars[calendar_id]

    def _calendar_changed(self, store: CalendarStore) -> None:
        for channel in self.channels.on_calendar(store.id):
            self.notifier.notify(channel, "exists")

    # --- provider-side edits (as another Google client would make them) -------------------------

    def create_event(self, email: str, calendar_id: str, body: dict, event_id: str | None = None) -> dict:
        """Create an event as another Google client would (notifies channels)."""
        with self.lock:
            return self.calendar(self.user(email), calendar_id, "writer").insert(body, event_id, conference=True)

    def update_event(self, email: str, calendar_id: str, event_id: str, body: dict, replace: bool = True) -> dict:
        """Change an event as another Google client would."""
        with self.lock:
            return self.calendar(self.user(email), calendar_id, "writer").patch(event_id, body, replace=replace,
                                                                             conference=True)

    def delete_event(self, email: str, calendar_id: str, event_id: str) -> None:
        """Delete an event as another Google client would."""
        with self.lock:
            self.calendar(self.user(email), calendar_id, "writer").delete(event_id)

    def deliver_mail(self, email: str, raw: bytes, labels: tuple[str, ...] = ("INBOX", "UNREAD"),
                     internal_date: int | None = None) -> StoredMessage:
        """Mail arrives in (or is imported into) ``email``'s mailbox."""
        with self.lock:
            return self.user(email).mailbox.add(raw, list(labels), internal_date=internal_date)

    # --- knobs -----------------------------------------------------------------------------------

    def inject(self, kind: str | None = "429", times: int | None = 1, path: str | None = None,
               method: str | None = None, delay: float = 0.0, retry_after: float | None = None,
               after: bool = False) -> Fault:
        """Make the next ``times`` matching requests fail (see :class:`~hub_google.sandbox.faults.Fault`)."""
        return self.faults.add(Fault(kind, times, path, method, delay, retry_after, after))

    def clear_faults(self) -> None:
        """Remove every injected fault."""
        self.faults.clear()

    def revoke_grants(self, email: str) -> int:
        """The user removed the app (or changed the password): refresh and access tokens die."""
        with self.lock:
            return self.grants.revoke_user(email)

    def expire_access_tokens(self, email: str | None = None) -> None:
        """Expire live access tokens (of ``email``, or everyone's); refresh tokens keep working."""
        with self.lock:
            self.grants.expire_access_tokens(email)

    def expire_sync_tokens(self, calendar_id: str | None = None) -> None:
        """Every sync token handed out so far (for one calendar, or all) answers 410 from now on."""
        with self.lock:
            for store in self.calendars.values():
                if calendar_id in (None, store.id):
                    store.expire_sync_tokens()

    def expire_history(self, email: str | None = None) -> None:
        """Every ``startHistoryId`` handed out so far answers 404 from now on."""
        with self.lock:
            for user in self.users.values():
                if email in (None, user.email):
                    user.mailbox.expire_history()

    def wait_for_notifications(self, timeout: float = 10.0) -> bool:
        """Block until queued push notifications were delivered (or failed)."""
        return self.notifier.wait_idle(timeout)
