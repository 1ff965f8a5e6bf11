"""An account's calendar list and the user's choices about it.

Public API:

* :func:`refresh_calendars` — read the provider's calendar list (``hub_list_calendars``) and upsert
  :class:`~hub.models.Calendar` rows, keeping the user's choices;
* :func:`set_default_calendar`, :func:`set_conflict`, :func:`set_preferences` — what the calendar
  settings page and the API change, with the rules below enforced;
* :func:`default_calendar`, :func:`usable` — lookups the engines share;
* :func:`calendar_zone` — the zone a calendar's dates and floating times are read in, and where it came from.

Rules (docs/product-rules.md#calendars):

* one **default (linked) calendar** per user, on any connected account; CRM meetings and bookings are
  pushed there. The first connected calendar account's primary calendar becomes the default — when
  the user can write to it (owner/writer) — and is also a conflict calendar and synced. When the
  default's account is disconnected, the next account refreshed provides a new one.
* **conflict calendars** block availability; any readable calendar may be one, including
  ``reader`` and ``freeBusyReader`` calendars (which can never be the default). A conflict calendar is
  always synced, since its busy time comes from the sync.
* calendars that disappeared at the provider are removed with their events and busy time.
* a calendar's **zone** (for all-day events and times without a zone, RFC 5545 §3.3.4/§3.3.5) is the
  calendar's own (CalDAV ``calendar-timezone``, Google ``timeZone``, Graph mailbox settings), else the
  owner's from their profile; when neither is known the calendars page and the error log say so and
  UTC is used.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hub import work
from hub.account_status import log_error
from hub.core import Hub
from hub.exceptions import ValidationError, ZoneUnknown
from hub.models import Account, AccountStatus, Calendar, SyncDirection, User
from hub.timezones import iana_name
from hub.types import CALENDAR_WRITE, RemoteCalendar

WRITABLE = ("owner", "writer")
#: a user's zone until they choose one: it says nothing about where they are
_UNSET_USER_ZONE = "UTC"
#: account states whose calendars can be pushed to and read
USABLE = (AccountStatus.ENABLED, AccountStatus.ERROR)


def refresh_calendars(hub: Hub, account_id: int) -> None:
    """Refresh ``account_id``'s calendar list from the provider and apply the default-calendar rule.

    :raises AuthExpired, RateLimited, ProviderUnavailable: from the provider; nothing is changed then.
    """
    remote: list[RemoteCalendar] = hub.plugins.call("hub_list_calendars", account=hub.account_handle(account_id))
    new_sync: list[int] = []
    with hub.db.session(write_lock=True) as s:
        account = s.get(Account, account_id)
        writes = hub.plugins.provider(account.provider).can(CALENDAR_WRITE)
        rows = {c.remote_id: c for c in s.scalars(sa.select(Calendar).where(Calendar.account_id == account_id))}
        for info in remote:
            if not writes and info.access_role in WRITABLE:  # a read-only provider: nothing can be pushed
                info = replace(info, access_role="reader")
            row = rows.pop(info.remote_id, None)
            if row is None:
                row = Calendar(account_id=account_id, remote_id=info.remote_id, is_default=False, is_conflict=False,
                               sync_enabled=False, sync_direction=SyncDirection.TWO_WAY, propagate_deletions=True,
                               # imports only from calendars the user writes to; others are opted in
                               import_meetings=info.access_role in WRITABLE)
                s.add(row)
            row.name = info.name or info.remote_id
            row.access_role = info.access_role
            row.is_primary = bool(info.is_primary)
            zone_changed = row.id is None or row.timezone != info.timezone
            row.timezone = info.timezone
            if zone_changed and calendar_zone(row, s.get(User, account.user_id)).source == "none":
                log_error(s, account, ZoneUnknown(
                    f"The calendar “{row.name}” has no time zone, and neither has its owner: its all-day and "
                    "floating events are read in UTC."), "calendar")
            if row.is_default and info.access_role not in WRITABLE:  # access was downgraded at the provider
                row.is_default = False
        for gone in rows.values():
            s.delete(gone)
        s.flush()
        if default_calendar(s, account.user_id) is None:
            chosen = _pick_default(s, account)
            if chosen is not None:
                _make_default(s, account.user_id, chosen)
                new_sync.append(chosen.id)


def _pick_default(s: Session, account: Account) -> Calendar | None:
    candidates = s.scalars(sa.select(Calendar).where(
        Calendar.account_id == account.id, Calendar.access_role.in_(WRITABLE)).order_by(
        Calendar.is_primary.desc(), Calendar.id)).all()
    return candidates[0] if candidates and candidates[0].is_primary else None


def _make_default(s: Session, user_id: int, calendar: Calendar) -> None:
    for other in s.scalars(sa.select(Calendar).join(Account).where(
            Account.user_id == user_id, Calendar.is_default.is_(True), Calendar.id != calendar.id)):
        other.is_default = False
    calendar.is_default = True
    calendar.is_conflict = True
    calendar.sync_enabled = True


@dataclass(frozen=True)
class CalendarZone:
    """The zone a calendar's dates and floating times are read in (an IANA name) and its source."""

    name: str
    source: Literal["calendar", "owner", "none"]

    @property
    def label(self) -> str:
        """How the calendars page shows it."""
        return {"calendar": f"{self.name} (the calendar's own)", "owner": f"{self.name} (from your profile)",
                "none": "UTC — no time zone known"}[self.source]


def calendar_zone(calendar: Calendar, owner: User | None) -> CalendarZone:
    """The calendar's own zone (IANA or Windows name), else the owner's, else UTC marked as unknown."""
    own = iana_name(calendar.timezone)
    if own:
        return CalendarZone(own, "calendar")
    users = iana_name(owner.timezone) if owner is not None else None
    if users and users != _UNSET_USER_ZONE:
        return CalendarZone(users, "owner")
    return CalendarZone("UTC", "none")


def usable(account: Account) -> bool:
    """Whether an account's calendars can be read and written now."""
    return account.status in USABLE and not account.needs_reconnect


def default_calendar(s: Session, user_id: int) -> Calendar | None:
    """The user's default (linked) calendar on an account that is still connected, if any."""
    return s.scalar(sa.select(Calendar).join(Account).where(
        Account.user_id == user_id, Calendar.is_default.is_(True),
        Account.status != AccountStatus.DISCONNECTED).limit(1))


def _owned(s: Session, user_id: int, calendar_id: int) -> Calendar:
    calendar = s.get(Calendar, calendar_id)
    if calendar is None or calendar.account.user_id != user_id:
        raise ValidationError("This calendar does not exist.", fix="Refresh the calendar list.", field="calendar")
    return calendar


def set_default_calendar(hub: Hub, user_id: int, calendar_id: int) -> None:
    """Make ``calendar_id`` the user's default (linked) calendar; it becomes a synced conflict calendar.

    :raises ValidationError: the user cannot write to it, or its account is disconnected.
    """
    with hub.db.session(write_lock=True) as s:
        calendar = _owned(s, user_id, calendar_id)
        if calendar.access_role not in WRITABLE:
            raise ValidationError(f"You can only read “{calendar.name}”, so meetings cannot be added to it.",
                                  fix="Pick a calendar you own or can edit.", field="calendar")
        if calendar.account.status == AccountStatus.DISCONNECTED:
            raise ValidationError("This calendar's account is disconnected.", fix="Reconnect the account first.",
                                  field="calendar")
        _make_default(s, user_id, calendar)
        account_id = calendar.account_id
    work.enqueue_calendar_sync(hub, account_id, calendar_id)


def set_conflict(hub: Hub, user_id: int, calendar_id: int, conflict: bool) -> None:
    """Add a calendar to ("Use more calendars") or remove it from the user's conflict calendars.

    :raises ValidationError: when removing the default calendar's conflict flag.
    """
    with hub.db.session(write_lock=True) as s:
        calendar = _owned(s, user_id, calendar_id)
        if not conflict and calendar.is_default:
            raise ValidationError("The default calendar always blocks availability.",
                                  fix="Pick another default calendar first.", field="calendar")
        calendar.is_conflict = conflict
        if conflict:
            calendar.sync_enabled = True
        account_id = calendar.account_id
    if conflict:
        work.enqueue_calendar_sync(hub, account_id, calendar_id)


def set_preferences(hub: Hub, user_id: int, calendar_id: int, *, sync_enabled: bool | None = None,
                    sync_direction: SyncDirection | str | None = None, propagate_deletions: bool | None = None,
                    import_meetings: bool | None = None, appointment_type: str | None = None) -> None:
    """Change a calendar's sync preferences; ``None`` leaves a preference as it is.

    :raises ValidationError: an unknown direction, or turning off sync of a conflict calendar.
    """
    with hub.db.session(write_lock=True) as s:
        calendar = _owned(s, user_id, calendar_id)
        if sync_direction is not None:
            try:
                calendar.sync_direction = SyncDirection(sync_direction)
            except ValueError:
                raise ValidationError(f"Unknown sync direction {sync_direction!r}.",
                                      fix="Use two_way, to_calendar or from_calendar.", field="sync_direction") from None
        if sync_enabled is not None:
            if not sync_enabled and calendar.is_conflict:
                raise ValidationError("A conflict calendar must stay synced: its busy time comes from the sync.",
                                      fix="Remove it from the conflict calendars first.", field="sync_enabled")
            calendar.sync_enabled = sync_enabled
        if propagate_deletions is not None:
            calendar.propagate_deletions = propagate_deletions
        if import_meetings is not None:
            calendar.import_meetings = import_meetings
        if appointment_type is not None:
            calendar.appointment_type = appointment_type or None
