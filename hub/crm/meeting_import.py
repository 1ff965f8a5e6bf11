"""What calendar events do to CRM meetings: the calendar side of :mod:`hub.crm.meetings`.

Called by :mod:`hub.sync.calendar_pull` (and the push's conflict handling) inside a page's transaction:

* :func:`on_event` — an event arrived or changed: link it to the meeting it belongs to, import it,
  or update the meeting;
* :func:`on_event_removed` — an event was deleted at the provider;


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

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hub import events
from hub.crm import matching
from hub.models import (
    Account,
    Calendar,
    CalendarEvent,
    Meeting,
    OutboxEntry,
    User,
)
from hub.sync.busy import occurs_between, to_utc, zone
from hub.types import Participant, RemoteEvent

if TYPE_CHECKING:
    from hub.sync.calendar_pull import CalendarContext
from hub.crm.meetings import SYNCED_FIELDS, client_id_for, meeting_event, set_participants, visible_state


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
        before = visible_state(meeting)
        _apply_remote(s, ctx, meeting, event)
        after = visible_state(meeting)
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
