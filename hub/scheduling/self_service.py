"""Guest self-service: rescheduling or cancelling a booking.

Public API:

* :func:`reschedule` — move a booking to another offered slot;
* :func:`cancel_booking` — cancel a booking (optional reason).

Guests come through the signed links of :mod:`hub.scheduling.links`; hosts use the same functions from
the meetings page and the API (``by="host"``). The slot checks are :mod:`hub.scheduling.booking`'s own
(its private helpers, shared within the package), so a reschedule is held to exactly the rules of a
new booking.

A reschedule follows :func:`hub.scheduling.booking.book` step by step: the provider re-check before the
lock (busy time inside the booking's own old time does not count — it is the booking's own event), then
the host lock, and inside it the booking's own row and its event's busy blocks are set aside and the new
slot checked with the booking page's rules. A reschedule and a new booking racing for one slot meet at
the host lock: whichever comes second sees the other's row and gets ``SlotUnavailable``. The meeting
moves and its outbox entry is written in the same transaction; the old time is free once it commits.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from hub import events
from hub.core import Hub
from hub.crm import meetings
from hub.exceptions import NotActive, SlotUnavailable, ValidationError
from hub.models import Booking, BookingHost, BookingStatus, BusyBlock, CalendarEvent, Meeting, MeetingType, utcnow
from hub.scheduling import booking as booking_engine
from hub.scheduling import notifications
from hub.scheduling.links import InvalidLink, check_changeable

#: longest cancel reason kept (the rest is cut)
MAX_REASON = 2000


def reschedule(hub: Hub, booking_id: int, start: datetime, now: datetime | None = None, by: str = "guest") -> None:
    """Move a confirmed booking to the offered slot starting at ``start``.

    :raises InvalidLink: the booking is cancelled or over.
    :raises NotActive: the meeting type is deactivated or the host's calendar is disconnected.
    :raises SlotUnavailable: the new slot is taken, busy, not offered, or could not be confirmed.
    """
    now = now or utcnow()
    if start.tzinfo is None:
        raise ValidationError("The start time needs a time zone.", field="start")
    start = start.astimezone(timezone.utc)
    with hub.db.session() as s:
        booking = _booking(s, booking_id)
        check_changeable(booking, now)
        meeting_type = s.get(MeetingType, booking.meeting_type_id)
        if meeting_type is None or not meeting_type.active:
            raise NotActive("This booking link is not active.")
        end = start + timedelta(minutes=meeting_type.duration_minutes)
        before = timedelta(minutes=meeting_type.buffer_before_minutes)
        after = timedelta(minutes=meeting_type.buffer_after_minutes)
        old = (booking.start, booking.end)
        host = booking.host_user_id
        # the booking keeps its hosts: a round-robin booking its member, a collective one all of them
        hosts = sorted({host, *s.scalars(sa.select(BookingHost.user_id).where(BookingHost.booking_id == booking_id))})
        checks = {uid: booking_engine.free_busy_targets(s, uid) for uid in hosts}
    for targets in checks.values():
        booking_engine.confirm_with_providers(hub, targets, start - before, end + after, own=old)
    with hub.db.session(write_lock=True) as s:
        for uid in hosts:  # the order book() locks in: a reschedule and a team booking never deadlock
            booking_engine.lock_host(s, uid)
        booking = _booking(s, booking_id)
        check_changeable(booking, now)
        meeting_type = s.get(MeetingType, booking.meeting_type_id)
        if meeting_type is None or not meeting_type.active:
            raise NotActive("This booking link is not active.")
        booking_engine.target_calendar(s, host)
        # set the booking's own time aside for the check; a failed check rolls this back
        booking.status = BookingStatus.CANCELLED
        if booking.meeting_id is not None:
            s.execute(sa.delete(BusyBlock).where(BusyBlock.event_id.in_(
                sa.select(CalendarEvent.id).where(CalendarEvent.meeting_id == booking.meeting_id))))
        s.flush()
        if not set(hosts) <= set(booking_engine.free_hosts(s, meeting_type, start, now)):
            raise SlotUnavailable()
        previous = booking.start
        booking.status = BookingStatus.CONFIRMED
        booking.start, booking.end = start, end
        booking.version += 1
        account_id = None
        meeting = s.get(Meeting, booking.meeting_id) if booking.meeting_id else None
        if meeting is not None and not meeting.cancelled:
            account_id = meetings.move_in(s, meeting, start, end)
        events.record_for_user(s, host, "booking.rescheduled",
                               {**booking_engine.booking_event(booking), "previous_start": previous.isoformat(),
                                "by": by})
        version = booking.version
    meetings.enqueue_push(hub, account_id)
    notifications.announce(hub, booking_id, version)


def cancel_booking(hub: Hub, booking_id: int, reason: str | None = None, by: str = "guest",
                   now: datetime | None = None) -> None:
    """Cancel a booking: it and its meeting are marked cancelled, the calendar event is deleted with
    notification to the attendees, and guest and host get the cancellation. Cancelling twice is a no-op.

    :raises InvalidLink: unknown booking, or its meeting is over.
    """
    now = now or utcnow()
    reason = (reason or "").strip()[:MAX_REASON] or None
    with hub.db.session(write_lock=True) as s:
        booking = s.get(Booking, booking_id)
        if booking is None:
            raise InvalidLink("This booking does not exist.")
        if booking.status == BookingStatus.CANCELLED:
            return
        check_changeable(booking, now)
        booking.status = BookingStatus.CANCELLED
        booking.cancel_reason = reason
        booking.version += 1
        meeting = s.get(Meeting, booking.meeting_id) if booking.meeting_id else None
        account_id = meetings.cancel_in(s, meeting) if meeting is not None else None
        events.record_for_user(s, booking.host_user_id, "booking.cancelled",
                               {**booking_engine.booking_event(booking), "reason": reason, "by": by})
        version = booking.version
    meetings.enqueue_push(hub, account_id)
    notifications.announce(hub, booking_id, version)


def _booking(s, booking_id: int) -> Booking:
    booking = s.get(Booking, booking_id)
    if booking is None:
        raise InvalidLink("This booking does not exist.")
    return booking
