"""Busy time, expanded at sync time: calendar events → :class:`~hub.models.BusyBlock` rows.

Public API:

* :func:`blocks` — the busy intervals (UTC) of one event or one recurring series inside a window;
* :func:`occurs_between` — whether any occurrence of an event or series falls inside a window;
* :func:`is_blocking` — whether one event makes its owner busy at all;
* :func:`replace_blocks` — swap the stored blocks of an event row for new ones;
* :func:`block_rows` — BusyBlock rows (with their epoch-second copies) for some intervals.

Algorithm: availability must never parse iCalendar per request (docs/architecture.md, "Why
availability reads stored busy time"), so the sync engine calls :func:`blocks` whenever an event (or
any exception of a series) changes and stores the result.
A recurring master's occurrences come from :func:`hub.sync.series.occurrences` — its RRULE/EXDATE/RDATE
lines with DTSTART in its zone (and the zone's own VTIMEZONE when it has no IANA name), every
exception's RECURRENCE-ID left out like an EXDATE — lazily and at most ``max_occurrences`` per series.
Exceptions (moved occurrences) then block their own times.

RFC 5545 points the hub decides itself rather than take from the library:

* §3.8.5.3 — every occurrence of a series lasts the *exact* duration of DTSTART–DTEND; the library
  keeps the wall-clock end, which makes a 02:30–03:30 occurrence zero-length on a spring-forward day;
* §3.3.5 — a nonexistent local start (in a DST gap) is read with the offset before the gap, an
  ambiguous one (in the overlap) as its first occurrence — Python's ``fold=0`` does both;
* §3.3.4 / §3.3.5 — dates and floating times belong to the calendar's zone (the calendar's own,
  else its owner's), never silently to UTC.

Occurrences that do not block time (cancelled, transparent/"free", declined by the user) never appear.
"""

from __future__ import annotations

import logging
import math
from datetime import datetime
from typing import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hub.models import BusyBlock
from hub.sync.series import occurrences, span
from hub.timezones import to_utc, zone
from hub.types import RemoteEvent

log = logging.getLogger(__name__)

Interval = tuple[datetime, datetime]

#: occurrences expanded per series and sync at most (``FREQ=MINUTELY`` must not write 100,000 rows)
MAX_OCCURRENCES = 2000


class Intervals(list):
    """Busy intervals, sorted; ``capped`` says a series had more occurrences than were expanded, ``problem``
    why its rule could not be expanded (only its first occurrence blocks time then)."""

    capped: bool = False
    problem: str | None = None


def is_blocking(event: RemoteEvent, self_emails: Iterable[str] = ()) -> bool:
    """True when ``event`` makes its calendar's owner busy.

    Transparent ("free", "working elsewhere") and cancelled events do not; neither does an
    invitation the user declined.
    """
    if event.transparent or event.status == "cancelled":
        return False
    mine = {e.lower() for e in self_emails}
    return not any(a.email.lower() in mine and a.response == "declined" for a in event.attendees)


def blocks(master: RemoteEvent | None, exceptions: list[RemoteEvent], start: datetime, end: datetime,
           calendar_tz: str | None = None, self_emails: Iterable[str] = (),
           max_occurrences: int = MAX_OCCURRENCES) -> Intervals:
    """Busy intervals of one event or series overlapping [start, end), in UTC, sorted.

    :param master: the single event or the recurring master (``None`` when only exceptions of an
        unknown series arrived — they then count as single events).
    :param exceptions: modified or cancelled occurrences of ``master`` (``recurring_event_id`` set).
    :param calendar_tz: zone for all-day events and for times without a zone.
    :param self_emails: the calendar owner's addresses, to leave out declined invitations.
    :param max_occurrences: a series is expanded up to this many occurrences (``capped`` is set then).
    """
    self_emails = list(self_emails)
    cal_zone = zone(calendar_tz)
    out = Intervals()
    singles = list(exceptions) + ([master] if master is not None and not master.recurrence else [])
    out += [span(e, cal_zone) for e in singles if is_blocking(e, self_emails)]
    if master is not None and master.recurrence and is_blocking(master, self_emails):
        skipped = [e.original_start for e in exceptions if e.original_start is not None]
        try:
            for i, interval in enumerate(occurrences(master, skipped, start, end, cal_zone)):
                if i >= max_occurrences:
                    out.capped = True
                    log.warning("recurring event %s has more than %d occurrences in the window; expanded %d",
                                master.remote_id, max_occurrences, max_occurrences)
                    break
                out.append(interval)
        except (ValueError, KeyError, TypeError) as exc:  # a malformed rule must not stop the sync: fail closed
            log.warning("cannot expand recurring event %s (%s); counting its first occurrence only",
                        master.remote_id, exc)
            out.problem = f"{str(exc)[:160]}; only its first occurrence blocks time"
            out.append(span(master, cal_zone))
    # a zero-length occurrence takes up no time (RFC 5545 §3.6.1), so it blocks nothing
    out[:] = sorted(i for i in out if i[0] < end and i[1] > start and i[0] < i[1])
    return out


def occurs_between(event: RemoteEvent, start: datetime, end: datetime, calendar_tz: str | None = None) -> bool:
    """Whether any occurrence of ``event`` (a single event or a series master) overlaps [start, end)."""
    cal_zone = zone(calendar_tz)
    if not event.recurrence:
        begin, finish = span(event, cal_zone)
        return begin < end and finish > start
    try:
        return next(iter(occurrences(event, [], start, end, cal_zone)), None) is not None
    except (ValueError, KeyError, TypeError):
        return to_utc(event.start, cal_zone) < end


def block_rows(user_id: int, calendar_id: int, event_id: int | None, intervals: Iterable[Interval]) -> list[dict]:
    """BusyBlock rows for ``intervals``; the epoch-second copies round outwards (fail closed)."""
    return [{"user_id": user_id, "calendar_id": calendar_id, "event_id": event_id, "start": s, "end": e,
             "start_ts": math.floor(s.timestamp()), "end_ts": math.ceil(e.timestamp())} for s, e in intervals]


def replace_blocks(session: Session, user_id: int, calendar_id: int, owner_ids: Iterable[int],
                   new: dict[int, list[Interval]]) -> int:
    """Delete the blocks of the event rows ``owner_ids`` and insert ``new`` (event row id → intervals).

    :return: how many blocks were written.
    """
    owner_ids = list(owner_ids)
    if owner_ids:
        session.execute(sa.delete(BusyBlock).where(BusyBlock.event_id.in_(owner_ids)))
    rows = [row for event_id, intervals in new.items() for row in block_rows(user_id, calendar_id, event_id, intervals)]
    if rows:
        session.execute(sa.insert(BusyBlock.__table__), rows)  # Core: no ORM bookkeeping for plain rows
    return len(rows)
