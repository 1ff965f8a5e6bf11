"""CRM meetings: creating, editing and deleting them, and the rules that turn calendar events into them.

Public API — the CRM side (web UI, JSON API, bookings):

* :func:`create_meeting`, :func:`update_meeting`, :func:`delete_meeting` — change a meeting and, in
  the same transaction, write an :class:`~hub.models.OutboxEntry` for the calendar it lives on (the
  owner's default calendar for new meetings); the push job is enqueued after the commit.
  ``send_invites=False`` is "Save without inviting". A meeting that is over keeps its date and time.
* :func:`add_meeting`, :func:`move_in`, :func:`cancel_in` and :func:`queue_push` — the same inside a
  caller's transaction (bookings, under their host lock).

The calendar side, called by :mod:`hub.sync.calendar_pull` inside a page's transaction:

* :func:`on_event` — an event arrived or changed: link it to the meeting it belongs to, import it,
  or update the meeting;
* :func:`on_event_removed` — an event was deleted at the provider;
* :func:`event_for_meeting` — the :class:`~hub.types.RemoteEvent` the push sends for a meeting.

Import rules (docs/product-rules.md#meetings-from-calendar-events):

* an event with at least one participant besides the user and their colleagues (the mail rules of
  :mod:`hub.crm.matching`: aliases count as the user, anyone on an organization or user domain as a
  colleague; rooms do not count) becomes a meeting when its calendar imports meetings and syncs
  calendar → CRM, with the calendar's appointment type; a series counts when an occurrence falls in
  the sync window, however long ago it began;
  participants are matched through :mod:`hub.crm.matching` — unknown addresses give a participant
  without a contact;
* one meeting is identified by (iCalUID, organizer): the same meeting seen on two users' calendars is
  one CRM meeting. A second event with that iCalUID on the *same* calendar, or on another calendar of
  the same user at another time, is a copy (Outlook's "copy meeting" keeps the UID) and becomes its
  own meeting — it never overwrites the original. A copy whose organizer changed does not match at all;
* an event the hub pushed is recognised by its marker (the client id), even when the push crashed
  before its result was stored;
* remote changes update a meeting only through a calendar of the meeting's owner, and never move a
  meeting that is over; fields the CRM edited since the last push win over the calendar's (see the
  conflict policy in :mod:`hub.sync.calendar_pull`);
* a remote deletion cancels the meeting when the calendar propagates deletions and syncs calendar →
  CRM; otherwise it only unlinks the event (a later CRM edit then creates a new one);
* only meetings the user organizes are pushed ("edits by the organizer propagate").
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
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
from hub.sync.busy import occurs_between, to_utc, zone
from hub.sync.calendars import default_calendar
from hub.types import Participant, RemoteEvent, ResponseStatus

if TYPE_CHECKING:
    from hub.sync.calendar_pull import CalendarContext

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


def _visible_state(meeting: Meeting) -> dict[str, Any]:
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


# --- the calendar side ---------------------------------------------------------------------------------


@dataclass
class _Seen:
    """An incoming event's people, split into the user and everyone else."""

    people: list[Participant] = field(default_factory=list)
    others: list[Participant] = field(default_factory=list)


def _people(s: Session, ctx: "CalendarContext", event: RemoteEvent) -> _Seen:
    seen = _Seen()
    organizer = matching.normalize_email(event.organizer.email) if event.organizer else ""
    by_email: dict[str, Participant] = {}
    for p in ([event.organizer] if event.organizer else []) + list(event.attendees):
        email = matching.normalize_email(p.email)
        if not email:
            continue
        earlier = by_email.get(email)
        by_email[email] = Participant(email, p.name or (earlier.name if earlier else ""), p.response,
                                      organizer=email == organizer or p.organizer, optional=p.optional,
                                      resource=p.resource)
    seen.people = list(by_email.values())
    matches = matching.match_addresses(s, ctx.user_id, list(by_email))
    for p in seen.people:
        # the mail rules: the user (aliases included) and colleagues — registered users, and anyone on a
        # domain of the organization or of a user's address — do not make an event a CRM meeting
        internal = p.email in matches and matches[p.email].is_internal
        if not internal and p.email not in ctx.self_emails and not p.resource:
            seen.others.append(p)
    return seen


def on_events(s: Session, ctx: "CalendarContext", changed: list[tuple[CalendarEvent, RemoteEvent]]) -> Counter:
    """:func:`on_event` for a page of events, with what it looks up read in a few queries for the page.

    The meetings it imports are inserted together at the end (one flush), then linked to their rows.

    :return: counts of the outcomes.
    """
    outcomes: Counter = Counter()
    page = _PageMeetings(s, ctx, changed)
    for row, event in changed:
        outcome = on_event(s, ctx, row, event, page)
        if outcome:
            outcomes[outcome] += 1
    page.finish()
    return outcomes


def on_event(s: Session, ctx: "CalendarContext", row: CalendarEvent, event: RemoteEvent,
             page: "_PageMeetings | None" = None) -> str | None:
    """An event (a single event or a series master) arrived or changed on a synced calendar.

    :param page: the page's lookups (:func:`on_events`); without it, each is a query and an import is
        flushed at once.
    :return: what happened to the CRM: "imported", "linked", "updated", "delete queued" or ``None``.
    """
    page = page or _PageMeetings(s, ctx, [(row, event)])
    if row.meeting_id is None and event.hub_marker:
        pushed = page.pushed.get(event.hub_marker)
        if pushed is not None:  # our own event, whose push result was never stored (a crash)
            row.meeting_id, row.client_id = pushed, event.hub_marker
            page.linked(pushed, row)
    meeting = s.get(Meeting, row.meeting_id) if row.meeting_id else None
    if meeting is not None:
        if meeting.cancelled:
            return _ensure_deleted(s, ctx, meeting, row)
        if not ctx.pulls or meeting.owner_user_id != ctx.user_id:
            return None
        before = _visible_state(meeting)
        _apply_remote(s, ctx, meeting, event)
        after = _visible_state(meeting)
        changed = sorted(k for k in after if after[k] != before[k])
        if changed:  # a pull that only echoes the CRM's own push changes nothing and says nothing
            events.record_for_user(s, meeting.owner_user_id, "meeting.updated",
                                   {**meeting_event(meeting, "calendar"), "changed": changed})
        return "updated"
    if not (ctx.pulls and ctx.import_meetings):
        return None
    seen = _people(s, ctx, event)  # first: it costs a dictionary lookup, expanding a series far more
    if not seen.others:
        return None
    # a series begun before the window counts by its occurrences inside it
    current = (occurs_between(event, ctx.window.start, ctx.window.end, ctx.timezone) if event.recurrence
               else to_utc(event.end, zone(ctx.timezone)) > ctx.window.start)
    if not current:
        return None
    existing = _same_meeting(ctx, event, row, page)
    if existing is not None:
        row.meeting_id = existing
        page.linked(existing, row)
        return "linked"
    meeting = Meeting(owner_user_id=ctx.user_id, origin="calendar", appointment_type=ctx.appointment_type,
                      ical_uid=event.ical_uid, version=1,
                      organizer_email=matching.normalize_email(event.organizer.email) if event.organizer else None)
    s.add(meeting)
    _apply_remote(s, ctx, meeting, event, seen=seen, locked=frozenset())
    page.imported(meeting, row)
    if len(page.changed) == 1:
        page.finish()
    return "imported"


class _PageMeetings:
    """What :func:`on_event` looks up for a page of events, read at once, and the meetings it imports.

    Nothing in the page's import path queries the database, so the new meetings (and participants)
    wait in the session and go in with one flush (:meth:`finish`) instead of one per meeting.
    """

    def __init__(self, s: Session, ctx: "CalendarContext", changed: list[tuple[CalendarEvent, RemoteEvent]]):
        self.s, self.ctx, self.changed = s, ctx, changed
        self.new: list[tuple[Meeting, CalendarEvent]] = []
        markers = sorted({e.hub_marker for r, e in changed if r.meeting_id is None and e.hub_marker})
        self.pushed: dict[str, int] = {}
        for first in range(0, len(markers), 500):
            for client_id, meeting_id in s.execute(sa.select(OutboxEntry.client_id, OutboxEntry.meeting_id).where(
                    OutboxEntry.client_id.in_(markers[first:first + 500]), OutboxEntry.calendar_id == ctx.calendar_id,
                    OutboxEntry.meeting_id.is_not(None)).order_by(OutboxEntry.id)):
                self.pushed.setdefault(client_id, meeting_id)
        # the meetings already linked, loaded together (s.get then finds them in the session)
        linked = sorted({r.meeting_id for r, _e in changed if r.meeting_id})
        for first in range(0, len(linked), 500):
            s.scalars(sa.select(Meeting).where(Meeting.id.in_(linked[first:first + 500]))).all()
        # candidates for "the same meeting": (iCalUID, organizer) → meeting ids in id order, and each
        # one's links as (calendar, user, start)
        uids = sorted({e.ical_uid for _r, e in changed if e.ical_uid})
        self.candidates: dict[tuple[str, str | None], list[int]] = defaultdict(list)
        for first in range(0, len(uids), 500):
            for meeting_id, uid, organizer in s.execute(sa.select(Meeting.id, Meeting.ical_uid, Meeting.organizer_email)
                                                        .where(Meeting.ical_uid.in_(uids[first:first + 500]),
                                                               Meeting.cancelled.is_(False)).order_by(Meeting.id)):
                self.candidates[(uid, organizer)].append(meeting_id)
        ids = sorted({m for found in self.candidates.values() for m in found})
        self.links: dict[int, list[tuple[int, int, datetime | None]]] = defaultdict(list)
        for first in range(0, len(ids), 500):
            for meeting_id, calendar_id, user_id, start, start_date in s.execute(
                    sa.select(CalendarEvent.meeting_id, CalendarEvent.calendar_id, Account.user_id, CalendarEvent.start,
                              CalendarEvent.start_date)
                    .join(Calendar, Calendar.id == CalendarEvent.calendar_id)
                    .join(Account, Account.id == Calendar.account_id)
                    .where(CalendarEvent.meeting_id.in_(ids[first:first + 500]))):
                self.links[meeting_id].append((calendar_id, user_id, _link_start(start, start_date)))

    def linked(self, meeting_id: int, row: CalendarEvent) -> None:
        """``row`` (on this page's calendar) now shows ``meeting_id``."""
        self.links[meeting_id].append((self.ctx.calendar_id, self.ctx.user_id, _link_start(row.start, row.start_date)))

    def imported(self, meeting: Meeting, row: CalendarEvent) -> None:
        # no later event of the page can be "the same meeting" as this one: its only link is on this
        # page's calendar, which makes any other event with its UID here a copy
        self.new.append((meeting, row))

    def finish(self) -> None:
        """Insert the imported meetings, link their rows and record their ``meeting.created`` events."""
        if self.new:
            self.s.flush()
            created: dict[int, list[dict]] = defaultdict(list)
            for meeting, row in self.new:
                row.meeting_id = meeting.id
                owner = meeting.owner_user_id
                created[owner].append({**meeting_event(meeting, "calendar"), "user_id": owner})
            for owner, items in created.items():  # as events.record_for_user, for the page at once
                organization_id = self.s.scalar(sa.select(User.organization_id).where(User.id == owner))
                events.record_many(self.s, organization_id, "meeting.created", items)
            self.new.clear()


def _link_start(start: datetime | None, start_date: date | None) -> datetime | None:
    return start or (datetime.combine(start_date, time.min, timezone.utc) if start_date else None)


def _ensure_deleted(s: Session, ctx: "CalendarContext", meeting: Meeting, row: CalendarEvent) -> str | None:
    """The CRM deleted this meeting but its event is still there: queue the deletion (once)."""
    if not (ctx.pushes and ctx.propagate_deletions) or meeting.owner_user_id != ctx.user_id:
        return None
    pending = s.scalar(sa.select(sa.func.count(OutboxEntry.id)).where(
        OutboxEntry.meeting_id == meeting.id, OutboxEntry.calendar_id == ctx.calendar_id,
        OutboxEntry.done_at.is_(None)))
    if pending:
        return None
    s.add(OutboxEntry(account_id=ctx.account_id, calendar_id=ctx.calendar_id, meeting_id=meeting.id, op="delete",
                      client_id=row.client_id or client_id_for(s, meeting.id, ctx.calendar_id),
                      meeting_version=meeting.version, send_invites=True, payload={"fields": sorted(SYNCED_FIELDS)}))
    ctx.push_needed = True
    return "delete queued"


def pending_fields(s: Session, meeting_id: int) -> frozenset[str]:
    """Fields the CRM changed that are not pushed yet; ``{"*"}`` when a deletion is pending."""
    fields: set[str] = set()
    for op, payload in s.execute(sa.select(OutboxEntry.op, OutboxEntry.payload).where(
            OutboxEntry.meeting_id == meeting_id, OutboxEntry.done_at.is_(None))):
        fields |= {"*"} if op == "delete" else set((payload or {}).get("fields", SYNCED_FIELDS))
    return frozenset(fields)


def _apply_remote(s: Session, ctx: "CalendarContext", meeting: Meeting, event: RemoteEvent,
                  seen: _Seen | None = None, locked: frozenset[str] | None = None) -> None:
    """Copy the calendar's version into the meeting, except fields the CRM changed and has not pushed yet."""
    locked = pending_fields(s, meeting.id) if locked is None else locked
    if "*" in locked:
        return
    if "title" not in locked:
        meeting.title = event.summary or ""
    if "description" not in locked:
        meeting.description = event.description or ""
    if "location" not in locked:
        meeting.location = event.location or ""
    over = meeting.end is not None and meeting.end <= ctx.now
    if "time" not in locked and not over:
        tz = zone(event.timezone or ctx.timezone)
        meeting.all_day = bool(event.all_day)
        meeting.start, meeting.end = to_utc(event.start, timezone.utc if event.all_day else tz), \
            to_utc(event.end, timezone.utc if event.all_day else tz)
        meeting.timezone = event.timezone or meeting.timezone or ctx.timezone or "UTC"
    if "recurrence" not in locked:
        meeting.recurrence = list(event.recurrence or []) or None
    if "participants" not in locked:
        set_participants(s, meeting, (seen or _people(s, ctx, event)).people)
    if event.video_url:
        meeting.video_url = event.video_url
    meeting.ical_uid = meeting.ical_uid or event.ical_uid


def _same_meeting(ctx: "CalendarContext", event: RemoteEvent, row: CalendarEvent,
                  page: _PageMeetings) -> int | None:
    """The meeting this event is another view of — same iCalUID and organizer, and not a copy."""
    if not event.ical_uid:
        return None
    organizer = matching.normalize_email(event.organizer.email) if event.organizer else None
    start = to_utc(event.start, timezone.utc if event.all_day else zone(event.timezone or ctx.timezone))
    for meeting_id in page.candidates.get((event.ical_uid, organizer), []):
        links = page.links.get(meeting_id, [])
        if any(calendar_id == ctx.calendar_id for calendar_id, _user, _start in links):
            continue  # a second event with this UID on one calendar: a copy
        if any(user_id == ctx.user_id and link_start != start for _calendar, user_id, link_start in links):
            continue  # the same user's other calendar has it at another time: a copy
        return meeting_id
    return None


def on_event_removed(s: Session, ctx: "CalendarContext", row: CalendarEvent) -> str | None:
    """An event linked (maybe) to a meeting was deleted at the provider.

    :return: "cancelled" when the meeting was cancelled, "unlinked" when only the link went, else ``None``.
    """
    if row.meeting_id is None or row.recurring_event_id:
        return None
    meeting_id, row.meeting_id = row.meeting_id, None
    return deleted_in_calendar(s, ctx, meeting_id)


def deleted_in_calendar(s: Session, ctx: "CalendarContext", meeting_id: int) -> str | None:
    """The deletion rules for a meeting whose event on ``ctx``'s calendar is gone."""
    meeting = s.get(Meeting, meeting_id)
    if meeting is None or meeting.cancelled:
        return None
    if ctx.pulls and ctx.propagate_deletions and meeting.owner_user_id == ctx.user_id:
        meeting.cancelled = True
        # a CRM edit still waiting loses against the deletion (see hub.sync.calendar_push's policy)
        s.execute(sa.update(OutboxEntry).where(OutboxEntry.meeting_id == meeting.id, OutboxEntry.done_at.is_(None))
                  .values(done_at=ctx.now, last_error="The event was deleted in the calendar."))
        events.record_for_user(s, meeting.owner_user_id, "meeting.cancelled", meeting_event(meeting, "calendar"))
        return "cancelled"
    return "unlinked"
