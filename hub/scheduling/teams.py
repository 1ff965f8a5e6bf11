"""Team meeting types: who hosts a slot, and which free member a round-robin booking goes to.

Public API:

* :data:`KINDS` — "single", "round_robin", "collective";
* :class:`Host` — one possible host of a meeting type, with their own working hours when they set any;
* :func:`hosts` — the hosts of a meeting type: the owner (single), the members (round-robin; the owner
  when there are none), or the owner and every member (collective: the owner organizes);
* :func:`can_host` — whether a user's default calendar can take a booking;
* :func:`pick` — of the free members of a round-robin slot, the one booked least recently;
* :func:`set_members` — replace a type's members, each a user of the owner's organization.

Round-robin order: the member whose last booking of this type was made longest
ago (never booked first); ties go to the fewest bookings this week. Weights change the first key: with
different weights, members are ordered by bookings this week divided by weight, so a member of weight 2
gets about twice the bookings of one of weight 1, and recency breaks the ties.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hub.exceptions import ValidationError
from hub.models import Account, Booking, BookingStatus, MeetingType, MeetingTypeMember, User
from hub.sync.calendars import default_calendar, usable

KINDS = ("single", "round_robin", "collective")
MAX_MEMBERS = 50
MAX_WEIGHT = 100
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Host:
    """One possible host of a meeting type."""

    user_id: int
    weight: int = 1
    #: the member's own weekly hours (in ``timezone``), applied within the type's; None: the type's only
    weekly_hours: dict | None = None
    timezone: str = "UTC"


def is_team(meeting_type: MeetingType) -> bool:
    return meeting_type.kind in ("round_robin", "collective")


def hosts(s: Session, meeting_type: MeetingType) -> list[Host]:
    """The possible hosts of ``meeting_type``, owner first for a collective type."""
    owner = Host(meeting_type.user_id)
    if not is_team(meeting_type):
        return [owner]
    rows = s.execute(sa.select(MeetingTypeMember.user_id, MeetingTypeMember.weight, MeetingTypeMember.weekly_hours,
                               User.timezone).join(User, User.id == MeetingTypeMember.user_id)
                     .where(MeetingTypeMember.meeting_type_id == meeting_type.id, User.active.is_(True))
                     .order_by(MeetingTypeMember.user_id)).all()
    members = [Host(uid, max(1, weight or 1), hours or None, tz or "UTC") for uid, weight, hours, tz in rows]
    if meeting_type.kind == "collective":
        return [next((m for m in members if m.user_id == owner.user_id), owner)] + \
               [m for m in members if m.user_id != owner.user_id]
    return members or [owner]


def can_host(s: Session, user_id: int) -> bool:
    """Whether the user has a default calendar on a connected, working account (a booking needs one)."""
    calendar = default_calendar(s, user_id)
    return calendar is not None and usable(s.get(Account, calendar.account_id))


def pick(s: Session, meeting_type: MeetingType, free: list[Host], now: datetime) -> Host:
    """The member a round-robin booking goes to, among ``free`` (not empty)."""
    ids = [h.user_id for h in free]
    week_start = now - timedelta(days=now.weekday(), hours=now.hour, minutes=now.minute, seconds=now.second,
                                 microseconds=now.microsecond)
    rows = s.execute(sa.select(
        Booking.host_user_id, sa.func.max(Booking.created_at),
        sa.func.count(Booking.id).filter(Booking.created_at >= week_start))
        .where(Booking.meeting_type_id == meeting_type.id, Booking.status == BookingStatus.CONFIRMED,
               Booking.host_user_id.in_(ids))
        .group_by(Booking.host_user_id)).all()
    last = {uid: at for uid, at, _ in rows}
    week = {uid: n for uid, _, n in rows}
    weighted = len({h.weight for h in free}) > 1

    def order(h: Host) -> tuple:
        share = week.get(h.user_id, 0) / h.weight if weighted else 0
        return share, last.get(h.user_id) or _EPOCH, week.get(h.user_id, 0), h.user_id

    return min(free, key=order)


def parse_members(values: dict[str, Any]) -> list[dict] | None:
    """``members`` of an API body ([{"user_id", "weight", "weekly_hours"}] or [user ids]) or the form's
    ``member`` ids with ``weight_<id>`` and ``member_hours_<id>`` (text, checked by the caller); ``None``
    when not mentioned."""
    given = values.get("members")
    if given is None and hasattr(values, "getlist") and "members_form" in values:
        given = [{"user_id": uid, "weight": values.get(f"weight_{uid}") or 1,
                  "weekly_hours": values.get(f"member_hours_{uid}") or None} for uid in values.getlist("member")]
    if given is None:
        return None
    if not isinstance(given, list) or len(given) > MAX_MEMBERS:
        raise ValidationError(f"members must be a list of at most {MAX_MEMBERS} users.", field="members")
    out: dict[int, dict] = {}
    for item in given:
        raw_id, raw_weight = (item.get("user_id"), item.get("weight", 1)) if isinstance(item, dict) else (item, 1)
        try:
            uid, weight = int(raw_id), int(raw_weight)
        except (TypeError, ValueError):
            raise ValidationError("Each member needs a user id and a whole-number weight.", field="members") from None
        if not 1 <= weight <= MAX_WEIGHT:
            raise ValidationError(f"A weight is between 1 and {MAX_WEIGHT}.", field="members")
        hours = item.get("weekly_hours") if isinstance(item, dict) else None
        out[uid] = {"user_id": uid, "weight": weight, "weekly_hours": hours}
    return list(out.values())


def set_members(s: Session, meeting_type: MeetingType, members: list[dict]) -> None:
    """Replace the members; each must be an active user of the owner's organization.

    :param members: [{"user_id", "weight", "weekly_hours"}], hours already checked (None: the type's).
    """
    owner_org = s.scalar(sa.select(User.organization_id).where(User.id == meeting_type.user_id))
    ids = [m["user_id"] for m in members]
    known = set(s.scalars(sa.select(User.id).where(User.id.in_(ids or [-1]), User.active.is_(True),
                                                   User.organization_id == owner_org,
                                                   User.organization_id.is_not(None))))
    if unknown := [uid for uid in ids if uid not in known]:
        raise ValidationError(f"User {unknown[0]} is not a colleague in your organization.", field="members")
    current = {m.user_id: m for m in meeting_type.members}
    keep = {m["user_id"]: m for m in members}
    for uid, row in current.items():
        if uid not in keep:
            meeting_type.members.remove(row)
    for uid, m in keep.items():
        row = current.get(uid)
        if row is None:
            row = MeetingTypeMember(user_id=uid)
            meeting_type.members.append(row)
        row.weight, row.weekly_hours = m["weight"], m.get("weekly_hours") or None
