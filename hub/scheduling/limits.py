"""Limits and overrides of a meeting type: other hours (or a day off) on one date, and at most so many
bookings per host and day.

Public API:

* :func:`hours_on` — the hours of one date: the date's override when there is one, else the weekday's;
* :func:`full_days` — the days (in the type's zone) on which a host has reached ``max_per_day``;
* :func:`parse_overrides` — the form's or the API's overrides, checked;
* :func:`overrides_text` — overrides as the form shows them.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any, Mapping

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hub.exceptions import ValidationError
from hub.models import Booking, BookingHost, BookingStatus, MeetingType
from hub.sync.busy import zone

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_OVERRIDES = 366
_SPAN = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_LINE = re.compile(r"^\s*(\d{4}-\d{2}-\d{2})\s*:?\s*(.*?)\s*$")


def hours_on(meeting_type: MeetingType, day: date) -> list:
    """[[start, end], …] of ``day`` (in the type's zone): its date override (``[]`` = a day off) or the
    weekday's hours."""
    overrides = meeting_type.date_overrides or {}
    key = day.isoformat()
    if key in overrides:
        return overrides[key]
    return (meeting_type.weekly_hours or {}).get(DAYS[day.weekday()], [])


def full_days(s: Session, meeting_type: MeetingType, user_id: int, first: datetime, last: datetime,
              setting_aside: Booking | None = None) -> set[date]:
    """Days (in the type's zone) in [first, last] on which ``user_id`` hosts ``max_per_day`` confirmed
    bookings of this type already (as the sole host or one of a collective's), ``setting_aside`` not counted."""
    if not meeting_type.max_per_day:
        return set()
    tz = zone(meeting_type.timezone)
    low = datetime.combine(first.astimezone(tz).date(), time.min, tz)
    high = datetime.combine(last.astimezone(tz).date() + timedelta(days=1), time.min, tz)
    hosted = sa.or_(Booking.host_user_id == user_id,
                    Booking.id.in_(sa.select(BookingHost.booking_id).where(BookingHost.user_id == user_id)))
    starts = s.scalars(sa.select(Booking.start).where(
        Booking.meeting_type_id == meeting_type.id, Booking.status == BookingStatus.CONFIRMED, hosted,
        Booking.start >= low, Booking.start < high,
        Booking.id != (setting_aside.id if setting_aside is not None else -1))).all()
    counts: dict[date, int] = {}
    for start in starts:
        d = start.astimezone(tz).date()
        counts[d] = counts.get(d, 0) + 1
    return {d for d, n in counts.items() if n >= meeting_type.max_per_day}


def _span(text: str, field: str) -> list[str]:
    match = _SPAN.match(str(text))
    if not match:
        raise ValidationError(f"Write hours like 09:00-12:00 (got {str(text)[:40]!r}).", field=field)
    h1, m1, h2, m2 = (int(x) for x in match.groups())
    if not (h1 < 24 and m1 < 60 and (h2 < 24 or (h2 == 24 and m2 == 0)) and m2 < 60) or (h1, m1) >= (h2, m2):
        raise ValidationError(f"{str(text).strip()} is not a span of the day.", field=field)
    return [f"{h1:02d}:{m1:02d}", f"{h2:02d}:{m2:02d}"]


def parse_overrides(values: Mapping[str, Any]) -> dict[str, list] | None:
    """``date_overrides`` of an API body ({"2026-12-24": [], "2026-12-31": [["09:00", "12:00"]]}) or of
    the form's text (one date a line: ``2026-12-24: off`` or ``2026-12-31: 09:00-12:00, 14:00-16:00``).

    :return: the overrides, or ``None`` when ``values`` do not mention them.
    :raises ValidationError: a bad date or span.
    """
    field = "date_overrides"
    given = values.get(field)
    if given is None:
        return None
    entries: list[tuple[str, list]] = []
    if isinstance(given, dict):
        for key, spans in given.items():
            if not isinstance(spans, list) or not all(isinstance(p, (list, tuple)) and len(p) == 2 for p in spans):
                raise ValidationError(f"{key}: give a list of [start, end] times ([] for a day off).", field=field)
            entries.append((key, [f"{a}-{b}" for a, b in spans]))
    elif isinstance(given, str):
        for line in given.splitlines():
            if not line.strip():
                continue
            match = _LINE.match(line)
            if not match:
                raise ValidationError(f"Write one date a line, like 2026-12-24: off (got {line.strip()[:40]!r}).",
                                      field=field)
            rest = match.group(2)
            spans = [] if rest.lower() in ("", "off", "closed") else [t for t in rest.split(",") if t.strip()]
            entries.append((match.group(1), spans))
    else:
        raise ValidationError("date_overrides must map dates to lists of [start, end].", field=field)
    if len(entries) > MAX_OVERRIDES:
        raise ValidationError(f"At most {MAX_OVERRIDES} date overrides.", field=field)
    out: dict[str, list] = {}
    for key, spans in entries:
        try:
            day = date.fromisoformat(str(key))
        except ValueError:
            raise ValidationError(f"{str(key)[:20]!r} is not a date (YYYY-MM-DD).", field=field) from None
        out[day.isoformat()] = sorted(_span(t, field) for t in spans)
    return dict(sorted(out.items()))


def overrides_text(overrides: dict | None) -> str:
    """The form's text of ``overrides``."""
    return "\n".join(f"{d}: " + (", ".join(f"{a}-{b}" for a, b in spans) or "off")
                     for d, spans in (overrides or {}).items())
