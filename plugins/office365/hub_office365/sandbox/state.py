"""The sandbox's in-memory world: mailboxes, OAuth grants, delta sync states, subscriptions and knobs.

Everything the HTTP side serves lives in one :class:`SandboxState`, guarded by one re-entrant lock.
Tests drive the "remote side" through its Python API (``add_event``, ``deliver_mail``, ``revoke_grant``,
``inject_fault`` …) exactly as a person in Outlook or an Entra ID administrator would, and the plugin
sees the effect only through HTTP. Outbound HTTP (validation handshakes, notifications) never runs
under the lock.
"""

from __future__ import annotations

import secrets
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from hub_office365.sandbox import events as event_store
from hub_office365.sandbox import messages as message_store
from hub_office365.sandbox.ids import new_change_key, new_id, now

#: well-known mail folder names Graph accepts in place of folder ids
WELL_KNOWN_FOLDERS = {
    "inbox": "Inbox",
    "sentitems": "Sent Items",
    "drafts": "Drafts",
    "deleteditems": "Deleted Items",
    "archive": "Archive",
}


@dataclass
class Fault:
    """One injected failure, consumed by the next matching Graph request(s)."""

    kind: str  # "status" (answer with ``status``) or "timeout" (sleep ``delay`` before answering)
    status: int = 500
    retry_after: int | None = None
    code: str = ""
    delay: float = 0.0
    #: only requests whose path contains this substring (None = every Graph request)
    path: str | None = None
    #: only requests with this HTTP method (None = any)
    method: str | None = None
    remaining: int = 1


@dataclass
class Grant:
    """One user's consent to one client: what refresh tokens stand for."""

    id: str
    email: str
    client_id: str
    scopes: list[str]
    #: AADSTS code the next token request on this grant fails with (50173, 700082, 65001 …)
    failure: int | None = None


@dataclass
class Mailbox:
    """One user's Exchange mailbox: calendars with events, mail folders with messages."""

    email: str
    display_name: str
    user_id: str
    #: hosted in an on-premises Exchange: Graph cannot reach it (MailboxNotEnabledForRESTAPI)
    on_premises: bool = False
    #: the mailbox's time zone setting as Graph reports it (``mailboxSettings.timeZone``): a Windows name
    #: by default, an IANA name in tenants set up that way. "UTC" for a user who never chose one
    #: [unverified: what Exchange Online reports then]
    time_zone: str = "UTC"
    calendars: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    folders: dict[str, dict[str, Any]] = field(default_factory=dict)
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def default_calendar_id(self) -> str:
        """The id of the calendar Graph calls ``/me/calendar``."""
        return next(c["id"] for c in self.calendars.values() if c["isDefaultCalendar"])

    def folder_id(self, name_or_id: str) -> str | None:
        """Resolve a well-known folder name (``inbox``, ``sentitems``) or an id to the folder id."""
        lowered = name_or_id.lower()
        for folder in self.folders.values():
            if folder["id"] == name_or_id or folder["wellKnownName"] == lowered:
                return folder["id"]
        return None


@dataclass
class Knobs:
    """Behaviour switches a test flips; each documents which Graph behaviour it imitates."""

    #: refuse a refresh token once it was rotated (stricter than Entra ID, which keeps old ones
    #: valid for their lifetime — catches clients that forget to store the new one)
    invalidate_rotated_refresh_tokens: bool = True
    access_token_lifetime: int = 3599
    #: a revoked grant also kills its live access tokens (continuous access evaluation)
    revoke_kills_access_tokens: bool = True
    #: a retried POST /events with a known transactionId returns the existing event
    dedupe_transaction_id: bool = True
    #: how an expired delta token answers: "gone" (410 syncStateNotFound) or "invalid" (400 syncStateInvalid)
    delta_expiry_style: str = "gone"
    #: the next delta run lists every item twice (Graph: "the same item may appear more than once")
    duplicate_delta_items: bool = False
    #: the next incremental delta run replays the previous round's changes as well
    replay_delta: bool = False
    #: the first page of the next delta run is empty but carries a nextLink
    empty_first_delta_page: bool = False
    #: every change notification is POSTed twice
    duplicate_notifications: bool = False
    #: how often a notification is POSTed when the receiver does not answer 2xx (Graph retries)
    notification_attempts: int = 3
    #: seconds before the first retry; doubled for each further one
    notification_retry_delay: float = 0.05
    #: Graph only accepts https notification URLs. The one exception, off unless turned on (the test
    #: fixtures and `hub demo` do): http to a loopback address, so a hub on this machine can be notified
    loopback_http_push: bool = False
    max_subscription_minutes: int = 10080
    default_event_page_size: int = 10
    default_message_page_size: int = 10
    #: a messages delta lists an updated message as only ``id``, ``isRead`` and ``parentFolderId`` (Graph
    #: may; the strict choice is to always do so)
    minimal_message_updates: bool = True
    #: calendarView delta items leave out ``transactionId`` (Graph returns it, but does not document it
    #: there: this imitates a service that stops doing so)
    delta_without_transaction_id: bool = False
    #: Graph may return fewer items than odata.maxpagesize asks for; this caps every delta page
    max_delta_page_size: int | None = None


class SandboxState:
    """The whole sandbox world. Thread-safe: every method takes ``self.lock``."""

    def __init__(self, tenant_id: str | None = None):
        self.lock = threading.RLock()
        self.tenant_id = tenant_id or str(uuid.uuid4())
        self.knobs = Knobs()
        self.clients: dict[str, str] = {}
        self.mailboxes: dict[str, Mailbox] = {}
        self.codes: dict[str, dict[str, Any]] = {}
        self.grants: dict[str, Grant] = {}
        self.refresh_tokens: dict[str, str] = {}  # token -> grant id
        self.access_tokens: dict[str, tuple[str, datetime]] = {}  # token -> (grant id, expiry)
        self.sync_states: dict[str, dict[str, Any]] = {}  # delta token -> snapshot
        self.delta_runs: dict[str, dict[str, Any]] = {}  # run id -> paged items
        self.subscriptions: dict[str, dict[str, Any]] = {}
        self.faults: list[Fault] = []
        #: every Graph request seen: (method, path, query string, headers) — for assertions
        self.requests: list[tuple[str, str, str, dict[str, str]]] = []
        #: every notification POST made: (url, payload, status or error string)
        self.deliveries: list[tuple[str, dict[str, Any], Any]] = []
        self.notifier = None  # set by subscriptions.Notifier when the server starts

    # --- directory ----------------------------------------------------------------------------

    def register_client(self, client_id: str, client_secret: str) -> None:
        """Register an app (Entra ID app registration) that may request tokens."""
        with self.lock:
            self.clients[client_id] = client_secret

    def add_mailbox(self, email: str, display_name: str | None = None, on_premises: bool = False) -> Mailbox:
        """Create a user with a default calendar and the standard mail folders."""
        with self.lock:
            box = Mailbox(email=email.lower(), display_name=display_name or email.split("@")[0].title(),
                          user_id=str(uuid.uuid4()), on_premises=on_premises)
            self.mailboxes[box.email] = box
            self.add_calendar(box.email, "Calendar", default=True)
            for well_known, name in WELL_KNOWN_FOLDERS.items():
                folder_id = new_id("AQMkAD")
                box.folders[folder_id] = {"id": folder_id, "displayName": name, "wellKnownName": well_known,
                                          "parentFolderId": None, "childFolderCount": 0}
            return box

    def mailbox(self, email: str) -> Mailbox:
        """The mailbox of ``email`` (KeyError when there is none)."""
        with self.lock:
            return self.mailboxes[email.lower()]

    def add_calendar(self, email: str, name: str, can_edit: bool = True, default: bool = False,
                     owner: str | None = None) -> str:
        """Add a calendar; ``owner`` other than the user makes it a calendar shared with them."""
        with self.lock:
            box = self.mailboxes[email.lower()]
            cal_id = new_id("AAMkAGI")
            owner_address = owner or box.email
            box.calendars[cal_id] = {
                "id": cal_id, "name": name, "color": "auto", "hexColor": "", "isDefaultCalendar": default,
                "changeKey": new_change_key(), "canShare": owner_address == box.email, "canViewPrivateItems": True,
                "canEdit": can_edit, "isRemovable": not default, "isTallyingResponses": True,
                "allowedOnlineMeetingProviders": ["teamsForBusiness"],
                "defaultOnlineMeetingProvider": "teamsForBusiness",
                "owner": {"name": owner_address.split("@")[0].title(), "address": owner_address},
            }
            return cal_id

    # --- calendar side (what a person does in Outlook) ------------------------------------------

    def add_event(self, email: str, body: dict[str, Any], calendar_id: str | None = None,
                  by_owner: bool = False) -> dict[str, Any]:
        """Create an event from a Graph event JSON body; returns the stored event.

        :param by_owner: written by the calendar's owner, so a calendar the user may only read works too.
        """
        with self.lock:
            box = self.mailboxes[email.lower()]
            event = event_store.create(box, calendar_id or box.default_calendar_id, body,
                                       dedupe=self.knobs.dedupe_transaction_id, by_owner=by_owner)
        self.changed(box, "event", event["calendar_id"], event["id"], "created")
        return event

    def update_event(self, email: str, event_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        """Apply a Graph PATCH body to an event, an occurrence (making an exception) or an exception."""
        with self.lock:
            box = self.mailboxes[email.lower()]
            calendar_id, item_id = event_store.update(box, event_id, changes)
        self.changed(box, "event", calendar_id, item_id, "updated")
        return event_store.find(box, event_id)

    def delete_event(self, email: str, event_id: str) -> None:
        """Delete an event or series, or cancel one occurrence of a series."""
        with self.lock:
            box = self.mailboxes[email.lower()]
            calendar_id = event_store.delete(box, event_id)
        self.changed(box, "event", calendar_id, event_id, "deleted")

    # --- mail side -------------------------------------------------------------------------------

    def deliver_mail(self, email: str, folder: str = "inbox", **fields: Any) -> dict[str, Any]:
        """Put a message into a folder (mail arriving, or a message the user sent from Outlook)."""
        with self.lock:
            box = self.mailboxes[email.lower()]
            message = message_store.create(box, box.folder_id(folder), fields)
        self.changed(box, "message", message["parentFolderId"], message["id"], "created")
        return message

    def update_message(self, email: str, message_id: str, changes: dict[str, Any]) -> None:
        """Change a message as its user would in Outlook (``{"isRead": True}`` when reading it)."""
        with self.lock:
            box = self.mailboxes[email.lower()]
            message = box.messages[message_id]
            message_store.update(message, changes)
        self.changed(box, "message", message["parentFolderId"], message_id, "updated")

    def delete_message(self, email: str, message_id: str) -> None:
        """Delete a message (the user emptied it from the folder)."""
        with self.lock:
            box = self.mailboxes[email.lower()]
            message = box.messages.pop(message_id)
        self.changed(box, "message", message["parentFolderId"], message_id, "deleted")

    # --- identity knobs --------------------------------------------------------------------------

    def revoke_grant(self, email: str, code: int = 50173) -> None:
        """Make every grant of ``email`` fail its next token request with AADSTS ``code``.

        50173 password reset / admin revoked, 700082 inactivity, 70008 expired, 65001 consent
        revoked, 50076 MFA required, 70043 sign-in frequency.
        """
        with self.lock:
            for grant in self.grants.values():
                if grant.email == email.lower():
                    grant.failure = code
            if self.knobs.revoke_kills_access_tokens:
                dead = {g.id for g in self.grants.values() if g.email == email.lower()}
                self.access_tokens = {t: v for t, v in self.access_tokens.items() if v[0] not in dead}

    def expire_access_tokens(self, email: str | None = None) -> None:
        """Let live access tokens expire (so the next Graph call answers 401 and the client refreshes)."""
        with self.lock:
            past = now() - timedelta(seconds=1)
            for token, (grant_id, _) in list(self.access_tokens.items()):
                if email is None or self.grants[grant_id].email == email.lower():
                    self.access_tokens[token] = (grant_id, past)

    def issue_tokens(self, grant: Grant) -> dict[str, Any]:
        """A fresh access token and a NEW refresh token for ``grant`` (Entra ID rotates them)."""
        with self.lock:
            access = "eyJ0eXAiOiJKV1Qi." + secrets.token_urlsafe(32)
            refresh = "0.AR8A" + secrets.token_urlsafe(48)
            self.access_tokens[access] = (grant.id, now() + timedelta(seconds=self.knobs.access_token_lifetime))
            if self.knobs.invalidate_rotated_refresh_tokens:
                self.refresh_tokens = {t: g for t, g in self.refresh_tokens.items() if g != grant.id}
            self.refresh_tokens[refresh] = grant.id
            return {"token_type": "Bearer", "scope": " ".join(grant.scopes),
                    "expires_in": self.knobs.access_token_lifetime, "ext_expires_in": self.knobs.access_token_lifetime,
                    "access_token": access, "refresh_token": refresh}

    def token_scopes(self, token: str) -> set[str]:
        """The resource scopes (lower-case, without Graph's URL prefix) a live access token carries."""
        with self.lock:
            entry = self.access_tokens.get(token)
            if entry is None or entry[1] <= now():
                return set()
            return {s.removeprefix("https://graph.microsoft.com/").lower() for s in self.grants[entry[0]].scopes}

    def mailbox_for_token(self, token: str) -> Mailbox | None:
        """The mailbox a live access token stands for, or None (expired, unknown, revoked)."""
        with self.lock:
            entry = self.access_tokens.get(token)
            if entry is None or entry[1] <= now():
                return None
            return self.mailboxes.get(self.grants[entry[0]].email)

    # --- fault knobs -----------------------------------------------------------------------------

    def inject_fault(self, status: int = 500, *, times: int = 1, retry_after: int | None = None,
                     path: str | None = None, method: str | None = None, code: str = "",
                     timeout: float | None = None) -> None:
        """Make the next ``times`` Graph requests (whose path contains ``path``, sent with ``method``) fail.

        ``status=429`` answers ``TooManyRequests`` with ``Retry-After``; ``timeout=s`` holds the answer
        back for ``s`` seconds (longer than the client waits) and then answers 504.
        """
        with self.lock:
            if timeout is not None:
                self.faults.append(Fault("timeout", status=504, delay=timeout, path=path, method=method,
                                         remaining=times))
            else:
                self.faults.append(Fault("status", status=status, retry_after=retry_after, code=code, path=path,
                                         method=method, remaining=times))

    def take_fault(self, method: str, path: str) -> Fault | None:
        """The fault the request must suffer, if any (consumes one use)."""
        with self.lock:
            for fault in self.faults:
                if (fault.remaining > 0 and (fault.path is None or fault.path in path)
                        and (fault.method is None or fault.method == method)):
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self.faults.remove(fault)
                    return fault
            return None

    def expire_delta_tokens(self) -> None:
        """Forget every delta sync state: the next deltaLink or nextLink answers 410 / syncStateNotFound."""
        with self.lock:
            self.sync_states.clear()
            self.delta_runs.clear()

    # --- change notifications --------------------------------------------------------------------

    def changed(self, box: Mailbox, kind: str, container_id: str, item_id: str, change_type: str) -> None:
        """Record a change so subscriptions on it get a notification."""
        if self.notifier is not None:
            self.notifier.changed(box, kind, container_id, item_id, change_type)

    def lifecycle(self, subscription_id: str, event: str) -> None:
        """Send a lifecycle notification (``reauthorizationRequired``, ``subscriptionRemoved``, ``missed``)."""
        if self.notifier is None:
            raise RuntimeError("lifecycle notifications need a running sandbox server")
        self.notifier.lifecycle(subscription_id, event)

    def wait_for_deliveries(self, timeout: float = 10.0) -> None:
        """Block until every queued notification was POSTed (for tests)."""
        if self.notifier is not None:
            self.notifier.drain(timeout)
