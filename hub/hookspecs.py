"""The provider contract: every hook a provider plugin may implement.

``hub/hookspecs.py`` is the one source of the hook reference: ``hub docs`` renders docs/hooks.md
from its docstrings (this text, then each hook's signature and docstring, in source order), and a
test fails when the page and the module differ. Edit the docstrings, then run ``hub docs``.

**Implementing a hook.** Mark a function (or a method of a plugin object) with ``@hub.hookimpl``
and give it the hook's exact name and argument names; you may leave out arguments you do not use
(pluggy passes only what you ask for). A plugin is found through the ``crm_hub`` entry point and
registers its providers with :func:`hub_register_providers`.

**Two kinds of hooks.**

* **first result** — per-account (and per-provider) hooks. The core calls them through
  :meth:`hub.plugins.PluginManager.call` on the one plugin that registered the account's provider
  (``account.provider``, or ``context.name`` before an account exists) and on no other plugin, so
  an implementation never checks whose account it got. ``None`` means "not supported" (``call``
  turns it into :class:`~hub.exceptions.NotSupported`); an answer of another type than the one
  annotated here is refused with a :class:`~hub.exceptions.ProviderError` naming the plugin.
  Hooks of a provider an administrator disabled are not called at all.
* **broadcast** — notifications every plugin may observe. Every implementation is called and the
  results are ignored; one that raises is logged and skipped, since the work it reports on is
  already committed.

**Rules every implementation follows** (the core enforces what it can):

* only the dataclasses of :mod:`hub.types` and builtins cross this boundary — never ORM objects,
  never the HTTP library's objects;
* errors are raised as :mod:`hub.exceptions` (``AuthExpired``, ``RateLimited`` …), never as the
  HTTP library's own exceptions; ``hub.http`` maps HTTP failures for you. What the hub does with
  each: ``AuthExpired`` marks the account Error and asks the user to reconnect; ``RateLimited``
  and ``ProviderUnavailable`` (and every other *transient* error) make the job run again later —
  after ``retry_after`` seconds when given, else with backoff (5 s, 30 s, 2 min, 10 min, 30 min),
  the last failure going to the account's error log; any other error fails the job and is written
  to the account's error log;
* **retries re-run whole jobs.** Sync and push run as RQ jobs, which are at-least-once: a job whose
  worker died, or that failed with a transient error, runs again from its start — with the last
  cursor the hub stored, and with the outbox entries still pending. So every hook may be called
  again with the same arguments, and must give the same outcome (a create is idempotent on its
  ``client_id``; reading twice is harmless);
* hooks are synchronous and may be called from any worker process on any machine, and from any
  thread of it (web request threads, the mail engine's prefetch thread, ``hub idle``), also at the
  same time for the same account. So they keep no state between calls other than what they persist
  through ``account.update_credentials`` / ``account.update_settings`` (both written to the database
  at once, credentials encrypted), and module-level caches must be thread-safe;
* ids (``remote_id``, calendar ids) are stored in columns of 1,024 characters, push channel ids
  of 255 and e-mail addresses of 320; cursors are stored as text and handed back unchanged (see
  each hook);
* credentials are never logged and never put into exception messages.

The reference implementation of every hook is :class:`hub.testing.MemoryProvider`
(hub/testing/memory.py), and :class:`hub.testing.ProviderTests` is the conformance suite that
checks a provider against this contract.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable

import pluggy

from hub.types import (
    AccountHandle,
    ConnectResult,
    Cursor,
    DemoSandbox,
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
#: what a plugin marks its implementations with (also ``hub.hookimpl``)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

# -------------------------------------------------------------------------------------------------
# Registration
# -------------------------------------------------------------------------------------------------


@hookspec
def hub_register_providers(register: Callable[[ProviderInfo], None]) -> None:
    """Tell the hub which providers this plugin offers.

    **Caller:** the plugin manager, once each time it loads the plugins — at the start of every hub
    process (web, worker, scheduler, ``hub idle``, every CLI command) and of every conformance test.
    Every plugin's implementation is called. Call ``register(ProviderInfo(...))`` once per provider;
    a plugin may register several.

    **Retries:** called again in every process and test, so it only describes: no provider calls,
    no files, no state.

    **Threads:** the loading thread, before any other hook of the plugin runs.

    **Limits:** a provider name is registered by one plugin only (a second registration fails
    start-up with ``ConfigError``); the name appears in URLs (``/webhooks/<provider>/<account id>``)
    and in the database, so keep it a short lower-case word — by convention the entry-point name.

    What each field of :class:`~hub.types.ProviderInfo` makes the hub do:

    * ``name`` — the key of the provider: accounts store it as ``account.provider`` and the core
      calls per-account hooks on the plugin that registered it;
    * ``label`` — the name people see on the integrations, connect and admin pages;
    * ``capabilities`` — which engines run for its accounts and which hooks they call:
      ``CALENDAR_READ`` (calendar list and sync), ``CALENDAR_WRITE`` (pushing meetings; needs
      ``CALENDAR_READ``, ``CALENDAR`` declares both), ``FREE_BUSY`` (booking re-checks),
      ``MAIL`` (mail sync; such accounts count against a company's mailbox cap), ``SEND``,
      ``PUSH`` (push channels), ``VIDEO`` (video links on pushed meetings). Without
      ``CALENDAR_WRITE`` every calendar is treated as ``reader``. The conformance suite tests
      exactly the declared capabilities;
    * ``connect_kind`` — ``"oauth"``: the connect button goes through
      :func:`hub_authorization_url` and the OAuth callback; ``"form"``: the hub shows
      ``connect_form`` and passes its fields to :func:`hub_connect`;
    * ``config_schema`` — the settings an administrator enters on the admin page (OAuth client id,
      base URLs); ``ConfigField(secret=True)`` values are masked there and stored encrypted. They
      reach the hooks as ``context.config``;
    * ``connect_form`` — the fields of a form connect (``ConnectField``);
    * ``description`` — a sentence shown under the label on the connect and admin pages.

    :param register: call it with each :class:`~hub.types.ProviderInfo` this plugin offers.
    :return: nothing (the return value is ignored).
    :raises ConfigError: raised by ``register`` itself (failing start-up) when the same provider name
        is registered twice or something other than a ``ProviderInfo`` is registered;
        ``ProviderInfo`` raises ``ValueError`` for an unknown capability.
    """


# -------------------------------------------------------------------------------------------------
# Connecting
# -------------------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def hub_authorization_url(context: ProviderContext, start: OAuthStart) -> str | None:
    """Build the provider's OAuth authorization URL, where the user's browser is sent to consent.

    **Caller:** the web connect flow, when a user clicks "Connect" for a provider with
    ``connect_kind="oauth"`` — on ``context.name``'s plugin only. The core has already made
    ``start.state`` and the PKCE pair (:func:`hub.oauth.start`) and remembers them in the user's
    session; the URL must carry ``state``, ``code_challenge`` with ``code_challenge_method=S256``,
    ``redirect_uri``, offline access (a refresh token) and the fewest scopes that work, and
    ``login_hint`` when given. :meth:`hub.oauth.OAuthClient.authorization_url` does all this.
    Form providers do not implement it (their ``None`` answer means "no authorization URL").

    **Retries:** every click calls it again with a fresh ``start``; build the URL from the arguments
    only, without calling the provider.

    **Threads:** a web request thread of any web process.

    **Limits:** the URL goes to the browser as it is: it may hold the public client id, never the
    client secret or ``start.code_verifier``.

    :param context: the provider's admin configuration (``config``: client id …) and the hub's
        ``base_url``.
    :param start: the core's half of the authorization: ``redirect_uri``, ``state``,
        ``code_challenge``, ``login_hint``.
    :return: the URL; the browser is redirected there, and the provider redirects back to
        ``start.redirect_uri`` with ``code`` and ``state``, which lead to :func:`hub_connect`.
    :raises ConfigError: the administrator has not entered the OAuth client credentials; the page
        shows the message.
    """


@hookspec(firstresult=True)
def hub_connect(context: ProviderContext, params: dict[str, Any]) -> ConnectResult | None:
    """Check credentials for real and return what the hub stores for the new (or reconnected) account.

    **Caller:** the web connect flow (and the API), on ``context.name``'s plugin only: for OAuth
    providers from the callback, with ``params`` holding ``code``, ``code_verifier`` and
    ``redirect_uri``; for form providers with the form's fields. Verify the credentials for real —
    exchange the code, log in over IMAP, authenticate over SMTP, discover the CalDAV home. The core
    then stores the account, encrypts the credentials, enqueues the initial sync (unless the account
    waits as Pending for a free mailbox slot) and broadcasts :func:`hub_account_connected`.

    **Retries:** not retried by the hub; a person may submit again. An OAuth ``code`` works only
    once, so a repeated callback fails with ``AuthenticationFailed`` and the person starts over.

    **Threads:** a web request thread of any web process: answer within a request's time (the
    timeouts of ``hub.http`` and ``hub.ssrf_guard`` see to that).

    **Limits:** ``credentials`` and ``settings`` must be JSON-serialisable dicts;
    ``email`` is at most 320 characters.

    What each field of :class:`~hub.types.ConnectResult` makes the hub do:

    * ``email`` — identifies the account: connecting again to the same provider with the same
      address (compared case-insensitively) reconnects the existing account — clearing its error and
      restoring what a disconnect deactivated — instead of adding a second one. It is shown on the
      integrations page and handed back as ``account.email``. Empty is refused with a
      ``ValidationError``;
    * ``credentials`` — stored encrypted at rest, replacing earlier ones, and handed back decrypted
      as ``account.credentials`` on every later call; never shown or logged;
    * ``display_name`` — shown next to the address; empty keeps the one stored before;
    * ``settings`` — merged into the account's stored settings (the keys returned win, others stay)
      and handed back as ``account.settings`` (discovered URLs, server names).

    :param context: the provider's admin configuration, the hub's ``base_url`` and whether private
        hosts are allowed (``allow_private_hosts``; ``hub.ssrf_guard`` refuses them otherwise).
    :param params: the OAuth callback's values or the connect form's fields, as entered.
    :return: the account to store.
    :raises AuthenticationFailed: wrong credentials, with a fix hint (e.g. "create an app
        password"); shown on the form.
    :raises ConnectFailed: the host cannot be reached; ``HostNotAllowed`` for a refused address.
    :raises NotSupported: the account cannot be served (e.g. an on-premises Exchange mailbox).
    """


@hookspec(firstresult=True)
def hub_disconnect(account: AccountHandle) -> bool | None:
    """Revoke the account's tokens at the provider and release what it holds there.

    **Caller:** the disconnect flow (user or administrator) after the person confirmed, on the
    account's own provider only, after :func:`hub_unwatch` for each of its push channels. The core
    then marks the account Disconnected and deletes its stored credentials, whatever the answer.

    **Retries:** not retried; it may still be called for an account whose grant is already gone
    (revoked at the provider, a password changed): that counts as done.

    **Threads:** a web request thread of any web process.

    **Limits:** must not block a disconnect: a provider that cannot be reached is no reason to fail —
    swallow network errors and return ``True``. The core logs and ignores whatever still escapes.

    :param account: the account being disconnected, with its credentials.
    :return: ``True`` when done — also when nothing was left to release (password accounts).
    :raises: nothing — errors are swallowed here.
    """


# -------------------------------------------------------------------------------------------------
# Calendars
# -------------------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def hub_list_calendars(account: AccountHandle) -> list[RemoteCalendar] | None:
    """List the account's calendars that hold events (not task lists), with the user's access role.

    **Caller:** the account sync job, on the account's own provider only when it declares
    ``CALENDAR_READ`` — after connecting and on every poll (``HUB_POLL_SECONDS``). The hub then
    upserts its calendar rows by ``remote_id`` (keeping the user's choices) and enqueues a sync of
    each synced calendar.

    **Retries:** reading only; the job may call it again at any time. On an error nothing in the
    hub's calendar list changes.

    **Threads:** an RQ worker process.

    **Limits:** return the *whole* list in one answer — a calendar missing from it is removed from
    the hub with its events and busy time, so raise rather than answer a partial list. ``remote_id``
    at most 1,024 characters, unique within the account and stable over time.

    What each field of :class:`~hub.types.RemoteCalendar` makes the hub do:

    * ``remote_id`` — the key; it comes back as ``calendar_id`` in the other calendar hooks;
    * ``name`` — shown on the calendars page (``remote_id`` when empty);
    * ``access_role`` — ``owner`` / ``writer``: the calendar can be the user's default calendar,
      where CRM meetings and bookings are pushed, and meetings found on it are imported by default;
      ``reader``: it can be a conflict calendar (it then syncs and blocks booking slots) but never
      the default, and it syncs only once the user chooses it ("Use more calendars");
      ``freeBusyReader``: like ``reader``, but its busy time is read through :func:`hub_free_busy`
      instead of :func:`hub_fetch_events`. A provider without ``CALENDAR_WRITE`` gets ``owner`` and
      ``writer`` turned into ``reader``; a default calendar whose role dropped stops being the
      default;
    * ``is_primary`` — while a user has no default calendar, the primary calendar of the account
      being refreshed becomes it (when writable), and is made a synced conflict calendar; at most
      one per account;
    * ``timezone`` — stored with the calendar and shown;
    * ``color`` — not used by the hub yet.

    :param account: the account whose calendars to list.
    :return: every calendar of the account.
    :raises AuthExpired: the grant no longer works; the account goes to Error and the user is asked
        to reconnect.
    :raises RateLimited, ProviderUnavailable: the job runs again later (see the retry rules above).
    """


@hookspec(firstresult=True)
def hub_fetch_events(
    account: AccountHandle, calendar_id: str, cursor: Cursor | None, window: Window
) -> EventPage | None:
    """Fetch one page of changes on one calendar.

    **Caller:** the calendar sync job of each synced calendar (after the account sync, a push
    notification, a ``WrongEtag`` conflict; ``hub sync`` in the foreground), on the
    account's own provider only, repeatedly until a page has ``done=True``. With ``cursor=None``
    this is a full sync: return every event overlapping ``window`` (recurring masters with their
    exceptions). A full sync is a mark-and-sweep — after its last page the hub removes the events of
    that calendar it did not see — so a full sync must never leave an event out. With a cursor
    return only what changed since that cursor was handed out. Deletions, and events that left the
    window, come back in ``EventPage.deleted`` by remote id; a cancelled occurrence of a live series
    comes back as an event with ``status="cancelled"``, ``recurring_event_id`` and
    ``original_start``.

    **Retries:** the hub stores each page and its ``next_cursor`` in one transaction, so a job that
    died resumes with the last stored cursor and may ask for the same page again: answering the same
    changes twice is harmless, skipping one is not. After ``CursorExpired`` the hub drops the cursor
    and starts a full sync (at most twice per job).

    **Threads:** an RQ worker process (or the ``hub sync`` command); two calendars of one account may
    be fetched at the same time by two workers.

    **Limits:** the cursor is an opaque string stored as text (no length limit, but it is written
    with every page, so keep it small) and must be set on *every* page — on a page that is not
    done it resumes this run, on the last page it is the cursor for the next incremental sync. Each
    page is applied in one database transaction: keep pages to a few hundred events. A calendar
    that never says ``done`` fails after 10,000 pages. Ids at most 1,024 characters.

    What each field of the :class:`~hub.types.EventPage` makes the hub do:

    * ``events`` — upserted by ``remote_id``. An event whose CRM-relevant content (title,
      description, location, times, recurrence, status, transparency, attendees) is unchanged only
      refreshes its ``etag``; a changed one gets its busy time recomputed and goes through the
      meeting import rules. ``hub_marker`` (the ``client_id`` the hub pushed it with) marks the
      hub's own events, so they are recognised and never echo back as outside changes; ``transparent`` events
      block no time; ``status="cancelled"`` without ``recurring_event_id`` is a deletion;
      ``recurrence`` lines are expanded by the hub inside the window; all-day events use ``date``
      values with an exclusive end;
    * ``deleted`` — remote ids removed from the hub with their busy time (a deleted event of a CRM
      meeting cancels the meeting when the calendar propagates deletions);
    * ``next_cursor`` — stored with the page (see the limits);
    * ``done`` — ``True`` ends the run (the full sync's sweep runs then);
    * ``unreadable`` — ``(remote id, reason)`` of items that could not be read: skipped, the page
      goes on, and the first 20 per page are written to the account's error log.

    Times are aware datetimes (dates for all-day events), except *floating* times (iCalendar without a
    zone): they stay naive and the hub reads them in the calendar's zone (``RemoteCalendar.timezone``, an
    IANA or Windows name, else the owner's). A zone with neither name (Outlook's "Customized Time Zone")
    comes with its VTIMEZONE text in ``RemoteEvent.vtimezone``, so the hub repeats the series by the
    zone's own rules.

    :param account: the account.
    :param calendar_id: a ``RemoteCalendar.remote_id`` from :func:`hub_list_calendars`.
    :param cursor: ``None`` for a full sync, else a ``next_cursor`` this provider returned before.
    :param window: the part of time the hub keeps (from the day the account was connected to
        ``HUB_SYNC_WINDOW_DAYS`` ahead); its end moves on every day.
    :return: one page of changes.
    :raises CursorExpired: the cursor is too old (Google 410, CalDAV sync-token refused); the hub
        drops it and full-syncs the calendar.
    :raises AuthExpired, RateLimited, ProviderUnavailable: as for every hook; a non-transient error
        also marks the calendar unreadable, so booking fails closed until it reads again.
    """


@hookspec(firstresult=True)
def hub_push_events(
    account: AccountHandle, calendar_id: str, changes: list[EventChange]
) -> list[PushResult] | None:
    """Apply the hub's changes to one calendar, returning one result per change, in order.

    **Caller:** the push job, on the account's own provider only when it declares
    ``CALENDAR_WRITE``, with pending entries of the outbox (written in the same transaction as the
    CRM's change of a meeting or booking), newest version per meeting only, in batches. Each change
    says ``op`` ``"create"`` (with ``event``), ``"update"`` (``event``, ``remote_id``, ``etag``) or
    ``"delete"`` (``remote_id``, ``etag``). Mark created events with ``change.client_id`` so they come
    back from :func:`hub_fetch_events` with ``RemoteEvent.hub_marker`` set and never echo as
    outside changes. With ``want_video`` add the provider's video link (Meet, Teams) and return it;
    ``send_invites=False`` creates the event without mailing the attendees.

    **Retries:** the job runs again after a crash or a transient error, with the changes whose
    results it had not stored yet. A create must be idempotent on ``change.client_id`` (the
    provider's idempotency key: Google event id, Graph ``transactionId``, CalDAV resource name) —
    a retried create returns the event it made the first time, never a second one. Updates and
    deletes carry the last known ``etag`` and fail with ``WrongEtag`` when it no longer matches.

    **Threads:** an RQ worker process.

    **Limits:** at most 50 changes per call. The answer must hold exactly one result per change:
    any other count fails the whole batch with ``ProviderError``.

    What each field of a :class:`~hub.types.PushResult` makes the hub do:

    * ``client_id`` — echoes the change's;
    * ``remote_id`` — stored as the meeting's event on that calendar, used for later updates and
      deletes;
    * ``etag`` — stored and sent with the next update or delete of that event;
    * ``ical_uid`` — stored with the event (empty keeps the UID the hub sent);
    * ``video_url`` — becomes the meeting's video link;
    * ``error`` — the change failed, the others still count: ``WrongEtag`` makes the hub pull the
      calendar, merge field by field and push once more; ``NotFound`` (and ``AlreadyExists`` on a
      create) means the event is gone from the calendar and the deletion rules decide (a delete
      answered ``NotFound`` is done); any other error keeps the entry pending and retries it with
      backoff (30 s up to an hour), showing the error.

    :param account: the account.
    :param calendar_id: a writable calendar (``owner`` or ``writer``) of the account.
    :param changes: the changes, in the order to apply them.
    :return: one :class:`~hub.types.PushResult` per change, in the same order.
    :raises AuthExpired, RateLimited, ProviderUnavailable: for the whole batch, which stays pending
        and is retried by the job.
    """


@hookspec(firstresult=True)
def hub_free_busy(
    account: AccountHandle, calendar_ids: list[str], start: datetime, end: datetime
) -> FreeBusy | None:
    """Busy intervals of the given calendars between ``start`` and ``end``.

    **Caller:** the booking flow, on the account's own provider only when it declares
    ``FREE_BUSY``, to re-check a slot on every conflict calendar at the provider before confirming a
    booking; and the calendar sync job for calendars shared with ``freeBusyReader`` access only
    (the whole window). Use the provider's own free/busy query where it has one. Transparent
    ("free", "working elsewhere") events never appear; recurring events are expanded.

    **Retries:** reading only; a booking that failed is tried again by the person.

    **Threads:** a web request thread (booking — a person waits: answer fast) or an RQ worker.

    **Limits:** ``start``..``end`` is an hour-long slot for a booking, up to the whole sync window
    for a free/busy-only calendar.

    What each field of :class:`~hub.types.FreeBusy` makes the hub do:

    * ``busy`` — calendar id → intervals: a booking overlapping any of them is refused as taken; for
      a free/busy-only calendar they replace its stored busy time;
    * ``errors`` — calendar id → reason for a calendar that could not be read: the hub fails
      closed — the booking is refused ("could not be confirmed"), a free/busy-only calendar is marked
      unreadable.

    :param account: the account.
    :param calendar_ids: remote ids of the calendars to check.
    :param start: start of the range (timezone-aware).
    :param end: end of the range (exclusive).
    :return: the busy intervals per calendar, and the calendars that could not be read.
    :raises AuthExpired, RateLimited, ProviderUnavailable: the booking fails closed ("try again in a
        moment").
    """


# -------------------------------------------------------------------------------------------------
# Mail
# -------------------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def hub_sync_mail(
    account: AccountHandle, folder: str, cursor: Cursor | None, limit: int, since: datetime
) -> MailPage | None:
    """Fetch one page (at most ``limit`` messages) of mail in ``folder`` (``"inbox"`` or ``"sent"``).

    **Caller:** the mail sync job of each folder, on the account's own provider only when it
    declares ``MAIL`` — after connecting, on every poll and when a notification or IMAP IDLE asks —
    until a page has ``done=True``. With ``cursor=None`` the initial sync starts at ``since``; with a
    cursor return only mail that arrived, and ids that vanished, since then. Messages carry headers,
    text and HTML bodies and attachment metadata, never attachment bytes. A message that cannot be
    parsed fully comes back with ``parse_error`` set and whatever could be read — one bad message
    never fails the page.

    **Retries:** each page and its cursor are stored in one transaction, idempotently on (account,
    folder, ``remote_id``), so a job that died resumes from the last stored cursor and may ask for
    the same page again. When the daily mail cap cuts a page short, the hub keeps the old cursor and
    asks for the same page again the next day. After ``CursorExpired`` the hub starts over without a
    cursor once; the full resync adds only what is missing.

    **Threads:** an RQ worker process; on PostgreSQL the hub asks for the next page in a helper
    thread while it stores the current one, so two calls for the same account may run at once.

    **Limits:** never more than ``limit`` messages per page (at most 250, less when the user's
    daily cap is nearly used). The cursor is stored as text and cut at 1,000,000 characters — keep
    it far shorter. What the hub stores is cut to size: bodies at 1,000,000 characters, subjects at
    10,000, ``remote_id`` at 1,024, Message-IDs at 998; every address is matched, but only the first
    500 recipients are stored as participants (with the full count and a note on the message).

    What each field of :class:`~hub.types.MailPage` makes the hub do:

    * ``messages`` — stored per folder by ``remote_id``; one logical message per Message-ID across
      the user's accounts (so the copy of a mail sent from the CRM is not logged twice); threads by
      ``thread_id`` or References; logged on the timeline of the CRM contacts it matches;
      ``parse_error`` is kept with the message;
    * ``deleted`` — remote ids removed from the folder and from timelines;
    * ``next_cursor`` — stored with the page; must be set on every page;
    * ``done`` — ends the run; the end of an initial sync also removes stored mail of the window it
      did not see again (deleted meanwhile, or re-keyed by a new IMAP UIDVALIDITY);
    * ``total_estimate`` — the progress shown during the initial sync ("3,200 of 10,000").

    :param account: the account.
    :param folder: ``"inbox"`` or ``"sent"``.
    :param cursor: ``None`` for the initial sync, else a ``next_cursor`` this provider returned.
    :param limit: the most messages this page may hold.
    :param since: where the initial sync starts (``HUB_MAIL_INITIAL_DAYS`` before it began; the same
        on every resumed call).
    :return: one page of mail.
    :raises CursorExpired: e.g. IMAP UIDVALIDITY changed, Gmail history too old: a full resync.
    :raises AuthExpired, RateLimited, ProviderUnavailable: as for every hook.
    """


@hookspec(firstresult=True)
def hub_mail_partitions(account: AccountHandle, folder: str, since: datetime, parts: int) -> MailPartitions | None:
    """Cut the initial sync of a large ``folder`` (from ``since``) into at most ``parts`` disjoint parts.

    **Caller:** the mail sync job of a folder, on the account's own provider only, once before an
    initial sync that no daily mail cap limits. ``None`` — the folder is small, or the provider cannot
    page by partition — means one job pages through the folder with ``hub_sync_mail`` as usual.

    **Retries:** asked again only when the folder's initial sync starts over (a full resync, an
    expired cursor); a lost part job is enqueued again and resumes from its last stored cursor.

    **Threads:** an RQ worker process; the parts then run as separate jobs, in parallel on several
    workers, each calling ``hub_sync_mail`` with its own cursor.

    **Limits:** at most ``parts`` parts (4); each cursor is stored as text and cut at 1,000,000
    characters.

    What each field of :class:`~hub.types.MailPartitions` makes the hub do:

    * ``parts`` — one job per cursor, paged through ``hub_sync_mail`` until ``done=True``; each must
      deliver only its own messages, and together exactly the initial sync;
    * ``after`` — becomes the folder's cursor once every part is stored; the next sync continues from
      it incrementally (mail that arrived while the parts ran);
    * ``total`` — the progress shown during the initial sync ("3,200 of 10,000").

    :param account: the account.
    :param folder: ``"inbox"`` or ``"sent"``.
    :param since: where the initial sync starts, as for ``hub_sync_mail``.
    :param parts: the most parts the hub will run.
    :return: the parts, or ``None`` for one ordinary initial sync.
    :raises CursorExpired, AuthExpired, RateLimited, ProviderUnavailable: as for ``hub_sync_mail``.
    """


@hookspec(firstresult=True)
def hub_mail_folders(account: AccountHandle) -> list[str] | None:
    """The names of the account's mail folders that can hold mail.

    **Caller:** the Mail sync page, on the account's own provider only, when the user picks which
    folder the hub syncs as ``"sent"`` — for servers that do not mark their Sent folder. The choice is
    stored as the account's ``settings["sent_folder"]``, which the provider then uses for ``"sent"``.
    ``None``: the provider finds its Sent folder itself (Gmail, Microsoft 365), and the page says so.

    **Retries:** none; an error is shown to the user.

    **Threads:** a web request thread of any web process.

    **Limits:** the page lists every name returned; keep to mailboxes that can hold mail.

    :param account: the account.
    :return: folder names as the provider spells them, or ``None``.
    :raises AuthExpired, ProviderUnavailable: as for every hook.
    """


@hookspec(firstresult=True)
def hub_send_mail(account: AccountHandle, message: OutgoingMessage) -> SentMessage | None:
    """Send ``message`` through the user's own mailbox (Gmail API, Graph ``sendMail``, SMTP).

    **Caller:** :func:`hub.sending.send_mail` when the CRM sends mail from a user's account, on the
    account's own provider only when it declares ``SEND``. The hub has already given the message a
    Message-ID. The sent copy belongs in the mailbox's sent folder; replies keep their thread
    (``thread_id``, ``In-Reply-To``, ``References``).

    **Retries:** never retried by the hub, so a message is never sent twice: an error goes back to
    the sender.

    **Threads:** a web request thread of any web process.

    **Limits:** the sizes the provider allows; the hub logs the message with the same limits as
    synced mail.

    What each field of :class:`~hub.types.SentMessage` makes the hub do: ``remote_id`` and
    ``message_id`` key the copy the hub logs at once in the sent folder, so the sent folder's next
    sync recognises it instead of logging it again (the hub's own Message-ID is used when
    ``message_id`` is empty); ``thread_id`` files it in its thread.

    :param account: the account to send from.
    :param message: the message, with ``message_id`` set.
    :return: the provider's ids of the sent message.
    :raises AuthExpired: the account goes to Error, the sender sees it.
    :raises RateLimited, ProviderUnavailable, ConnectFailed: noted in the account's error log and
        shown to the sender.
    """


# -------------------------------------------------------------------------------------------------
# Push notifications
# -------------------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def hub_watch(
    account: AccountHandle, kind: str, key: str, address: str, renew: PushChannel | None
) -> PushChannel | None:
    """Create (or renew) a push channel for a calendar (``kind="calendar"``) or mail folder (``"mail"``).

    **Caller:** the channel renewal job, on the account's own provider only when it declares
    ``PUSH`` — after connecting, hourly for channels within 12 hours of ``expires_at`` (with
    ``renew`` set), and at once when a notification says a channel is gone. Polling stays on as the
    fallback, so a channel that cannot be made only costs latency.

    **Retries:** the job may run again after a crash, so a second create for the same ``key`` must
    not leave two live channels behind forever (the hub stops the one it replaces through
    :func:`hub_unwatch`, and unknown channels expire at the provider).

    **Threads:** an RQ worker process.

    **Limits:** ``channel_id`` at most 255 characters, ``resource_id`` at most 1,024.

    What each field of :class:`~hub.types.PushChannel` makes the hub do: it is stored (``token``
    encrypted) and handed back to :func:`hub_handle_webhook` and :func:`hub_unwatch`;
    ``expires_at`` schedules the renewal; a renewed channel with a new ``channel_id`` makes the hub
    stop the old one; ``token`` is the secret the provider echoes on every notification;
    ``calendar_id`` / ``folder`` say what it watches.

    :param account: the account.
    :param kind: ``"calendar"`` or ``"mail"``.
    :param key: the calendar's remote id, or the mail folder.
    :param address: the hub's webhook URL for this account (``/webhooks/<provider>/<account id>``).
    :param renew: the channel to renew, or ``None`` for a new one.
    :return: the channel; ``None`` when the provider has no push for ``kind`` (polling is then the
        only path).
    :raises AuthExpired, RateLimited, ProviderUnavailable: written to the account's error log; the
        next renewal run tries again.
    """


@hookspec(firstresult=True)
def hub_unwatch(account: AccountHandle, channel: PushChannel) -> bool | None:
    """Stop a push channel (Google ``channels.stop``, Graph subscription ``DELETE``).

    **Caller:** the disconnect flow, for each of the account's channels, and the renewal job when a
    channel was replaced — on the account's own provider only.

    **Retries:** stopping a channel that is already gone counts as stopped: answer ``True``.

    **Threads:** a web request thread or an RQ worker.

    **Limits:** none beyond a provider call; a channel that cannot be stopped expires on its own.

    :param account: the account.
    :param channel: a channel :func:`hub_watch` returned.
    :return: ``True`` once stopped.
    :raises: nothing — errors are swallowed (the core also logs and ignores what escapes).
    """


@hookspec(firstresult=True)
def hub_handle_webhook(
    account: AccountHandle, request: WebhookRequest, channels: list[PushChannel]
) -> WebhookResult | None:
    """Verify and interpret a push notification addressed to ``account``.

    **Caller:** the web route ``/webhooks/<provider>/<account id>``, on the account's own provider
    only, with the account's live ``channels``. Check the channel token (Graph ``clientState``)
    against them before anything else; answer handshakes (Graph ``validationToken``, Google's
    ``sync`` message) in the result's body; list the syncs the notification implies.

    **Retries:** providers resend notifications they think were lost, so the same one may arrive
    twice; the syncs it asks for are de-duplicated by the hub.

    **Threads:** a web request thread of any web process. Must be fast: no provider calls here.

    **Limits:** the request body is read whole (providers send small notifications).

    What each field of :class:`~hub.types.WebhookResult` makes the hub do: ``status``, ``body`` and
    ``content_type`` are the HTTP answer to the provider; every :class:`~hub.types.SyncTarget` in
    ``syncs`` enqueues a sync — ``kind="calendar"`` of the calendar ``key`` (every synced calendar
    when ``None``), ``"mail"`` of the folder ``key``, ``"channels"`` a renewal of the channels;
    ``full=True`` drops the cursor first (Graph's ``missed`` lifecycle event).

    :param account: the account the URL names.
    :param request: the HTTP request as received (method, path, headers, query args, body).
    :param channels: the account's live channels, as :func:`hub_watch` returned them.
    :return: the answer to the provider and the syncs to run.
    :raises WebhookRejected: the token did not match; the hub logs it to the account's error log
        (its status stays) and answers 403.
    """


@hookspec
def hub_push_listeners(
    accounts: Callable[[str], list[AccountHandle]], on_change: Callable[[int, str, str], None]
) -> list[PushListener] | None:
    """Long-running listeners for providers that push over a held connection (IMAP IDLE).

    **Caller:** ``hub idle`` (which ``hub serve`` starts), once at its start; every plugin's
    implementation is called and the listeners of all are run. ``accounts(provider)`` returns the
    handles of that provider's accounts that may sync mail right now (call it again to follow
    connects and disconnects); ``on_change(account_id, kind, key)`` asks the hub for a sync
    (``kind`` ``"mail"`` or ``"calendar"``, ``key`` the folder or calendar id), de-duplicated with
    syncs already queued. The hub calls each listener's ``start()`` and, on exit, ``stop()``.

    **Retries:** polling stays on as the fallback, so a listener that dies costs latency, never
    data; it should reconnect by itself after network errors.

    **Threads:** ``start()`` runs the listener in its own threads; ``on_change`` may be called from
    any of them.

    **Limits:** one held connection per watched folder — keep an eye on the provider's connection
    limits.

    :param accounts: ``accounts(provider)`` → handles of the accounts to watch.
    :param on_change: ``on_change(account_id, kind, key)`` → a sync is enqueued.
    :return: listeners not yet started (objects with ``start()`` and ``stop()``), or ``None`` when
        the plugin has none.
    :raises: nothing — an error here would stop ``hub idle`` from starting.
    """


# -------------------------------------------------------------------------------------------------
# The demo (optional)
# -------------------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def hub_demo_sandbox(context: ProviderContext, people: dict[str, str]) -> DemoSandbox | None:
    """Start a local stand-in of the provider's service for ``hub demo``.

    **Caller:** ``hub demo``, once per enabled provider, before it seeds the demo company; a
    provider without a stand-in leaves the hook out (its part of the demo is skipped, or covered by
    the demo's own IMAP, SMTP and CalDAV servers). A plugin that ships a sandbox implements it so
    the demo needs no provider names and no test code.

    **Retries:** none; a stand-in that raises is skipped with a note in the demo's welcome text.

    **Threads:** the demo's main thread; the stand-in runs on threads of its own until ``stop``.

    **Limits:** the person waits for the demo to start: seed a few weeks of data, not years. The
    stand-in listens on loopback only and keeps its data in memory.

    What each field of :class:`~hub.types.DemoSandbox` makes the demo do:

    * ``config`` — stored as the provider's admin configuration, so the provider talks to the
      stand-in (its URLs, an OAuth client registered there);
    * ``consent_form`` — for the demo users connected at start, the demo opens the provider's
      authorization URL and posts these fields to the consent page as the person's browser would,
      then finishes the connect with the code it is redirected to;
    * ``stop`` — called once, when the demo ends.

    :param context: the provider's context; ``base_url`` is the demo's web address (plain http on
        loopback, so a stand-in that sends push notifications must allow that).
    :param people: the demo users, address → display name; give each a mailbox and calendars with
        a few weeks of demo data, written with the customers' addresses the demo seeds.
    :return: the running stand-in with the configuration that points the provider at it; ``None``
        when the provider has none.
    :raises: anything — the demo logs it and runs without this provider.
    """


# -------------------------------------------------------------------------------------------------
# Notifications (broadcast: every implementation is called, results are ignored)
# -------------------------------------------------------------------------------------------------


@hookspec
def hub_account_connected(account_id: int, provider: str) -> None:
    """An account was connected or reconnected.

    **Caller:** the connect flow, after the account is stored and its initial sync enqueued; every
    plugin's implementation is called (to start a listener, to warm a cache, to tell another system).

    **Retries:** sent once per connect; not repeated.

    **Threads:** a web request thread of any web process.

    **Limits:** the person's connect waits for it: do little, and enqueue slow work instead.

    :param account_id: the account's id.
    :param provider: the account's provider name.
    :return: nothing (ignored).
    :raises: nothing — an observer that raises is logged and skipped; the connect stands.
    """


@hookspec
def hub_sync_finished(account_id: int, kind: str, key: str, stats: dict[str, int]) -> None:
    """A calendar or mail folder finished syncing.

    **Caller:** the calendar and mail sync engines after the last page is stored, for every run
    that ended (also one that found nothing new); every plugin's implementation is called.

    **Retries:** a job that runs again sends it again: count it as "at least once".

    **Threads:** the RQ worker process that ran the sync.

    **Limits:** the sync job waits for it: do little.

    :param account_id: the account's id.
    :param kind: ``"calendar"`` or ``"mail"``.
    :param key: the calendar's remote id, or the mail folder.
    :param stats: counts of what changed (``"changed"``, ``"deleted"``, ``"stored"`` …).
    :return: nothing (ignored).
    :raises: nothing — an observer that raises is logged and skipped; the committed sync stands.
    """
