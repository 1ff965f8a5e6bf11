"""The picture behind a booking page, and why a time is (not) offered.

* :func:`week` — one week of a meeting type's host: working hours, busy time by calendar (with the
  event's title), confirmed bookings, and the slots the booking page offers;
* :func:`why` — for one start time, every reason it is not offered (outside the working hours, off
  the slot grid, too little notice, too far ahead, a calendar that cannot be read, an event, a
  buffer next to an event, a booking), each naming the setting that would change the answer.

Read-only over :mod:`hub.scheduling.availability`: the offered slots come from its :func:`compute`, so the
two can never disagree about *whether* a time is offered; this module only says *why*.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hub.models import (
    Booking,
    BookingStatus,
    BusyBlock,
    Calendar,
    CalendarEvent,
    MeetingType,
    utcnow,
)
from hub.scheduling.availability import DAYS, _candidates, compute, conflict_calendars
from hub.sync.busy import zone


@dataclass(frozen=True)
class Busy:
    """One stretch of busy time: an event on a calendar, or a booking."""

    start: datetime
    end: datetime
    what: str  # the event's title or "Booking with <guest>"
    calendar: str | None  # the calendar's name; None for a booking
    calendar_id: int | None = None


@dataclass(frozen=True)
class Reason:
    """Why a time is not offered, and the setting that would change it."""

    kind: str  # hours | step | notice | horizon | unreadable | event | buffer | booking
    text: str
    #: where to change it: ("calendar", calendar id) | ("meeting_type", id) | ("integrations", None) |
    #: ("meetings", None)
    setting: tuple[str, int | None]
    fix: str


@dataclass
class Verdict:
    at: datetime
    offered: bool
    reasons: list[Reason] = field(default_factory=list)


@dataclass
class Week:
    days: list[date]
    #: working-hours windows (UTC)
    hours: list[tuple[datetime, datetime]]
    busy: list[Busy]
    offered: list[datetime]
    limited: bool
    unreadable: list[str]


def busy_items(s: Session, user_id: int, start: datetime, end: datetime) -> list[Busy]:
    """The host's busy time overlapping [start, end): events on conflict calendars and bookings."""
    calendars = conflict_calendars(s, user_id)
    ids = [cid for cid, _, _ in calendars]
    low, high = int(start.timestamp()), int(end.timestamp())
    rows = s.execute(
        sa.select(BusyBlock.start_ts, BusyBlock.end_ts, Calendar.id, Calendar.name, CalendarEvent.summary)
        .join(Calendar, Calendar.id == BusyBlock.calendar_id)
        .outerjoin(CalendarEvent, CalendarEvent.id == BusyBlock.event_id)
        .where(BusyBlock.user_id == user_id, BusyBlock.end_ts > low, BusyBlock.start_ts < high,
               BusyBlock.calendar_id.in_(ids or [-1]))
        .order_by(BusyBlock.start_ts)).all()
    out = [Busy(datetime.fromtimestamp(a, timezone.utc), datetime.fromtimestamp(b, timezone.utc),
                summary or "Busy", name, cid) for a, b, cid, name, summary in rows]
    bookings = s.execute(sa.select(Booking.start, Booking.end, Booking.guest_name).where(
        Booking.host_user_id == user_id, Booking.status == BookingStatus.CONFIRMED,
        Booking.start < end, Booking.end > start)).all()
    out += [Busy(_aware(a), _aware(b), f"Booking with {guest}", None) for a, b, guest in bookings]
    return sorted(out, key=lambda b: (b.start, b.end))


def week(s: Session, meeting_type: MeetingType, first_day: date, now: datetime | None = None) -> Week:
    """Seven days from ``first_day`` (in the meeting type's zone)."""
    tz = zone(meeting_type.timezone)
    start = datetime.combine(first_day, time.min, tz).astimezone(timezone.utc)
    end = datetime.combine(first_day + timedelta(days=7), time.min, tz).astimezone(timezone.utc)
    hours = []
    for offset in range(7):
        day = first_day + timedelta(days=offset)
        windows = (meeting_type.weekly_hours or {}).get(DAYS[day.weekday()], [])
        hours += [(a.astimezone(timezone.utc), b.astimezone(timezone.utc)) for a, b in _windows(day, windows, tz)]
    answer = compute(s, meeting_type, start, end, now)
    return Week([first_day + timedelta(days=i) for i in range(7)], hours, busy_items(s, meeting_type.user_id, start, end),
                answer.slots, answer.limited, answer.unreadable)


def why(s: Session, meeting_type: MeetingType, at: datetime, now: datetime | None = None) -> Verdict:
    """Whether a meeting starting at ``at`` is offered and, if not, every reason why."""
    now = now or utcnow()
    at = at.astimezone(timezone.utc).replace(second=0, microsecond=0)
    mt = meeting_type
    duration = timedelta(minutes=mt.duration_minutes)
    offered = at in compute(s, mt, at, at + timedelta(minutes=1), now).slots
    verdict = Verdict(at, offered)
    if offered:
        return verdict
    edit = ("meeting_type", mt.id)
    reasons = verdict.reasons
    if at not in _candidates(mt, at, at + timedelta(minutes=1)):
        local = at.astimezone(zone(mt.timezone))
        windows = (mt.weekly_hours or {}).get(DAYS[local.weekday()], [])
        if any(a <= local and local + duration <= b for a, b in _windows(local.date(), windows, local.tzinfo)):
            reasons.append(Reason("step", f"Slots start every {mt.slot_step_minutes} minutes from the start of your "
                                          "working hours; this time falls between two.", edit,
                                  "Change the slot step of the meeting type."))
        else:
            shown = ", ".join(f"{a}–{b}" for a, b in windows) or "no working hours"
            reasons.append(Reason("hours", f"Outside your working hours for {local.strftime('%A')}s ({shown}, "
                                           f"{mt.timezone}).", edit, "Change the weekly hours of the meeting type."))
    if at < now + timedelta(minutes=mt.min_notice_minutes):
        reasons.append(Reason("notice", f"Too soon: bookings need {mt.min_notice_minutes} minutes' notice.", edit,
                              "Lower the minimum notice of the meeting type."))
    if at >= now + timedelta(days=mt.horizon_days):
        reasons.append(Reason("horizon", f"Too far ahead: bookings are offered {mt.horizon_days} days ahead.", edit,
                              "Raise how far ahead the meeting type can be booked."))
    for _cid, name, readable in conflict_calendars(s, mt.user_id):
        if not readable:
            reasons.append(Reason("unreadable", f"The calendar “{name}” cannot be read right now, so all its time "
                                                "counts as busy.", ("integrations", None),
                                  "Reconnect its account, or wait for its first sync to finish."))
    before, after = timedelta(minutes=mt.buffer_before_minutes), timedelta(minutes=mt.buffer_after_minutes)
    tz = zone(mt.timezone)
    for item in busy_items(s, mt.user_id, at - before, at + duration + after):
        when = f"{item.start.astimezone(tz):%H:%M}–{item.end.astimezone(tz):%H:%M} {mt.timezone}"
        if item.calendar is None:
            reasons.append(Reason("booking", f"{item.what} ({when}).", ("meetings", None),
                                  "Cancel or move that booking."))
        elif item.start < at + duration and item.end > at:
            reasons.append(Reason("event", f"“{item.what}” on your calendar “{item.calendar}” ({when}).",
                                  ("calendar", item.calendar_id),
                                  f"Stop checking “{item.calendar}” for conflicts, or move the event."))
        else:
            side = "before" if item.end <= at else "after"
            minutes = mt.buffer_before_minutes if side == "before" else mt.buffer_after_minutes
            reasons.append(Reason("buffer", f"The {minutes}-minute buffer {side} the meeting touches “{item.what}” "
                                            f"on your calendar “{item.calendar}” ({when}).", edit,
                                  f"Shorten the buffer {side} meetings of the meeting type."))
    return verdict


def _windows(day: date, windows: list, tz) -> list[tuple[datetime, datetime]]:
    """A day's weekly-hours windows as local datetimes ("24:00" and "00:00" as an end: midnight after)."""
    out = []
    for begin, finish in windows:
        end = (datetime.combine(day + timedelta(days=1), time.min, tz) if finish in ("24:00", "00:00")
               else datetime.combine(day, _hhmm(finish), tz))
        out.append((datetime.combine(day, _hhmm(begin), tz), end))
    return out


def _hhmm(text: str) -> time:
    hour, minute = (int(x) for x in text.split(":"))
    return time(hour, minute)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
