"""API: CRM meetings (list, create, update, cancel), meeting types, availability and bookings.

Availability and booking are public, like the booking page they serve: a host CRM or a custom
booking page may call them without a token.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from flask import abort, g, jsonify
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from hub.core import current_hub
from hub.crm import meetings as meeting_rules
from hub.exceptions import ValidationError
from hub.models import Booking, Meeting, MeetingType
from hub.permissions import Permission
from hub.scheduling import availability as slots_of
from hub.scheduling.booking import book
from web.access import api_access
from web.api import bp
from web.api.validation import parse_datetime
from web.meeting_types import meeting_type_json, parse_meeting_type, save_meeting_type

#: the longest range one availability request may ask for
MAX_RANGE = timedelta(days=62)
DEFAULT_RANGE = timedelta(days=7)


def meeting_json(m: Meeting) -> dict:
    return {
        "id": m.id, "title": m.title, "description": m.description, "location": m.location,
        "start": m.start.isoformat() if m.start else None, "end": m.end.isoformat() if m.end else None,
        "all_day": m.all_day, "timezone": m.timezone, "appointment_type": m.appointment_type,
        "video_url": m.video_url, "origin": m.origin, "cancelled": m.cancelled,
        "attendees": [{"email": p.email, "name": p.name, "response": p.response, "organizer": p.organizer,
                       "contact_id": p.contact_id} for p in m.participants],
    }


def _own_meeting(s, meeting_id: int) -> Meeting:
    meeting = s.get(Meeting, meeting_id, options=[selectinload(Meeting.participants)])
    if meeting is None or meeting.owner_user_id != g.actor.id:
        abort(404)
    return meeting


def _times(body: dict) -> dict:
    out = {}
    for name in ("start", "end"):
        if name in body:
            out[name] = parse_datetime(body[name], name)
    if "start" in out and "end" in out and out["end"] <= out["start"]:
        raise ValidationError("end must be after start.", field="end")
    return out


def _zone(name: str | None, field: str) -> str | None:
    if name is None:
        return None
    try:
        return ZoneInfo(name).key
    except (KeyError, ValueError):
        raise ValidationError(f"Unknown time zone {name!r}.", fix="Use an IANA name like Europe/Berlin.",
                              field=field) from None


@bp.get("/meetings")
@api_access(Permission.MEETINGS)
def list_meetings():
    start = g.params.get("start") or datetime.now(timezone.utc)
    query = select(Meeting).options(selectinload(Meeting.participants)).where(
        Meeting.owner_user_id == g.actor.id, Meeting.end >= start)
    if g.params.get("end"):
        query = query.where(Meeting.start < g.params["end"])
    with current_hub().db.session() as s:
        return jsonify([meeting_json(m) for m in s.scalars(query.order_by(Meeting.start).limit(500))])


@bp.post("/meetings")
@api_access(Permission.MEETINGS)
def create_meeting():
    """Create a meeting on the caller's default calendar; ``send_invites: false`` saves without inviting."""
    body = g.body
    times = _times(body)
    meeting_id = meeting_rules.create_meeting(
        current_hub(), g.actor.id, body["title"].strip(), times["start"], times["end"],
        attendees=body.get("attendees", []), description=body.get("description", ""),
        location=body.get("location", ""), timezone_name=_zone(body.get("timezone"), "timezone"),
        want_video=body.get("want_video", False), appointment_type=body.get("appointment_type"),
        send_invites=body.get("send_invites", True))
    with current_hub().db.session() as s:
        return jsonify(meeting_json(_own_meeting(s, meeting_id))), 201


@bp.get("/meetings/<int:meeting_id>")
@api_access(Permission.MEETINGS)
def get_meeting(meeting_id: int):
    with current_hub().db.session() as s:
        return jsonify(meeting_json(_own_meeting(s, meeting_id)))


@bp.patch("/meetings/<int:meeting_id>")
@api_access(Permission.MEETINGS)
def update_meeting(meeting_id: int):
    """Change a meeting; attendees are invited or updated unless ``send_invites`` is false."""
    hub = current_hub()
    with hub.db.session() as s:
        meeting = _own_meeting(s, meeting_id)
        start, end = meeting.start, meeting.end
    body = dict(g.body)
    send_invites = body.pop("send_invites", True)
    changes = {k: v for k, v in body.items() if k not in ("start", "end")}
    times = _times(body)
    new_start, new_end = times.get("start", start), times.get("end", end)
    if times and new_start is not None and new_end is not None and new_end <= new_start:
        raise ValidationError("end must be after start.", field="end")
    changes.update(times)
    if "title" in changes:
        changes["title"] = changes["title"].strip()
    if "timezone" in changes:
        changes["timezone"] = _zone(changes["timezone"], "timezone")
    if changes:
        meeting_rules.update_meeting(hub, meeting_id, send_invites=send_invites, **changes)
    with hub.db.session() as s:
        return jsonify(meeting_json(_own_meeting(s, meeting_id)))


@bp.delete("/meetings/<int:meeting_id>")
@api_access(Permission.MEETINGS)
def delete_meeting(meeting_id: int):
    hub = current_hub()
    with hub.db.session() as s:
        _own_meeting(s, meeting_id)
    meeting_rules.delete_meeting(hub, meeting_id, send_invites=g.params.get("send_invites", True))
    return "", 204


@bp.get("/meeting-types")
@api_access(Permission.MEETINGS)
def list_meeting_types():
    base = current_hub().settings.base_url
    with current_hub().db.session() as s:
        rows = s.scalars(select(MeetingType).where(MeetingType.user_id == g.actor.id).order_by(MeetingType.id))
        return jsonify([meeting_type_json(mt, base) for mt in rows])


@bp.post("/meeting-types")
@api_access(Permission.MEETINGS)
def create_meeting_type():
    """Create a meeting type; it is active when the caller has a usable default calendar."""
    fields = parse_meeting_type(g.body, form=False)
    with current_hub().db.session() as s:
        mt = save_meeting_type(s, g.actor.id, fields)
        return jsonify(meeting_type_json(mt, current_hub().settings.base_url)), 201


def _slug_exists(slug: str) -> None:
    with current_hub().db.session() as s:
        if slots_of.find_meeting_type(s, slug) is None:
            abort(404)


@bp.get("/meeting-types/<slug>/availability")
@api_access(public=True)
def availability(slug: str):
    """Free slots of a booking link in [start, end) — at most 62 days — with local times in ``tz``."""
    zone = ZoneInfo(_zone(g.params.get("tz"), "tz") or "UTC")
    start = g.params.get("start") or datetime.now(timezone.utc)
    end = g.params.get("end") or start + DEFAULT_RANGE
    if end <= start:
        raise ValidationError("end must be after start.", field="end")
    if end - start > MAX_RANGE:
        raise ValidationError("Ask for at most 62 days at a time.", field="end")
    with current_hub().db.session() as s:  # one session: each costs a pool ping, BEGIN and COMMIT
        meeting_type = slots_of.find_meeting_type(s, slug)
        if meeting_type is None:
            abort(404)
        found = slots_of.compute(s, slots_of.active(meeting_type), start, end)
    return jsonify(slug=slug, timezone=zone.key, duration_minutes=int(found.duration.total_seconds() // 60),
                   limited=found.limited, unreadable_calendars=found.unreadable,
                   slots=[{"start": s.isoformat(), "local": s.astimezone(zone).isoformat()} for s in found.slots])


@bp.post("/bookings")
@api_access(public=True)
def create_booking():
    """Book a slot; exactly one of several overlapping requests wins, the others get 409."""
    body = g.body
    _slug_exists(body["slug"])
    start = parse_datetime(body["start"], "start")
    booking_id = book(current_hub(), body["slug"], start, body["guest_name"], body["guest_email"],
                      _zone(body.get("guest_timezone"), "guest_timezone"))
    with current_hub().db.session() as s:
        booking = s.get(Booking, booking_id)
        meeting = s.get(Meeting, booking.meeting_id) if booking.meeting_id else None
        return jsonify(id=booking.id, slug=body["slug"], start=booking.start.isoformat(), end=booking.end.isoformat(),
                       status=booking.status.value, meeting_id=booking.meeting_id, guest_email=booking.guest_email,
                       video_url=meeting.video_url if meeting else None), 201
