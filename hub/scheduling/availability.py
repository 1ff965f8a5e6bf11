"""Free slots of a meeting type, computed from busy time stored at sync time.

Public API:

* :func:`availability` — the slots a booking page offers between two instants (by slug);
* :func:`compute` — the same for a loaded :class:`~hub.models.MeetingType` inside a session (the
  booking flow re-runs it under its lock; the web views read the meeting type and its slots in one
  session), with :func:`find_meeting_type` and :func:`active` to read and check the meeting type;
* :func:`busy_time` — the host's merged busy intervals and whether some conflict calendar could not
  be read;
* :class:`Availability` — the answer: slot starts (UTC), ``limited`` and why.

Algorithm: one indexed query reads the host's busy blocks on every conflict calendar, bounded by the
range, as epoch seconds (no datetime decoding for thousands of rows); the host's few confirmed
bookings are added; intervals are sorted and merged in Python. Candidate starts walk each day's weekly hours (in the meeting type's zone, so DST is right)
by the slot step; one pass with a pointer over the merged busy list checks each candidate widened by
the buffers. Nothing is parsed per request: recurring events were expanded when they were synced.

Fail closed: a conflict calendar that cannot be read (``unreadable_since`` set, its account in
error or awaiting a reconnect, or never synced yet) makes the whole range busy and sets
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
    BookingStatus,
    BusyBlock,
    Calendar,
    MeetingType,
    SyncCursor,
    utcnow,
)
from hub.sync.busy import zone

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


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
            now: datetime | None = None) -> Availability:
    """Free slots of ``meeting_type`` starting in [start, end), read inside session ``s``."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValidationError("The range needs time zones.", field="start")
    now = now or utcnow()
    duration = timedelta(minutes=meeting_type.duration_minutes)
    before = timedelta(minutes=meeting_type.buffer_before_minutes)
    after = timedelta(minutes=meeting_type.buffer_after_minutes)
    first = max(start.astimezone(timezone.utc), now + timedelta(minutes=meeting_type.min_notice_minutes))
    last = min(end.astimezone(timezone.utc), now + timedelta(days=meeting_type.horizon_days))
    result = Availability(duration=duration, timezone=meeting_type.timezone)
    if first >= last:
        return result
    candidates = _candidates(meeting_type, first, last)
    if not candidates:
        return result
    # all arithmetic below is on whole epoch seconds: cheap to load and compare by the thousand
    starts = [int(c.timestamp()) for c in candidates]
    length, ahead, behind = (int(x.total_seconds()) for x in (duration, before, after))
    busy, unreadable = busy_time(s, meeting_type.user_id, starts[0] - ahead, starts[-1] + length + behind)
    if unreadable:
        result.limited, result.unreadable = True, unreadable
        return result
    result.slots = [datetime.fromtimestamp(t, timezone.utc) for t in free(starts, busy, length, ahead, behind)]
    return result


def _candidates(meeting_type: MeetingType, first: datetime, last: datetime) -> list[datetime]:
    """Slot starts in [first, last) on the weekly hours, stepping by the slot step, in UTC order."""
    tz = zone(meeting_type.timezone)
    step = timedelta(minutes=max(1, meeting_type.slot_step_minutes))
    duration = timedelta(minutes=meeting_type.duration_minutes)
    hours = meeting_type.weekly_hours or {}
    out: list[datetime] = []
    day = first.astimezone(tz).date() - timedelta(days=1)
    last_day = last.astimezone(tz).date()
    while day <= last_day:
        for begin, finish in hours.get(DAYS[day.weekday()], []):
            window_start = _local(day, begin, tz)
            window_end = _local(day, finish, tz) if finish not in ("24:00", "00:00") else \
                datetime.combine(day + timedelta(days=1), time.min, tz).astimezone(timezone.utc)
            slot = window_start
            while slot + duration <= window_end:
                if first <= slot < last:
                    out.append(slot)
                slot += step
        day += timedelta(days=1)
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


def busy_time(s: Session, user_id: int, start: int, end: int) -> tuple[list[tuple[int, int]], list[str]]:
    """The host's merged busy intervals overlapping [start, end) in epoch seconds, and the names of the
    conflict calendars that cannot be read."""
    calendars = conflict_calendars(s, user_id)
    unreadable = [name for _, name, readable in calendars if not readable]
    ids = [cid for cid, _, _ in calendars]
    # the one indexed query over busy blocks: (user_id, end_ts), bounded by the sync window ahead
    result = s.connection().execute(sa.select(BusyBlock.start_ts, BusyBlock.end_ts).where(
        BusyBlock.user_id == user_id, BusyBlock.end_ts > start, BusyBlock.start_ts < end,
        BusyBlock.calendar_id.in_(ids or [-1])))
    try:
        # the driver's plain tuples of two integers: building SQLAlchemy rows for tens of thousands of
        # blocks would cost more than everything else here together
        intervals = list(result.cursor.fetchall())
    finally:
        result.close()
    low, high = datetime.fromtimestamp(start, timezone.utc), datetime.fromtimestamp(end, timezone.utc)
    bookings = s.execute(sa.select(Booking.start, Booking.end).where(
        Booking.host_user_id == user_id, Booking.status == BookingStatus.CONFIRMED, Booking.start < high,
        Booking.end > low)).all()
    intervals += [(math.floor(a.timestamp()), math.ceil(b.timestamp())) for a, b in bookings]
    return merge(intervals), unreadable
