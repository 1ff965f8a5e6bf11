"""The provider contract: every hook a provider plugin may implement.

Plugins implement these with ``@hub.hookimpl``. Per-account hooks are ``firstresult``: each plugin
checks ``account.provider`` (or ``context.name``) and returns ``None`` when the account is not its
own, so the first plugin that answers wins. Broadcast hooks (at the end) are notifications that
every plugin may observe.

Rules every implementation follows (the core enforces what it can):

* only the dataclasses of :mod:`hub.types` and builtins cross this boundary — never ORM objects;
* errors are raised as :mod:`hub.exceptions` (``AuthExpired``, ``RateLimited`` …), never as the
  HTTP library's own exceptions;
* hooks are synchronous and may be called from any worker process, so they keep no state between
  calls other than what they persist through ``account.update_credentials`` / ``update_settings``;
* credentials are never logged.

The reference implementation of every hook is :class:`hub.testing.MemoryProvider`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable

import pluggy

from hub.types import (
    AccountHandle,
    ConnectResult,
    Cursor,
    EventChange,
    EventPage,
    FreeBusy,
    MailPage,
    MailPartitions,
    OAuthStart,
    OutgoingMessage,
    ProviderContext,
    ProviderInfo,
    PushChannel,
    PushListener,
    PushResult,
    RemoteCalendar,
    SentMessage,
    WebhookRequest,
    WebhookResult,
    Window,
)

PROJECT_NAME = "crm_hub"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)

# -------------------------------------------------------------------------------------------------
# Registration
# -------------------------------------------------------------------------------------------------


@hookspec
def hub_register_providers(register: Callable[[ProviderInfo], None]) -> None:
    """Register the providers this plugin offers.

    Called once by the plugin manager at start-up. Call ``register(ProviderInfo(...))`` for each
    provider; a plugin may register several. Raises nothing.
    """


# -------------------------------------------------------------------------------------------------
# Connecting
# -------------------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def hub_authorization_url(context: ProviderContext, start: OAuthStart) -> str | None:
    """Build the provider's OAuth authorization URL.

    Called by the web connect flow for providers with ``connect_kind="oauth"``. The core has made
    ``start.state`` and the PKCE pair; the URL must carry ``state``, ``code_challenge`` (S256),
    ``redirect_uri``, offline access and the minimal scopes. Return ``None`` when
    ``context.name`` is not this plugin's provider.

    Stops at first non-None result.

    :raises ConfigError: the administrator has not entered the OAuth client credentials.
    """


@hookspec(firstresult=True)
def hub_connect(context: ProviderContext, params: dict[str, Any]) -> ConnectResult | None:
    """Check credentials and return what the hub stores for the new (or reconnected) account.

    Called by the web connect flow: for OAuth providers from the callback, with ``params`` holding
    ``code``, ``code_verifier`` and ``redirect_uri``; for form providers with the form's fields.
    The plugin verifies the credentials for real (token exchange, IMAP login, SMTP AUTH, CalDAV
    discovery). The core then stores the account, encrypts the credentials and enqueues the initial
    sync. Return ``None`` when ``context.name`` is not this plugin's provider.

    Stops at first non-None result.

    :raises AuthenticationFailed: wrong credentials, with a fix hint (e.g. "create an app password").
    :raises ConnectFailed: the host cannot be reached; ``HostNotAllowed`` for a refused address.
    :raises NotSupported: the account cannot be served (e.g. an on-premises Exchange mailbox).
    """


@hookspec(firstresult=True)
def hub_disconnect(account: AccountHandle) -> bool | None:
    """Revoke the account's tokens at the provider and release what it holds there.

    Called by the disconnect flow after the user confirmed. Return ``True`` when done; ``None``
    when the account is not this plugin's. A provider that cannot be reached must not block the
    disconnect: swallow network errors and return ``True``.

    Stops at first non-None result.
    """


# -------------------------------------------------------------------------------------------------
# Calendars
# -------------------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def hub_list_calendars(account: AccountHandle) -> list[RemoteCalendar] | None:
    """List the account's calendars that hold events, with the user's access role.

    Called after connecting and by calendar settings and the sync job. Return ``None`` when the
    account is not this plugin's.

    Stops at first non-None result.

    :raises AuthExpired: the grant no longer works.
    :raises RateLimited, ProviderUnavailable: retried by the core.
    """


@hookspec(firstresult=True)
def hub_fetch_events(
    account: AccountHandle, calendar_id: str, cursor: Cursor | None, window: Window
) -> EventPage | None:
    """Fetch one page of changes on one calendar.

    Called by the calendar sync job repeatedly until a page has ``done=True``. With
    ``cursor=None`` this is a full sync of ``window`` (events overlapping it, recurring masters
    with their exceptions); with a cursor it returns only what changed since. The core stores the
    page and its ``next_cursor`` in one transaction, so a crash resumes from the last page.
    Deletions (and events that left the window) come back in ``EventPage.deleted`` by remote id;
    a cancelled occurrence of a live series comes back as an event with ``status="cancelled"``,
    ``recurring_event_id`` and ``original_start``.

    Stops at first non-None result.

    :raises CursorExpired: the cursor is too old; the core drops it and full-syncs the calendar.
    :raises AuthExpired, RateLimited, ProviderUnavailable: as for every hook.
    """


@hookspec(firstresult=True)
def hub_push_events(
    account: AccountHandle, calendar_id: str, changes: list[EventChange]
) -> list[PushResult] | None:
    """Apply the hub's changes to one calendar, returning one result per change, in order.

    Called by the push job with rows from the outbox. A create must be idempotent on
    ``change.client_id`` (a retried create returns the existing event, never a second one); update
    and delete carry the last known ``etag`` and fail with ``WrongEtag`` when it no longer matches.
    Events are marked with ``client_id`` (``RemoteEvent.hub_marker`` on the way back) so the hub's
    own writes are recognised and never echo back. With ``want_video`` the provider adds its video
    link (Meet, Teams) and returns it. ``send_invites=False`` creates the event silently.

    A failure of one change is returned in ``PushResult.error``; the others still count.

    Stops at first non-None result.

    :raises AuthExpired, RateLimited, ProviderUnavailable: for the whole batch.
    """


@hookspec(firstresult=True)
def hub_free_busy(
    account: AccountHandle, calendar_ids: list[str], start: datetime, end: datetime
) -> FreeBusy | None:
    """Busy intervals of the given calendars between ``start`` and ``end``.

    Called by the booking flow to re-check a slot at the provider before confirming. Uses the
    provider's own free/busy query where it has one. Transparent ("free", "working elsewhere")
    events never appear. A calendar that cannot be read goes into ``FreeBusy.errors`` — the core
    then treats its whole range as busy (fail closed).

    Stops at first non-None result.

    :raises AuthExpired, RateLimited, ProviderUnavailable: the core fails closed.
    """


# -------------------------------------------------------------------------------------------------
# Mail
# -------------------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def hub_sync_mail(
    account: AccountHandle, folder: str, cursor: Cursor | None, limit: int, since: datetime
) -> MailPage | None:
    """Fetch one page (at most ``limit`` messages) of new mail in ``folder`` ("inbox" or "sent").

    Called by the mail sync job until a page has ``done=True``. With ``cursor=None`` the initial
    sync starts at ``since``; with a cursor only mail that arrived (and ids that vanished) since.
    Messages carry headers, text/HTML bodies and attachment metadata, never attachment bytes.
    A message that cannot be parsed fully comes back with ``parse_error`` set and whatever could
    be read — one bad message never fails the page.

    Stops at first non-None result.

    :raises CursorExpired: e.g. IMAP UIDVALIDITY changed, Gmail history too old: full resync.
    :raises AuthExpired, RateLimited, ProviderUnavailable: as for every hook.
    """


@hookspec(firstresult=True)
def hub_mail_partitions(account: AccountHandle, folder: str, since: datetime, parts: int) -> MailPartitions | None:
    """Cut the initial sync of ``folder`` (from ``since``) into at most ``parts`` disjoint parts.

    Called by the mail engine before a large initial sync; ``None`` (the folder is small, or the
    provider cannot page by partition) means one job pages through the folder as usual. Each part's
    cursor goes to ``hub_sync_mail`` in its own job; ``after`` continues the folder once all are done.

    Stops at first non-None result.

    :raises CursorExpired, AuthExpired, RateLimited, ProviderUnavailable: as ``hub_sync_mail``.
    """


@hookspec(firstresult=True)
def hub_mail_folders(account: AccountHandle) -> list[str] | None:
    """The names of the account's mail folders that can hold mail, for the user to pick the one
    the hub syncs as "sent" (stored as ``settings["sent_folder"]``) where the provider cannot tell.

    Stops at first non-None result; providers whose Sent folder is fixed do not implement it.
    """


@hookspec(firstresult=True)
def hub_send_mail(account: AccountHandle, message: OutgoingMessage) -> SentMessage | None:
    """Send ``message`` through the user's own mailbox (Gmail API, Graph sendMail, SMTP).

    Called when the CRM sends mail. Replies keep the thread (``thread_id``, ``In-Reply-To``).

    Stops at first non-None result.

    :raises AuthExpired, RateLimited, ProviderUnavailable, ConnectFailed.
    """


# -------------------------------------------------------------------------------------------------
# Push notifications
# -------------------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def hub_watch(
    account: AccountHandle, kind: str, key: str, address: str, renew: PushChannel | None
) -> PushChannel | None:
    """Create (or renew) a push channel for a calendar (``kind="calendar"``) or mail folder.

    Called after connecting and by the scheduled renewal job before ``renew.expires_at``.
    ``address`` is the hub's webhook URL for this account. Return ``None`` when the account is not
    this plugin's or the provider has no push for ``kind`` (polling is then the only path).

    Stops at first non-None result.

    :raises AuthExpired, RateLimited, ProviderUnavailable.
    """


@hookspec(firstresult=True)
def hub_unwatch(account: AccountHandle, channel: PushChannel) -> bool | None:
    """Stop a push channel (Google channels.stop, Graph subscription DELETE).

    Called on disconnect and when a channel is replaced. Errors are swallowed: a channel that is
    already gone is stopped.

    Stops at first non-None result.
    """


@hookspec(firstresult=True)
def hub_handle_webhook(
    account: AccountHandle, request: WebhookRequest, channels: list[PushChannel]
) -> WebhookResult | None:
    """Verify and interpret a push notification addressed to ``account``.

    Called by the web webhook route (``/webhooks/<provider>/<account id>``) with the account's
    live ``channels``. Check the channel token / clientState against them; answer handshakes
    (Graph ``validationToken``, Google ``sync``) in the result's body; list the syncs the
    notification implies in ``WebhookResult.syncs`` — the core enqueues them (de-duplicated).
    Must be fast: no provider calls here.

    Stops at first non-None result.

    :raises WebhookRejected: the token did not match; the core logs it and answers 403.
    """


@hookspec
def hub_push_listeners(
    accounts: Callable[[str], list[AccountHandle]], on_change: Callable[[int, str, str], None]
) -> list[PushListener] | None:
    """Long-running listeners for providers that push over a held connection (IMAP IDLE).

    Called once by ``hub idle`` (which ``hub serve`` starts). ``accounts(provider)`` returns the
    handles of that provider's accounts that may sync right now (call it again to follow
    connects and disconnects); ``on_change(account_id, kind, key)`` asks the core for a sync
    (``kind`` "mail" or "calendar", ``key`` the folder or calendar id). Return listeners not yet
    started, or ``None`` when the plugin has none; the core calls ``start()`` and, on exit,
    ``stop()``. Every implementation is called (not firstresult).
    """


# -------------------------------------------------------------------------------------------------
# Notifications (broadcast: every implementation is called, results are ignored)
# -------------------------------------------------------------------------------------------------


@hookspec
def hub_account_connected(account_id: int, provider: str) -> None:
    """An account was connected or reconnected and its initial sync enqueued."""


@hookspec
def hub_sync_finished(account_id: int, kind: str, key: str, stats: dict[str, int]) -> None:
    """A calendar or mail folder finished syncing; ``stats`` counts what changed."""
