"""The calendar hooks: listing calendars, reading and writing events, free/busy."""

from __future__ import annotations

from datetime import datetime

from hub.hookspecs.markers import hookspec
from hub.types import AccountHandle, Cursor, EventChange, EventPage, FreeBusy, PushResult, RemoteCalendar, Window

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
    be fetched at the same time by two workers. While the hub stores a page that is not ``done``, it
    already asks for the next one from another thread of the same process (the network and the
    database overlap); calls for one calendar never run at the same time, and none outlives the sync.

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
    zone's own rules. An event written with a DURATION of hours, minutes or seconds (an exact length,
    RFC 5545 §3.3.6) carries it in ``RemoteEvent.duration_seconds``: the hub then ends it that long
    after its start, which for a floating start may differ from the wall-clock ``end`` by a DST change;
    durations in days or weeks are nominal and stay in ``end`` alone.

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
    a retried create returns the event it made the first time, never a second one. That event may
    hold an older version of the meeting (the CRM edited it between the attempts): return it as it
    is — the hub knows when that can happen and follows with an update. Updates and
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
