"""Booking a slot of a meeting type — never a double booking.

Public API:

* :func:`book` — book a slot for a guest; returns the booking id;
* :func:`cancel_booking` — cancel a booking and its meeting (the calendar event is deleted by the push).

Algorithm (docs/architecture.md, "Data flow"):

1. the meeting type must be active and its host's default calendar on a connected account — a
   booking into availability that came from a disconnected account fails with ``NotActive``;
2. the slot is re-checked at the provider with ``hub_free_busy`` on every conflict calendar; any
   error there fails closed (``SlotUnavailable``). This runs *before* the lock: the lock cannot stop
   someone from adding an event in their calendar app anyway, and holding SQLite's database-wide
   write lock across a network round trip would stall every other writer;
3. the host is locked — ``SELECT … FOR UPDATE`` on the host's user row on PostgreSQL, SQLite's write
   lock (``BEGIN IMMEDIATE``) on SQLite — and the slot is checked again against the stored busy
   blocks and bookings with exactly the rules the booking page uses (:mod:`hub.scheduling.availability`);
   of concurrent requests for overlapping slots exactly one gets past this point, the others see its
   booking and get ``SlotUnavailable``;
4. the guest becomes or matches a contact; the booking, its meeting (origin "booking", video link
   when the type wants one, the guest invited) and the outbox entry for the default calendar are
   inserted and committed together; then the push job is enqueued.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hub import events, public_input
from hub.core import Hub
from hub.crm import matching, meetings
from hub.exceptions import HubError, NotActive, SlotUnavailable, ValidationError
from hub.models import (
    Account,
    AccountStatus,
    Booking,
    BookingStatus,
    Calendar,
    MeetingType,
    User,
    utcnow,
)
from hub.scheduling import availability
from hub.sync.busy import zone
from hub.sync.calendars import default_calendar, usable
from hub.types import Participant

log = logging.getLogger(__name__)


def book(hub: Hub, slug: str, start: datetime, guest_name: str, guest_email: str,
         guest_timezone: str | None = None, now: datetime | None = None) -> int:
    """Book the slot of meeting type ``slug`` starting at ``start`` for a guest.

    :return: the booking id.
    :raises ValidationError: bad guest details or an unknown link.
    :raises NotActive: the meeting type is deactivated or its host's calendar is disconnected.
    :raises SlotUnavailable: the slot is taken, busy, not offered, or could not be confirmed.
    """
    now = now or utcnow()
    guest_name, guest_email = _check_guest(guest_name, guest_email, guest_timezone)
    if start.tzinfo is None:
        raise ValidationError("The start time needs a time zone.", field="start")
    start = start.astimezone(timezone.utc)
    with hub.db.session() as s:
        meeting_type = availability.meeting_type_by_slug(s, slug)
        host = meeting_type.user_id
        _target_calendar(s, meeting_type)
        _check_slot(s, meeting_type, start, now)
        end = start + timedelta(minutes=meeting_type.duration_minutes)
        margin = (timedelta(minutes=meeting_type.buffer_before_minutes),
                  timedelta(minutes=meeting_type.buffer_after_minutes))
        checks = _free_busy_targets(s, host)
    _confirm_with_providers(hub, checks, start - margin[0], end + margin[1])
    with hub.db.session(write_lock=True) as s:
        lock_host(s, host)
        meeting_type = s.get(MeetingType, meeting_type.id)
        if meeting_type is None or not meeting_type.active:
            raise NotActive("This booking link is not active.")
        calendar = _target_calendar(s, meeting_type)
        _check_slot(s, meeting_type, start, now)
        match = matching.match_addresses(s, host, [guest_email]).get(guest_email)
        contact_id = None
        if match is None or match.kind not in ("self", "colleague"):
            contact_id = matching.ensure_contact(s, guest_email, guest_name, source="booking")
        meeting = meetings.add_meeting(
            s, host, f"{meeting_type.name} with {guest_name}", start, end,
            attendees=[Participant(guest_email, guest_name)], timezone_name=meeting_type.timezone,
            want_video=meeting_type.want_video, origin="booking",
            description=f"Booked through the “{meeting_type.name}” booking page.")
        booking = Booking(meeting_type_id=meeting_type.id, host_user_id=host, start=start, end=end,
                          guest_name=guest_name, guest_email=guest_email, guest_timezone=guest_timezone,
                          status=BookingStatus.CONFIRMED, meeting_id=meeting.id, contact_id=contact_id,
                          account_id=calendar.account_id)
        s.add(booking)
        account_id = meetings.queue_push(s, meeting, "create", meetings.SYNCED_FIELDS, send_invites=True)
        s.flush()
        booking_id = booking.id
        if contact_id is not None and (match is None or match.kind == "external_unknown"):
            events.contact_created(s, contact_id, host, "booking")
        events.record_for_user(s, host, "meeting.created", meetings.meeting_event(meeting))
        events.record_for_user(s, host, "booking.created", booking_event(booking))
    meetings.enqueue_push(hub, account_id)
    return booking_id


def cancel_booking(hub: Hub, booking_id: int) -> None:
    """Cancel a booking; its meeting is cancelled and the calendar event deleted through the outbox."""
    with hub.db.session() as s:
        booking = s.get(Booking, booking_id)
        if booking is None:
            raise ValidationError("This booking does not exist.", field="booking")
        booking.status = BookingStatus.CANCELLED
        meeting_id = booking.meeting_id
        events.record_for_user(s, booking.host_user_id, "booking.cancelled", booking_event(booking))
    if meeting_id is not None:
        meetings.delete_meeting(hub, meeting_id)


def booking_event(booking: Booking) -> dict:
    """What ``booking.*`` events say about a booking."""
    return {"booking_id": booking.id, "meeting_id": booking.meeting_id, "meeting_type_id": booking.meeting_type_id,
            "start": booking.start.isoformat(), "end": booking.end.isoformat(), "guest_email": booking.guest_email,
            "guest_name": booking.guest_name, "contact_id": booking.contact_id}


def _check_guest(name: str, email: str, tz: str | None) -> tuple[str, str]:
    """The guest's details through the one validator of public input (also what the API's schema uses)."""
    name = public_input.clean_text(name, "guest_name", "your name")
    address = public_input.clean_email(email, "guest_email")
    if tz and (len(tz) > public_input.MAX_ZONE or zone(tz).key != tz):
        raise ValidationError("Unknown time zone.", field="guest_timezone")
    return name, address


def lock_host(s: Session, host_id: int) -> None:
    """Serialize bookings of one host (PostgreSQL; SQLite's write lock already does).

    ``FOR NO KEY UPDATE``, not ``FOR UPDATE``: a sync job inserting rows that reference the host
    (meetings, events) takes ``FOR KEY SHARE`` on the user row for the foreign key, which ``FOR
    UPDATE`` blocks — a booking waiting on that job's calendar lock then deadlocks with it.
    """
    s.execute(sa.select(User.id).where(User.id == host_id).with_for_update(key_share=True))


def _target_calendar(s, meeting_type: MeetingType) -> Calendar:
    """The host's default calendar, which must be on a connected, working account."""
    calendar = default_calendar(s, meeting_type.user_id)
    if calendar is None or not usable(s.get(Account, calendar.account_id)):
        raise NotActive("This booking link is not active: the host's calendar is not connected.",
                        fix="Ask the host to reconnect their calendar, or for another link.")
    return calendar


def _check_slot(s, meeting_type: MeetingType, start: datetime, now: datetime) -> None:
    """Is ``start`` a slot the booking page would offer right now? Else SlotUnavailable."""
    answer = availability.compute(s, meeting_type, start, start + timedelta(seconds=1), now)
    if answer.limited:
        raise SlotUnavailable("This slot could not be confirmed: the host's availability is limited right now.")
    if start not in answer.slots:
        raise SlotUnavailable()


def _free_busy_targets(s, user_id: int) -> dict[int, list[str]]:
    """Conflict calendars (by account) whose provider can answer free/busy queries."""
    rows = s.execute(sa.select(Calendar.account_id, Calendar.remote_id).join(Account).where(
        Account.user_id == user_id, sa.or_(Calendar.is_conflict.is_(True), Calendar.is_default.is_(True)),
        Account.status != AccountStatus.DISCONNECTED)).all()
    out: dict[int, list[str]] = defaultdict(list)
    for account_id, remote_id in rows:
        out[account_id].append(remote_id)
    return out


def _confirm_with_providers(hub: Hub, targets: dict[int, list[str]], start: datetime, end: datetime) -> None:
    """Re-check [start, end) at each provider; busy, unreadable or unreachable → SlotUnavailable."""
    for account_id, calendar_ids in targets.items():
        handle = hub.account_handle(account_id)
        try:
            if not hub.plugins.provider(handle.provider).can("free_busy"):
                continue  # e.g. iCloud: its busy time is what the sync stored, checked under the lock
            answer = hub.plugins.call("hub_free_busy", account=handle, calendar_ids=calendar_ids, start=start, end=end)
        except HubError as exc:
            log.info("free/busy check failed for account %s: %s", account_id, type(exc).__name__)
            raise SlotUnavailable("This slot could not be confirmed with the host's calendar.",
                                  fix="Try again in a moment, or pick another time.") from exc
        if answer.errors:
            raise SlotUnavailable("This slot could not be confirmed with the host's calendar.",
                                  fix="Try again in a moment, or pick another time.")
        for intervals in answer.busy.values():
            if any(b.start < end and b.end > start for b in intervals):
                raise SlotUnavailable()
