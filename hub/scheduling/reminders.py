"""Reminder e-mails before a booked meeting (default 24 h and 1 h before; per meeting type).

Public API: :func:`schedule`, :func:`requeue_due`, :func:`minutes_of`, :data:`DEFAULT_MINUTES` (the
e-mail itself: :func:`hub.scheduling.notifications.send_reminder`).

Each reminder is an RQ job delayed to its time (RQ's scheduler, which every ``hub worker`` runs), named
for the booking's version. Nothing is unscheduled when a booking moves or is cancelled: the job compares
the version it was made for with the booking's when it runs, and a moved or cancelled booking (a newer
version) gets no stale reminder — the move scheduled its own. A reminder whose time has already passed
when the booking is made is not sent (a meeting booked for in two hours gets no "tomorrow" e-mail).

Redis holds the queued reminders, the database the bookings: :func:`requeue_due` (periodic, like the
reconciler) queues again every reminder due within :data:`AHEAD` whose job a Redis restart lost. The
job ids dedupe a reminder still queued, and only reminders still in the future are queued, so none
that already went out is sent twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from hub import work
from hub.core import Hub
from hub.models import Booking, BookingStatus, MeetingType, utcnow

DEFAULT_MINUTES = (24 * 60, 60)
#: how far ahead :func:`requeue_due` looks (it runs every :data:`REQUEUE_INTERVAL` seconds)
AHEAD = timedelta(hours=2)
REQUEUE_INTERVAL = 600


def minutes_of(meeting_type: MeetingType | None) -> tuple[int, ...]:
    """The meeting type's reminder times in minutes before the start (None: the defaults, []: none)."""
    if meeting_type is None or meeting_type.reminder_minutes is None:
        return DEFAULT_MINUTES
    return tuple(int(m) for m in meeting_type.reminder_minutes)


def schedule(hub: Hub, booking_id: int, version: int, now: datetime | None = None) -> list[int]:
    """Queue the reminders of ``version`` of a confirmed booking; returns their minutes before the start."""
    now = now or utcnow()
    with hub.db.session() as s:
        booking = s.get(Booking, booking_id)
        if booking is None or booking.status != BookingStatus.CONFIRMED or booking.version != version:
            return []
        start, minutes = booking.start, minutes_of(s.get(MeetingType, booking.meeting_type_id))
    queued = []
    for before in minutes:
        delay = (start - timedelta(minutes=before) - now).total_seconds()
        if delay > 0:
            work.enqueue_booking_reminder(hub, booking_id, version, before, delay)
            queued.append(before)
    return queued


def requeue_due(hub: Hub, now: datetime | None = None) -> int:
    """Queue (again) the reminders of confirmed bookings due in (now, now + AHEAD]; returns how many
    were asked for (a job still queued under its id is left as it is)."""
    now = now or utcnow()
    with hub.db.session() as s:
        longest = max([*DEFAULT_MINUTES, *(m for ms in s.scalars(sa.select(MeetingType.reminder_minutes).where(
            MeetingType.reminder_minutes.is_not(None))) for m in ms)])
        rows = s.execute(sa.select(Booking.id, Booking.version, Booking.start, MeetingType).join(
            MeetingType, MeetingType.id == Booking.meeting_type_id).where(
            Booking.status == BookingStatus.CONFIRMED, Booking.start > now,
            Booking.start <= now + AHEAD + timedelta(minutes=longest))).all()
        due = [(booking_id, version, start, minutes_of(mt)) for booking_id, version, start, mt in rows]
    asked = 0
    for booking_id, version, start, minutes in due:
        for before in minutes:
            at = start - timedelta(minutes=before)
            if now < at <= now + AHEAD:
                work.enqueue_booking_reminder(hub, booking_id, version, before, (at - now).total_seconds())
                asked += 1
    return asked
