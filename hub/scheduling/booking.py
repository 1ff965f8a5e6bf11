"""Booking a slot of a meeting type — never a double booking.

Public API:

* :func:`book` — book a slot for a guest (answers to the type's questions as keyword); returns the
  booking id (rescheduling and cancelling: :mod:`hub.scheduling.self_service`).

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

Team types (:mod:`hub.scheduling.teams`): step 2 asks every free host's providers; step 3 locks those
hosts (in user-id order, so two team bookings never deadlock) and re-checks each. Round-robin then
gives the booking to the member :func:`hub.scheduling.teams.pick` chooses among those still free — a
racing guest, serialized behind the lock, sees that booking and gets another member or nothing. A
collective type needs every host free; its one event goes on the owner's default calendar with the
members invited, and each member is recorded as a host of the booking (busy for its time).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping

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
    BookingHost,
    BookingStatus,
    Calendar,
    Contact,
    MeetingType,
    User,
    utcnow,
)
from hub.scheduling import availability, notifications, questions, teams
from hub.sync.busy import zone
from hub.sync.calendars import default_calendar, usable
from hub.types import Participant

log = logging.getLogger(__name__)


def book(hub: Hub, slug: str, start: datetime, guest_name: str, guest_email: str,
         guest_timezone: str | None = None, now: datetime | None = None, *,
         answers: Mapping[str, Any] | None = None) -> int:
    """Book the slot of meeting type ``slug`` starting at ``start`` for a guest.

    :param answers: the guest's raw answers to the type's questions (``q_<key>`` or ``<key>``).
    :return: the booking id.
    :raises ValidationError: bad guest details or answers, or an unknown link.
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
        given = questions.clean_answers(meeting_type.questions, answers or {})
        if meeting_type.kind != "round_robin":
            target_calendar(s, meeting_type.user_id)
        candidates = free_hosts(s, meeting_type, start, now)
        end = start + timedelta(minutes=meeting_type.duration_minutes)
        margin = (timedelta(minutes=meeting_type.buffer_before_minutes),
                  timedelta(minutes=meeting_type.buffer_after_minutes))
        checks = {uid: free_busy_targets(s, uid) for uid in candidates}
    confirmed = _confirm_hosts(hub, meeting_type.kind, checks, start - margin[0], end + margin[1])
    with hub.db.session(write_lock=True) as s:
        for uid in sorted(confirmed):  # one order for every booking: two team bookings never deadlock
            lock_host(s, uid)
        meeting_type = s.get(MeetingType, meeting_type.id)
        if meeting_type is None or not meeting_type.active:
            raise NotActive("This booking link is not active.")
        free_now = [h for h in free_hosts(s, meeting_type, start, now).values() if h.user_id in confirmed]
        if meeting_type.kind == "round_robin":
            if not free_now:
                raise SlotUnavailable()
            host = teams.pick(s, meeting_type, free_now, now).user_id
            others: list[int] = []
        else:
            host = meeting_type.user_id
            others = [h.user_id for h in free_now if h.user_id != host]
        calendar = target_calendar(s, host)
        match = matching.match_addresses(s, host, [guest_email]).get(guest_email)
        contact_id = None
        if match is None or match.kind not in ("self", "colleague"):
            contact_id = matching.ensure_contact(s, guest_email, guest_name, source="booking", user_id=host)
        colleagues = [Participant(u.email, u.name) for u in s.scalars(sa.select(User).where(User.id.in_(others)))]
        description = "\n\n".join(filter(None, (f"Booked through the “{meeting_type.name}” booking page.",
                                                 questions.describe(given))))
        meeting = meetings.add_meeting(
            s, host, f"{meeting_type.name} with {guest_name}", start, end,
            attendees=[Participant(guest_email, guest_name), *colleagues], timezone_name=meeting_type.timezone,
            want_video=meeting_type.want_video, origin="booking", description=description)
        booking = Booking(meeting_type_id=meeting_type.id, host_user_id=host, start=start, end=end,
                          guest_name=guest_name, guest_email=guest_email, guest_timezone=guest_timezone,
                          status=BookingStatus.CONFIRMED, meeting_id=meeting.id, contact_id=contact_id,
                          account_id=calendar.account_id, answers=given or None)
        s.add(booking)
        s.flush()
        s.add_all(BookingHost(booking_id=booking.id, user_id=uid) for uid in others)
        if contact_id is not None and given:
            contact = s.get(Contact, contact_id)
            contact.booking_answers = {**(contact.booking_answers or {}), **{a["label"]: a["answer"] for a in given}}
        account_id = meetings.queue_push(s, meeting, "create", meetings.SYNCED_FIELDS, send_invites=True)
        s.flush()
        booking_id = booking.id
        if contact_id is not None and (match is None or match.kind == "external_unknown"):
            events.contact_created(s, contact_id, host, "booking")
        events.record_for_user(s, host, "meeting.created", meetings.meeting_event(meeting))
        events.record_for_user(s, host, "booking.created", booking_event(booking))
    meetings.enqueue_push(hub, account_id)
    notifications.announce(hub, booking_id, 1)
    return booking_id


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


def target_calendar(s, user_id: int) -> Calendar:
    """The host's default calendar, which must be on a connected, working account."""
    calendar = default_calendar(s, user_id)
    if calendar is None or not usable(s.get(Account, calendar.account_id)):
        raise NotActive("This booking link is not active: the host's calendar is not connected.",
                        fix="Ask the host to reconnect their calendar, or for another link.")
    return calendar


def free_hosts(s, meeting_type: MeetingType, start: datetime, now: datetime) -> dict[int, teams.Host]:
    """The hosts free at ``start`` — all of them for a single or collective type, else SlotUnavailable —
    with exactly the rules the booking page uses. A round-robin member without a connected default
    calendar cannot host."""
    answer = availability.compute(s, meeting_type, start, start + timedelta(seconds=1), now)
    if start not in answer.slots:
        if answer.limited:
            raise SlotUnavailable("This slot could not be confirmed: the host's availability is limited right now.")
        raise SlotUnavailable()
    hosts = {h.user_id: h for h in teams.hosts(s, meeting_type) if start in answer.hosts.get(h.user_id, ())}
    if meeting_type.kind == "round_robin":
        hosts = {uid: h for uid, h in hosts.items() if teams.can_host(s, uid)}
        if not hosts:
            raise SlotUnavailable()
    return hosts


def _confirm_hosts(hub: Hub, kind: str, checks: dict[int, dict[int, list[str]]], start: datetime,
                   end: datetime) -> set[int]:
    """The hosts whose providers confirm [start, end) free. Round-robin keeps whoever confirms (none:
    SlotUnavailable); a single or collective type needs every host."""
    confirmed, failure = set(), None
    for uid, targets in checks.items():
        try:
            confirm_with_providers(hub, targets, start, end)
        except SlotUnavailable as exc:
            if kind != "round_robin":
                raise
            failure = exc
        else:
            confirmed.add(uid)
    if not confirmed:
        raise failure or SlotUnavailable()
    return confirmed


def free_busy_targets(s, user_id: int) -> dict[int, list[str]]:
    """Conflict calendars (by account) whose provider can answer free/busy queries."""
    rows = s.execute(sa.select(Calendar.account_id, Calendar.remote_id).join(Account).where(
        Account.user_id == user_id, sa.or_(Calendar.is_conflict.is_(True), Calendar.is_default.is_(True)),
        Account.status != AccountStatus.DISCONNECTED)).all()
    out: dict[int, list[str]] = defaultdict(list)
    for account_id, remote_id in rows:
        out[account_id].append(remote_id)
    return out


def confirm_with_providers(hub: Hub, targets: dict[int, list[str]], start: datetime, end: datetime,
                            own: tuple[datetime, datetime] | None = None) -> None:
    """Re-check [start, end) at each provider; busy, unreadable or unreachable → SlotUnavailable.

    :param own: a rescheduled booking's current time: busy time inside it is the booking's own event.
    """
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
            if any(b.start < end and b.end > start and not (own and own[0] <= b.start and b.end <= own[1])
                   for b in intervals):
                raise SlotUnavailable()
