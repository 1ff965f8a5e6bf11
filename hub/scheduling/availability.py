"""Free slots of a meeting type, computed from busy time stored at sync time.

Public API:

* :func:`availability` — the slots a booking page offers between two instants (by slug);
* :func:`compute` — the same for a loaded :class:`~hub.models.MeetingType` inside a session (the
  booking flow re-runs it under its lock; the web views read the meeting type and its slots in one
  session), with :func:`find_meeting_type` and :func:`active` to read and check the meeting type;
* :func:`busy_time` — the host's merged busy intervals and whether some conflict calendar could not
  be read;
* :class:`Availability` — the answer: slot starts (UTC), ``limited`` and why, each host's free slots.

Team types (:mod:`hub.scheduling.teams`) run the same per host — their own conflict calendars, bookings,
optional working hours and the per-day limit (:mod:`hub.scheduling.limits`) — and combine: round-robin
is the union, collective the intersection. Date overrides replace a date's weekly hours.

Algorithm: one indexed query reads the host's busy blocks on every conflict calendar, bounded by the
range, as epoch seconds (no datetime decoding for thousands of rows); the host's few confirmed
bookings are added; intervals are sorted and merged in Python. Candidate starts walk each day's
weekly hours (in the meeting type's zone, so DST is right) by the slot step; one pass with a pointer
over the merged busy list checks each candidate widened by the buffers. Nothing is parsed per
request: recurring events were expanded when they were synced.

Fail closed: a conflict calendar that cannot be read (``unreadable_since`` set, its account in
error or awaiting a reconnect, or never synced yet) makes its host busy for the whole range and sets
``limited=True``, which the booking page shows as "availability is limited". Transparent events never
produce busy blocks, so they never block. Calendars of disconnected accounts, and of accounts whose
calendar sync the user turned off, no longer count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hub.core import Hub
from hub.exceptions import NotActive, ValidationError
from hub.models import (
    Account,
    AccountStatus,
    Booking,
    BookingHost,
    BookingStatus,
    BusyBlock,
    Calendar,
    CalendarEvent,
    MeetingType,
    SyncCursor,
    utcnow,
)
from hub.scheduling import limits, teams
from hub.sync.busy import zone

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: what ``unreadable`` says of a team member without a connected default calendar
NO_CALENDAR = "a team member's calendar (not connected)"


@dataclass
class Availability:
    """Bookable slot starts (UTC) of one meeting type in a range."""

    slots: list[datetime] = field(default_factory=list)
    duration: timedelta = timedelta(minutes=30)
    timezone: str = "UTC"
    #: a conflict calendar could not be read: its time counted as busy
    limited: bool = False
    #: names of the calendars that could not be read
    unreadable: list[str] = field(default_factory=list)
    #: each possible host's free slot starts (one entry for a single-host type)
    hosts: dict[int, list[datetime]] = field(default_factory=dict)


def availability(hub: Hub, slug: str, start: datetime, end: datetime, now: datetime | None = None) -> Availability:
    """Free slots of the meeting type ``slug`` starting in [start, end).

    :raises ValidationError: unknown slug or a bad range.
    :raises NotActive: the meeting type is deactivated.
    """
    with hub.db.session() as s:
        meeting_type = meeting_type_by_slug(s, slug)
        return compute(s, meeting_type, start, end, now)


def meeting_type_by_slug(s: Session, slug: str) -> MeetingType:
    """The active meeting type behind a booking link."""
    meeting_type = find_meeting_type(s, slug)
    if meeting_type is None:
        raise ValidationError("There is no booking page at this address.", fix="Check the link.", field="slug")
    return active(meeting_type)


def find_meeting_type(s: Session, slug: str) -> MeetingType | None:
    """The meeting type behind a booking link, active or not; ``None`` when there is none."""
    return s.scalar(sa.select(MeetingType).where(MeetingType.slug == slug))


def active(meeting_type: MeetingType) -> MeetingType:
    """``meeting_type`` itself when its booking link is active.

    :raises NotActive: the meeting type is deactivated.
    """
    if not meeting_type.active:
        raise NotActive(f"The booking link “{meeting_type.name}” is not active.")
    return meeting_type


def compute(s: Session, meeting_type: MeetingType, start: datetime, end: datetime,
            now: datetime | None = None, setting_aside: Booking | None = None) -> Availability:
    """Free slots of ``meeting_type`` starting in [start, end), read inside session ``s``.

    ``setting_aside``: a booking being moved — its own time does not count against it (its row, its
    event's busy blocks, its place in a day's ``max_per_day``), as :func:`hub.scheduling.self_service.reschedule`
    frees that time before it checks the new slot.

    A team type's slots combine its hosts' (:mod:`hub.scheduling.teams`): round-robin offers a slot when
    any host is free, collective only when every host is. Each host fails closed on their own: a host
    with an unreadable conflict calendar is busy for the whole range and the answer is ``limited``.
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise ValidationError("The range needs time zones.", field="start")
    now = now or utcnow()
    duration = timedelta(minutes=meeting_type.duration_minutes)
    first = max(start.astimezone(timezone.utc), now + timedelta(minutes=meeting_type.min_notice_minutes))
    last = min(end.astimezone(timezone.utc), now + timedelta(days=meeting_type.horizon_days))
    result = Availability(duration=duration, timezone=meeting_type.timezone)
    if first >= last:
        return result
    candidates = _candidates(meeting_type, first, last)
    if not candidates:
        return result
    combined: set[datetime] | None = None
    team = teams.is_team(meeting_type)
    for host in teams.hosts(s, meeting_type):
        free_slots: list[datetime]
        if team and not teams.can_host(s, host.user_id):  # nothing to check their time against: busy
            free_slots, unreadable = [], [NO_CALENDAR]
        else:
            free_slots, unreadable = _host_slots(s, meeting_type, host, candidates, setting_aside)
        if unreadable:
            result.limited = True
            result.unreadable += unreadable
        result.hosts[host.user_id] = free_slots
        if meeting_type.kind == "collective":
            combined = set(free_slots) if combined is None else combined & set(free_slots)
        else:
            combined = (combined or set()) | set(free_slots)
    result.slots = sorted(combined or ())
    return result


def _host_slots(s: Session, meeting_type: MeetingType, host: teams.Host, candidates: list[datetime],
                setting_aside: Booking | None = None) -> tuple[list[datetime], list[str]]:
    """The candidates ``host`` is free for, and the names of their unreadable calendars (then: none free)."""
    if host.weekly_hours is not None:
        candidates = _within(meeting_type, host, candidates)
    if meeting_type.max_per_day and candidates:
        tz = zone(meeting_type.timezone)
        full = limits.full_days(s, meeting_type, host.user_id, candidates[0], candidates[-1], setting_aside)
        candidates = [c for c in candidates if c.astimezone(tz).date() not in full]
    if not candidates:
        return [], []
    # all arithmetic below is on whole epoch seconds: cheap to load and compare by the thousand
    starts = [int(c.timestamp()) for c in candidates]
    length = meeting_type.duration_minutes * 60
    ahead, behind = meeting_type.buffer_before_minutes * 60, meeting_type.buffer_after_minutes * 60
    busy, unreadable = busy_time(s, host.user_id, starts[0] - ahead, starts[-1] + length + behind, setting_aside)
    if unreadable:
        return [], unreadable
    return [datetime.fromtimestamp(t, timezone.utc) for t in free(starts, busy, length, ahead, behind)], []


def _within(meeting_type: MeetingType, host: teams.Host, candidates: list[datetime]) -> list[datetime]:
    """The candidates whose whole slot lies inside the host's own weekly hours (in the host's zone)."""
    duration = timedelta(minutes=meeting_type.duration_minutes)
    windows = _windows(lambda day: (host.weekly_hours or {}).get(DAYS[day.weekday()], []), zone(host.timezone),
                       candidates[0], candidates[-1] + duration)
    out, i = [], 0
    for slot in candidates:  # both sorted: one pass
        while i < len(windows) and windows[i][1] < slot + duration:
            i += 1
        if i < len(windows) and windows[i][0] <= slot:
            out.append(slot)
    return out


def _windows(hours_of, tz, first: datetime, last: datetime) -> list[tuple[datetime, datetime]]:
    """The [start, end) windows (UTC, sorted) of ``hours_of(day)`` for the days around [first, last]."""
    out = []
    day = first.astimezone(tz).date() - timedelta(days=1)
    last_day = last.astimezone(tz).date()
    while day <= last_day:
        for begin, finish in hours_of(day):
            window_end = _local(day, finish, tz) if finish not in ("24:00", "00:00") else \
                datetime.combine(day + timedelta(days=1), time.min, tz).astimezone(timezone.utc)
            out.append((_local(day, begin, tz), window_end))
        day += timedelta(days=1)
    return sorted(out)


def _candidates(meeting_type: MeetingType, first: datetime, last: datetime) -> list[datetime]:
    """Slot starts in [first, last) on the type's hours (weekly, or a date's override), stepping by the
    slot step, in UTC order."""
    tz = zone(meeting_type.timezone)
    step = timedelta(minutes=max(1, meeting_type.slot_step_minutes))
    duration = timedelta(minutes=meeting_type.duration_minutes)
    out: list[datetime] = []
    for window_start, window_end in _windows(lambda day: limits.hours_on(meeting_type, day), tz, first, last):
        slot = window_start
        while slot + duration <= window_end:
            if first <= slot < last:
                out.append(slot)
            slot += step
    return sorted(set(out))


def _local(day, hhmm: str, tz) -> datetime:
    hour, minute = (int(x) for x in hhmm.split(":"))
    return datetime.combine(day, time(hour, minute), tz).astimezone(timezone.utc)


def free(candidates: list, busy: list, duration, before, after) -> list:
    """The candidates whose [start - before, start + duration + after) misses every busy interval.

    Works on any ordered values with matching differences (epoch seconds, or datetimes and timedeltas).

    :param candidates: sorted slot starts.
    :param busy: sorted, merged (non-overlapping) intervals.
    """
    out = []
    i = 0
    for slot in candidates:
        low, high = slot - before, slot + duration + after
        while i < len(busy) and busy[i][1] <= low:  # ends before this slot: before every later one too
            i += 1
        if i < len(busy) and busy[i][0] < high:
            continue
        out.append(slot)
    return out


def merge(intervals: list) -> list:
    """Sort and merge overlapping or touching intervals."""
    out: list[list] = []
    for start, end in sorted(intervals):
        if out and start <= out[-1][1]:
            if end > out[-1][1]:
                out[-1][1] = end
        else:
            out.append([start, end])
    return [(a, b) for a, b in out]


def conflict_calendars(s: Session, user_id: int) -> list[tuple[int, str, bool]]:
    """The host's conflict calendars on connected accounts: (id, name, readable)."""
    rows = s.execute(
        sa.select(Calendar.id, Calendar.name, Calendar.unreadable_since, Account.status, Account.needs_reconnect,
                  SyncCursor.initial_done)
        .join(Account, Account.id == Calendar.account_id)
        .outerjoin(SyncCursor, sa.and_(SyncCursor.account_id == Account.id, SyncCursor.kind == "calendar",
                                       SyncCursor.key == Calendar.remote_id))
        .where(Account.user_id == user_id, Account.status != AccountStatus.DISCONNECTED,
               Account.calendar_enabled.is_(True),
               sa.or_(Calendar.is_conflict.is_(True), Calendar.is_default.is_(True)))).all()
    return [(cid, name, unreadable is None and status == AccountStatus.ENABLED and not reconnect and bool(synced))
            for cid, name, unreadable, status, reconnect, synced in rows]


def busy_time(s: Session, user_id: int, start: int, end: int,
              setting_aside: Booking | None = None) -> tuple[list[tuple[int, int]], list[str]]:
    """The host's merged busy intervals overlapping [start, end) in epoch seconds, and the names of the
    conflict calendars that cannot be read; without ``setting_aside``'s own time (see :func:`compute`)."""
    calendars = conflict_calendars(s, user_id)
    unreadable = [name for _, name, readable in calendars if not readable]
    ids = [cid for cid, _, _ in calendars]
    # the one indexed query over busy blocks: (user_id, end_ts), bounded by the sync window ahead
    blocks = sa.select(BusyBlock.start_ts, BusyBlock.end_ts).where(
        BusyBlock.user_id == user_id, BusyBlock.end_ts > start, BusyBlock.start_ts < end,
        BusyBlock.calendar_id.in_(ids or [-1]))
    if setting_aside is not None and setting_aside.meeting_id is not None:
        blocks = blocks.where(BusyBlock.event_id.not_in(
            sa.select(CalendarEvent.id).where(CalendarEvent.meeting_id == setting_aside.meeting_id)))
    result = s.connection().execute(blocks)
    try:
        # the driver's plain tuples of two integers: building SQLAlchemy rows for tens of thousands of
        # blocks would cost more than everything else here together
        intervals = list(result.cursor.fetchall())
    finally:
        result.close()
    low, high = datetime.fromtimestamp(start, timezone.utc), datetime.fromtimestamp(end, timezone.utc)
    hosted = sa.or_(Booking.host_user_id == user_id,  # or one of a collective booking's further hosts
                    Booking.id.in_(sa.select(BookingHost.booking_id).where(BookingHost.user_id == user_id)))
    bookings = s.execute(sa.select(Booking.start, Booking.end).where(
        hosted, Booking.status == BookingStatus.CONFIRMED, Booking.start < high, Booking.end > low,
        Booking.id != (setting_aside.id if setting_aside is not None else -1))).all()
    intervals += [(math.floor(a.timestamp()), math.ceil(b.timestamp())) for a, b in bookings]
    return merge(intervals), unreadable
