"""Meeting types as a form edits them: parsing and checking the fields, saving the row.

Shared by the Meetings pages and the JSON API, so both accept and refuse exactly the same values.
Public API: :data:`DAYS`, :func:`parse_meeting_type`, :func:`save_meeting_type`, :func:`hours_text`,
:func:`meeting_type_json`, :func:`colleagues`, :func:`member_hours_text`. Team members, date overrides
and booking questions are checked by :mod:`hub.scheduling.teams`, :mod:`hub.scheduling.limits` and
:mod:`hub.scheduling.questions`.
"""

from __future__ import annotations

import re
from typing import Any, Mapping
from zoneinfo import ZoneInfo, available_timezones

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.exceptions import ValidationError
from hub.models import Account, AccountStatus, Calendar, MeetingType, User
from hub.scheduling import limits, questions, teams

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_LABELS = dict(zip(DAYS, ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")))
DEFAULT_HOURS = {d: [["09:00", "17:00"]] for d in DAYS[:5]}
_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,98}[a-z0-9])?$")
_SPAN = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
#: (field, label, minimum, maximum) of the whole-number fields
NUMBERS = (
    ("duration_minutes", "Duration", 5, 24 * 60),
    ("buffer_before_minutes", "Buffer before", 0, 240),
    ("buffer_after_minutes", "Buffer after", 0, 240),
    ("min_notice_minutes", "Minimum notice", 0, 60 * 24 * 30),
    ("horizon_days", "Bookable days ahead", 1, 365),
    ("slot_step_minutes", "Slot step", 5, 240),
)


def slugify(text: str) -> str:
    """A URL-safe slug from a name ("Intro call" → "intro-call")."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:100] or "meeting"


def _number(values: Mapping[str, Any], name: str, label: str, low: int, high: int, default: int) -> int:
    raw = values.get(name)
    if raw in (None, ""):
        return default
    try:
        number = int(raw)
    except (TypeError, ValueError):
        raise ValidationError(f"{label} must be a whole number.", field=name) from None
    if not low <= number <= high:
        raise ValidationError(f"{label} must be between {low} and {high}.", field=name)
    return number


def _hours(values: Mapping[str, Any]) -> dict[str, list[list[str]]]:
    """Weekly hours from ``weekly_hours`` (the API's dict) or ``hours_<day>`` texts ("09:00-12:00, 13:00-17:00")."""
    given = values.get("weekly_hours")
    if given is not None and not isinstance(given, dict):
        raise ValidationError("weekly_hours must map days (mon … sun) to lists of [start, end].", field="weekly_hours")
    hours: dict[str, list[list[str]]] = {}
    for day in DAYS:
        if given is not None:
            spans = given.get(day) or []
            if not isinstance(spans, list) or not all(isinstance(p, (list, tuple)) and len(p) == 2 for p in spans):
                raise ValidationError(f"{DAY_LABELS[day]}: give a list of [start, end] times.", field="weekly_hours")
            texts = [f"{a}-{b}" for a, b in spans]
        else:
            texts = [t for t in str(values.get(f"hours_{day}") or "").split(",") if t.strip()]
        parsed = []
        for text in texts:
            match = _SPAN.match(str(text))
            if not match:
                raise ValidationError(f"{DAY_LABELS[day]}: write hours like 09:00-12:00, 13:00-17:00.",
                                      field=f"hours_{day}")
            h1, m1, h2, m2 = (int(x) for x in match.groups())
            if not (h1 < 24 and m1 < 60 and (h2 < 24 or (h2 == 24 and m2 == 0)) and m2 < 60):
                raise ValidationError(f"{DAY_LABELS[day]}: {text.strip()} is not a time of day.", field=f"hours_{day}")
            if (h1, m1) >= (h2, m2):
                raise ValidationError(f"{DAY_LABELS[day]}: {text.strip()} ends before it starts.", field=f"hours_{day}")
            parsed.append([f"{h1:02d}:{m1:02d}", f"{h2:02d}:{m2:02d}"])
        if parsed:
            hours[day] = sorted(parsed)
    if not hours:
        raise ValidationError("Give at least one day with available hours.", field="hours_mon")
    return hours


def _flag(values: Mapping[str, Any], name: str, default: bool) -> bool:
    raw = values.get(name)
    if raw is None:
        return default
    if isinstance(raw, bool):
        return raw
    return str(raw).strip().lower() in ("1", "true", "yes", "on")


def parse_meeting_type(values: Mapping[str, Any], current: MeetingType | None = None,
                       form: bool = True) -> dict[str, Any]:
    """Check a form's (or an API body's) fields and return the column values to store.

    :param current: the meeting type being edited; unspecified API fields keep its values.
    :param form: an HTML form, where an unticked checkbox is absent rather than false.
    :raises ValidationError: naming the first wrong field.
    """
    def keep(name: str, default: Any) -> Any:
        return getattr(current, name) if current is not None else default

    name = str(values.get("name") or keep("name", "")).strip()
    if not name:
        raise ValidationError("Give the meeting type a name.", field="name")
    if len(name) > 200:
        raise ValidationError("The name is too long (200 characters at most).", field="name")
    slug = str(values.get("slug") or "").strip().lower() or keep("slug", None) or slugify(name)
    if not _SLUG.match(slug):
        raise ValidationError("The link may use lowercase letters, digits and dashes only.", field="slug")
    zone = str(values.get("timezone") or keep("timezone", "UTC"))
    try:
        ZoneInfo(zone)
    except (KeyError, ValueError):
        raise ValidationError(f"Unknown time zone {zone!r}.", fix="Use an IANA name like Europe/Berlin.",
                              field="timezone") from None
    out: dict[str, Any] = {"name": name, "slug": slug, "timezone": zone}
    for field, label, low, high in NUMBERS:
        out[field] = _number(values, field, label, low, high, keep(field, MeetingType.__table__.c[field].default.arg))
    has_hours = "weekly_hours" in values or any(f"hours_{d}" in values for d in DAYS)
    if has_hours:
        out["weekly_hours"] = _hours(values)
    else:  # an API call that does not mention hours: keep them, or weekdays 9 to 5
        out["weekly_hours"] = current.weekly_hours if current is not None else DEFAULT_HOURS
    out["want_video"] = _flag(values, "want_video", False if form else keep("want_video", True))
    out["is_primary"] = _flag(values, "is_primary", False if form else keep("is_primary", False))
    out["kind"] = str(values.get("kind") or keep("kind", "single"))
    if out["kind"] not in teams.KINDS:
        raise ValidationError("The kind is single, round_robin or collective.", field="kind")
    out["max_per_day"] = _max_per_day(values, keep("max_per_day", None))
    out["reminder_minutes"] = _reminders(values, keep("reminder_minutes", None))
    overrides, asked = limits.parse_overrides(values), questions.parse_questions(values)
    out["date_overrides"] = overrides if overrides is not None else keep("date_overrides", None) or {}
    out["questions"] = asked if asked is not None else keep("questions", None) or []
    members = teams.parse_members(values)
    if members is not None:
        for m in members:
            hours = m.get("weekly_hours")
            if isinstance(hours, str):
                hours = _member_hours(hours)
            m["weekly_hours"] = _hours({"weekly_hours": hours}) if hours else None
        out["members"] = members
    return out


def _member_hours(text: str) -> dict[str, list]:
    """A member's own hours as the form writes them: ``mon 09:00-12:00, 13:00-17:00; tue 10:00-16:00``."""
    out: dict[str, list] = {}
    for part in text.split(";"):
        day, _, spans = part.strip().partition(" ")
        if not day:
            continue
        if day.lower() not in DAYS:
            raise ValidationError("Write a member's hours like mon 09:00-12:00; tue 10:00-16:00.", field="members")
        out[day.lower()] = [span.strip().split("-", 1) for span in spans.split(",") if span.strip()]
    return out


def member_hours_text(weekly_hours: dict | None) -> str:
    """The form's text of a member's own hours."""
    return "; ".join(f"{d} " + ", ".join(f"{a}-{b}" for a, b in spans) for d, spans in (weekly_hours or {}).items())


def _max_per_day(values: Mapping[str, Any], default: int | None) -> int | None:
    """``max_per_day``: a whole number from 1 to 100, or empty / null for no limit."""
    if "max_per_day" not in values:
        return default
    raw = values.get("max_per_day")
    if raw in (None, "", 0, "0"):
        return None
    return _number(values, "max_per_day", "Bookings per day", 1, 100, default or 1)


#: the longest a reminder may come before the meeting (28 days), and how many a type may have
MAX_REMINDER_MINUTES, MAX_REMINDERS = 28 * 24 * 60, 5


def _reminders(values: Mapping[str, Any], default: list[int] | None) -> list[int] | None:
    """``reminder_minutes``: minutes before the start, each a reminder to guest and host.

    The form writes ``1440, 60`` (empty: the defaults, 24 h and 1 h; ``none``: no reminders); the API a
    list of whole numbers (null: the defaults, []: none).
    """
    if "reminder_minutes" not in values:
        return default
    raw = values.get("reminder_minutes")
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, str):
        raw = [] if raw.strip().lower() == "none" else [part.strip() for part in raw.split(",") if part.strip()]
    wrong = ValidationError(f"Reminders are up to {MAX_REMINDERS} whole numbers of minutes before the meeting, "
                            f"from 5 to {MAX_REMINDER_MINUTES:,} (28 days).",
                            fix="Write e.g. 1440, 60 — or none for no reminders.", field="reminder_minutes")
    if not isinstance(raw, list) or len(raw) > MAX_REMINDERS:
        raise wrong
    minutes = []
    for item in raw:
        if isinstance(item, bool) or not (isinstance(item, int) or (isinstance(item, str) and item.isdigit())):
            raise wrong
        if not 5 <= int(item) <= MAX_REMINDER_MINUTES:
            raise wrong
        minutes.append(int(item))
    return sorted(set(minutes), reverse=True)


def reminders_text(minutes: list[int] | None) -> str:
    """The form's text of a type's reminders (empty: the defaults)."""
    if minutes is None:
        return ""
    return ", ".join(str(m) for m in minutes) if minutes else "none"


def has_usable_default(s: Session, user_id: int) -> bool:
    """Whether the user has a default calendar on a connected account (bookings need one)."""
    return s.scalar(select(func.count(Calendar.id)).join(Account, Account.id == Calendar.account_id).where(
        Account.user_id == user_id, Calendar.is_default.is_(True),
        Account.status.in_([AccountStatus.ENABLED, AccountStatus.ERROR]))) > 0


def save_meeting_type(s: Session, user_id: int, fields: dict[str, Any], current: MeetingType | None = None,
                      active: bool | None = None) -> MeetingType:
    """Insert or update a meeting type; one primary per user; the slug unique across the hub.

    :param active: turn the type on or off; turning on needs a usable default calendar.
    :raises ValidationError: the slug is taken, or activation without a calendar.
    """
    taken = s.scalar(select(MeetingType.id).where(MeetingType.slug == fields["slug"]))
    if taken is not None and (current is None or taken != current.id):
        raise ValidationError(f"The link “{fields['slug']}” is taken.", fix="Choose another link name.", field="slug")
    row = current or MeetingType(user_id=user_id)
    members = fields.pop("members", None)
    for key, value in fields.items():
        setattr(row, key, value)
    if members is not None:
        teams.set_members(s, row, members)
    if current is None:
        s.add(row)
        if active is None:
            active = has_usable_default(s, user_id)
    if active is not None:
        if active and not has_usable_default(s, user_id):
            raise ValidationError("Connect a calendar and choose a default calendar before turning this on.",
                                  fix="Bookings are added to your default calendar.", field="active")
        row.active = active
        if active:
            row.deactivated_by_account_id = None
    if row.is_primary:
        for other in s.scalars(select(MeetingType).where(MeetingType.user_id == user_id,
                                                         MeetingType.is_primary.is_(True))):
            if other is not row:
                other.is_primary = False
    s.flush()
    return row


def hours_text(weekly_hours: dict, day: str) -> str:
    """One day's hours as the form shows them: "09:00-12:00, 13:00-17:00"."""
    return ", ".join(f"{a}-{b}" for a, b in (weekly_hours or {}).get(day, []))


def meeting_type_json(mt: MeetingType, base_url: str) -> dict[str, Any]:
    """A meeting type as the API returns it."""
    return {
        "id": mt.id, "name": mt.name, "slug": mt.slug, "active": mt.active, "is_primary": mt.is_primary,
        "duration_minutes": mt.duration_minutes, "buffer_before_minutes": mt.buffer_before_minutes,
        "buffer_after_minutes": mt.buffer_after_minutes, "weekly_hours": mt.weekly_hours or {},
        "timezone": mt.timezone, "min_notice_minutes": mt.min_notice_minutes, "horizon_days": mt.horizon_days,
        "slot_step_minutes": mt.slot_step_minutes, "want_video": mt.want_video,
        "booking_url": f"{base_url.rstrip('/')}/book/{mt.slug}",
        "kind": mt.kind, "max_per_day": mt.max_per_day, "date_overrides": mt.date_overrides or {},
        "questions": mt.questions or [], "reminder_minutes": mt.reminder_minutes,
        "members": [{"user_id": m.user_id, "weight": m.weight, "weekly_hours": m.weekly_hours}
                    for m in sorted(mt.members, key=lambda m: m.user_id)],
    }


def colleagues(s: Session, user_id: int) -> list[User]:
    """The active users of ``user_id``'s organization (who may be members of a team type), by name."""
    org = s.scalar(select(User.organization_id).where(User.id == user_id))
    if org is None:
        return list(s.scalars(select(User).where(User.id == user_id)))
    return list(s.scalars(select(User).where(User.organization_id == org, User.active.is_(True))
                          .order_by(User.name, User.id)))


def common_timezones() -> list[str]:
    """Time zones offered in selects (every IANA zone with a region, sorted)."""
    not_regions = ("Etc/", "SystemV/", "posix/", "right/")
    return sorted(z for z in available_timezones() if "/" in z and not z.startswith(not_regions))
