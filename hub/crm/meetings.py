"""CRM meetings: creating, editing and deleting them, and the rules that turn calendar events into them.

Public API — the CRM side (web UI, JSON API, bookings):

* :func:`create_meeting`, :func:`update_meeting`, :func:`delete_meeting` — change a meeting and, in
  the same transaction, write an :class:`~hub.models.OutboxEntry` for the calendar it lives on (the
  owner's default calendar for new meetings); the push job is enqueued after the commit.
  ``send_invites=False`` is "Save without inviting". A meeting that is over keeps its date and time.
* :func:`add_meeting`, :func:`move_in`, :func:`cancel_in` and :func:`queue_push` — the same inside a
  caller's transaction (bookings, under their host lock).

* :func:`event_for_meeting` — the :class:`~hub.types.RemoteEvent` the push sends for a meeting.

What the calendar side does with events (import, update, cancel) is :mod:`hub.crm.meeting_import`.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta, timezone
from typing import TYPE_CHECKING, Any, Iterable, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hub import events, work
from hub.core import Hub
from hub.crm import matching
from hub.exceptions import ValidationError
from hub.models import (
    Account,
    AccountStatus,
    Calendar,
    CalendarEvent,
    Meeting,
    MeetingParticipant,
    OutboxEntry,
    SyncDirection,
    User,
    UserAlias,
    utcnow,
)
from hub.sync.busy import zone
from hub.sync.calendars import default_calendar
from hub.types import Participant, RemoteEvent, ResponseStatus

if TYPE_CHECKING:
    pass

#: the fields a CRM edit can change, as recorded in the outbox (``payload["fields"]``)
SYNCED_FIELDS = frozenset({"title", "description", "location", "time", "recurrence", "participants"})
_TIME_KEYS = ("start", "end", "all_day", "timezone")
_FIELD_OF = {"title": "title", "description": "description", "location": "location", "recurrence": "recurrence",
             "attendees": "participants", **{k: "time" for k in _TIME_KEYS}}


# --- the CRM side ------------------------------------------------------------------------------------


def create_meeting(hub: Hub, user_id: int, title: str, start: datetime | date, end: datetime | date, *,
                   attendees: Iterable[Participant | str] = (), description: str = "", location: str = "",
                   timezone_name: str | None = None, all_day: bool = False, recurrence: list[str] | None = None,
                   want_video: bool = False, appointment_type: str | None = None,
                   send_invites: bool = True) -> int:
    """Create a CRM meeting owned by ``user_id`` and queue it for the user's default calendar.

    :param attendees: addresses or :class:`~hub.types.Participant` (the organizer is added).
    :param timezone_name: IANA zone of the meeting (default: the user's).
    :param send_invites: False is "Save without inviting": the event is created silently.
    :return: the meeting id.
    :raises ValidationError: bad times, zone or addresses.
    """
    with hub.db.session(write_lock=True) as s:
        meeting = add_meeting(s, user_id, title, start, end, attendees=attendees, description=description,
                              location=location, timezone_name=timezone_name, all_day=all_day,
                              recurrence=recurrence, want_video=want_video, appointment_type=appointment_type)
        account_id = queue_push(s, meeting, "create", SYNCED_FIELDS, send_invites)
        meeting_id = meeting.id
        events.record_for_user(s, user_id, "meeting.created", meeting_event(meeting))
    enqueue_push(hub, account_id)
    return meeting_id


def update_meeting(hub: Hub, meeting_id: int, *, send_invites: bool = True, now: datetime | None = None,
                   **changes: Any) -> None:
    """Edit a meeting: ``title``, ``description``, ``location``, ``start``, ``end``, ``all_day``,
    ``timezone``, ``recurrence``, ``attendees``, ``appointment_type``, ``want_video``.

    :raises ValidationError: an unknown field, bad values, or a date/time change of a meeting that is over.
    """
    now = now or utcnow()
    allowed = set(_FIELD_OF) | {"appointment_type", "want_video"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationError(f"Meetings have no field {sorted(unknown)[0]!r}.", field=sorted(unknown)[0])
    with hub.db.session(write_lock=True) as s:
        meeting = _meeting(s, meeting_id)
        if meeting.cancelled:
            raise ValidationError("This meeting was deleted.", fix="Create a new meeting instead.", field="meeting")
        if any(k in changes for k in _TIME_KEYS) and meeting.end is not None and meeting.end <= now:
            raise ValidationError("This meeting is over, so its date and time can no longer change.",
                                  fix="Create a new meeting instead.", field="start")
        times = {k: changes.get(k, getattr(meeting, k)) for k in _TIME_KEYS}
        if "start" in changes or "end" in changes or "all_day" in changes:
            times["start"], times["end"] = _times(changes.get("start", meeting.start), changes.get("end", meeting.end),
                                                  times["all_day"])
        for key in ("title", "description", "location", "appointment_type", "want_video"):
            if key in changes:
                setattr(meeting, key, changes[key] if key != "title" else (changes[key] or "").strip())
        if any(k in changes for k in _TIME_KEYS):
            meeting.start, meeting.end, meeting.all_day = times["start"], times["end"], bool(times["all_day"])
            meeting.timezone = _zone_name(times["timezone"])
        if "recurrence" in changes:
            meeting.recurrence = list(changes["recurrence"] or []) or None
        if "attendees" in changes:
            people = [_participant(p) for p in changes["attendees"]]
            organizer = next((p for p in meeting.participants if p.organizer), None)
            if organizer is not None and organizer.email not in {p.email for p in people}:
                people.insert(0, Participant(organizer.email, organizer.name, "accepted", organizer=True))
            set_participants(s, meeting, people)
        fields = {_FIELD_OF[k] for k in changes if k in _FIELD_OF}
        account_id = None
        if fields:  # the version counts what calendars see; CRM-only fields do not bump it
            meeting.version += 1
            account_id = queue_push(s, meeting, "update", fields, send_invites)
        events.record_for_user(s, meeting.owner_user_id, "meeting.updated",
                               {**meeting_event(meeting), "changed": sorted(changes)})
    enqueue_push(hub, account_id)


def delete_meeting(hub: Hub, meeting_id: int, *, send_invites: bool = True) -> None:
    """Cancel a meeting in the CRM and queue the deletion of its calendar event."""
    with hub.db.session(write_lock=True) as s:
        account_id = cancel_in(s, _meeting(s, meeting_id), send_invites)
    enqueue_push(hub, account_id)


def cancel_in(s: Session, meeting: Meeting, send_invites: bool = True) -> int | None:
    """:func:`delete_meeting` inside the caller's transaction (a booking's cancel); returns the account to push."""
    if meeting.cancelled:
        return None
    meeting.cancelled = True
    meeting.version += 1
    account_id = queue_push(s, meeting, "delete", SYNCED_FIELDS, send_invites)
    events.record_for_user(s, meeting.owner_user_id, "meeting.cancelled", meeting_event(meeting))
    return account_id


def move_in(s: Session, meeting: Meeting, start: datetime, end: datetime, send_invites: bool = True) -> int | None:
    """Move a meeting to [start, end) inside the caller's transaction (a booking's reschedule, under its
    lock); returns the account to push."""
    meeting.start, meeting.end = _times(start, end, False)
    meeting.version += 1
    account_id = queue_push(s, meeting, "update", {"time"}, send_invites)
    events.record_for_user(s, meeting.owner_user_id, "meeting.updated",
                           {**meeting_event(meeting), "changed": ["end", "start"]})
    return account_id


def meeting_event(meeting: Meeting, changed_in: str = "crm") -> dict:
    """What ``meeting.*`` events say about a meeting.

    :param changed_in: where the change was made: "crm" (the UI, the API, a booking) or "calendar"
        (a pull found it), so the host CRM can tell its own edits' echo from the user's.
    """
    return {"meeting_id": meeting.id, "title": meeting.title,
            "start": meeting.start.isoformat() if meeting.start else None,
            "end": meeting.end.isoformat() if meeting.end else None, "origin": meeting.origin,
            "changed_in": changed_in}


def visible_state(meeting: Meeting) -> dict[str, Any]:
    """What the CRM shows of a meeting, to tell whether a pull changed anything (``meeting.updated``)."""
    return {"title": meeting.title, "description": meeting.description, "location": meeting.location,
            "start": meeting.start, "end": meeting.end, "all_day": meeting.all_day, "timezone": meeting.timezone,
            "recurrence": list(meeting.recurrence or []), "video_url": meeting.video_url,
            "attendees": sorted((p.email, p.response or "", bool(p.organizer)) for p in meeting.participants)}


def enqueue_push(hub: Hub, account_id: int | None) -> None:
    """Enqueue the push job of ``account_id`` (after the commit that wrote its outbox entry)."""
    if account_id is not None:
        work.enqueue_push(hub, account_id)


def _meeting(s: Session, meeting_id: int) -> Meeting:
    meeting = s.get(Meeting, meeting_id)
    if meeting is None:
        raise ValidationError("This meeting does not exist.", field="meeting")
    return meeting


def add_meeting(s: Session, owner_user_id: int, title: str, start: datetime | date, end: datetime | date, *,
                attendees: Iterable[Participant | str] = (), description: str = "", location: str = "",
                timezone_name: str | None = None, all_day: bool = False, recurrence: list[str] | None = None,
                want_video: bool = False, appointment_type: str | None = None, origin: str = "crm") -> Meeting:
    """Insert a meeting with its organizer and participants (no outbox entry: see :func:`queue_push`)."""
    user = s.get(User, owner_user_id)
    if user is None:
        raise ValidationError("This user does not exist.", field="user")
    start_utc, end_utc = _times(start, end, all_day)
    calendar = default_calendar(s, owner_user_id)
    organizer = (calendar.account.email if calendar is not None else user.email).lower()
    meeting = Meeting(owner_user_id=owner_user_id, title=(title or "").strip(), description=description or "",
                      location=location or "", start=start_utc, end=end_utc, all_day=all_day,
                      timezone=_zone_name(timezone_name or user.timezone), recurrence=list(recurrence or []) or None,
                      want_video=want_video, appointment_type=appointment_type, origin=origin,
                      organizer_email=organizer, version=1)
    s.add(meeting)
    people = [Participant(organizer, user.name, "accepted", organizer=True)]
    people += [p for p in (_participant(a) for a in attendees) if p.email != organizer]
    set_participants(s, meeting, people)
    s.flush()
    return meeting


def queue_push(s: Session, meeting: Meeting, op: str, fields: Iterable[str], send_invites: bool = True) -> int | None:
    """Write the outbox entry that brings ``meeting``'s change to its calendar, in the caller's transaction.

    :return: the account to push, or ``None`` when nothing is to be pushed (no connected default
        calendar, a calendar → CRM only calendar, deletions not propagated, or a meeting someone else
        organizes).
    """
    s.flush()
    calendar = push_calendar(s, meeting)
    if calendar is None or calendar.sync_direction == SyncDirection.FROM_CALENDAR:
        return None
    if op == "delete" and not calendar.propagate_deletions:
        return None
    if meeting.organizer_email and meeting.organizer_email not in self_addresses(s, meeting.owner_user_id):
        return None
    s.add(OutboxEntry(account_id=calendar.account_id, calendar_id=calendar.id, meeting_id=meeting.id, op=op,
                      client_id=client_id_for(s, meeting.id, calendar.id), meeting_version=meeting.version,
                      send_invites=send_invites, payload={"fields": sorted(set(fields))}))
    return calendar.account_id


def push_calendar(s: Session, meeting: Meeting) -> Calendar | None:
    """The calendar a meeting's CRM changes go to: the owner's calendar holding it, else their default."""
    linked = s.scalar(sa.select(Calendar).join(CalendarEvent, CalendarEvent.calendar_id == Calendar.id)
                      .join(Account, Account.id == Calendar.account_id)
                      .where(CalendarEvent.meeting_id == meeting.id, CalendarEvent.recurring_event_id.is_(None),
                             Account.user_id == meeting.owner_user_id,
                             Account.status != AccountStatus.DISCONNECTED)
                      .order_by(Calendar.is_default.desc()).limit(1))
    return linked or default_calendar(s, meeting.owner_user_id)


def client_id_for(s: Session, meeting_id: int, calendar_id: int) -> str:
    """The stable idempotency key of a meeting's event on a calendar.

    The event's own (once pushed), else that of a create still pending — so a create retried after a
    crash reuses it — else a new one (letters a–v and digits: valid as a Google event id too).
    """
    linked = s.scalar(sa.select(CalendarEvent.client_id).where(
        CalendarEvent.meeting_id == meeting_id, CalendarEvent.calendar_id == calendar_id,
        CalendarEvent.client_id.is_not(None)).limit(1))
    if linked:
        return linked
    pending = s.scalar(sa.select(OutboxEntry.client_id).where(
        OutboxEntry.meeting_id == meeting_id, OutboxEntry.calendar_id == calendar_id,
        OutboxEntry.done_at.is_(None)).order_by(OutboxEntry.id).limit(1))
    return pending or new_client_id()


def new_client_id() -> str:
    """A fresh idempotency key for a meeting's event on one calendar."""
    return "hub" + uuid.uuid4().hex


def self_addresses(s: Session, user_id: int) -> set[str]:
    """Every address of the user: login, aliases and connected accounts (lower case)."""
    rows = s.execute(sa.union_all(
        sa.select(User.email).where(User.id == user_id),
        sa.select(UserAlias.email).where(UserAlias.user_id == user_id),
        sa.select(Account.email).where(Account.user_id == user_id),
    )).scalars()
    return {matching.normalize_email(e) for e in rows}


def set_participants(s: Session, meeting: Meeting, people: list[Participant]) -> None:
    """Make the meeting's participants exactly ``people``, matched to users, contacts and companies."""
    unique: dict[str, Participant] = {}
    for p in people:
        email = matching.normalize_email(p.email)
        if email and (email not in unique or p.organizer):
            unique[email] = p
    matches = matching.match_addresses(s, meeting.owner_user_id, list(unique))
    current = {p.email: p for p in meeting.participants}
    for email, person in unique.items():
        found = matches.get(email)
        row = current.pop(email, None)
        if row is None:
            row = MeetingParticipant(email=email)
            meeting.participants.append(row)
        row.name = person.name or row.name or ""
        row.response = person.response or "needsAction"
        row.organizer = bool(person.organizer)
        row.contact_id = found.contact_id if found else None
        row.company_id = found.company_id if found else None
        row.user_id = found.user_id if found else None
    for row in current.values():
        meeting.participants.remove(row)


def _participant(value: Participant | str | dict) -> Participant:
    if isinstance(value, Participant):
        person = value
    elif isinstance(value, dict):
        person = Participant(**value)
    else:
        person = Participant(str(value))
    email = matching.normalize_email(person.email)
    if not matching.domain_of(email) or not email.partition("@")[0]:
        raise ValidationError(f"{person.email!r} is not an email address.", field="attendees")
    return Participant(email, person.name, person.response, person.organizer, person.optional, person.resource)


def _zone_name(name: str | None) -> str:
    name = name or "UTC"
    if zone(name).key != name and name != "UTC":
        raise ValidationError(f"Unknown time zone {name!r}.", fix="Use an IANA zone such as Europe/Berlin.",
                              field="timezone")
    return name


def _times(start: datetime | date, end: datetime | date, all_day: bool) -> tuple[datetime, datetime]:
    """UTC start and end; all-day meetings are stored from midnight UTC of their dates (end exclusive)."""
    def one(value, name):
        if value is None:
            raise ValidationError(f"The {name} is missing.", field=name)
        if all_day:
            day = value.date() if isinstance(value, datetime) else value
            return datetime.combine(day, time.min, timezone.utc)
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise ValidationError(f"The {name} needs a date, a time and a time zone.", field=name)
        return value.astimezone(timezone.utc)

    start_utc, end_utc = one(start, "start"), one(end, "end")
    if all_day and end_utc == start_utc:
        end_utc = start_utc + timedelta(days=1)
    if end_utc <= start_utc:
        raise ValidationError("A meeting must end after it starts.", field="end")
    return start_utc, end_utc


# --- what the push sends -------------------------------------------------------------------------------


def _response(value: str) -> ResponseStatus:
    """A stored participant's answer as the contract spells it (the column holds only these four)."""
    return cast(ResponseStatus, value)


def event_for_meeting(meeting: Meeting, client_id: str, remote_id: str = "") -> RemoteEvent:
    """The event the hub writes to a calendar for ``meeting``."""
    tz = zone(meeting.timezone)
    if meeting.all_day:
        start, end = meeting.start.date(), meeting.end.date()
    else:
        start, end = meeting.start.astimezone(tz), meeting.end.astimezone(tz)
    people = sorted(meeting.participants, key=lambda p: (not p.organizer, p.email))
    organizer = next((p for p in people if p.organizer), None)
    return RemoteEvent(
        remote_id=remote_id, start=start, end=end, summary=meeting.title, description=meeting.description or "",
        location=meeting.location or "", all_day=meeting.all_day, timezone=meeting.timezone,
        recurrence=list(meeting.recurrence or []), ical_uid=meeting.ical_uid, video_url=meeting.video_url,
        organizer=Participant(organizer.email, organizer.name, _response(organizer.response), organizer=True)
        if organizer else None,
        attendees=[Participant(p.email, p.name, _response(p.response), organizer=p.organizer) for p in people],
        hub_marker=client_id,
    )
