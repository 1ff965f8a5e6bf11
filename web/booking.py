"""The public booking pages: ``/book/<slug>`` (free slots in the guest's time zone, the booking form)
and the confirmation with the video link.

Slots come from :mod:`hub.scheduling.availability`, bookings go through :func:`hub.scheduling.booking.book`
(which never double-books). A deactivated link answers "not active" (HTTP 410). Works without
JavaScript; ``hub.js`` only detects the guest's time zone and fills in the video link when the push
to the host's calendar has produced it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from itsdangerous import BadSignature, URLSafeSerializer

from hub.core import current_hub
from hub.exceptions import NotActive, SlotUnavailable, ValidationError
from hub.models import Booking, Meeting, MeetingType, User
from hub.scheduling import availability as slots_of
from hub.scheduling.booking import book
from web.access import public

bp = Blueprint("booking", __name__, url_prefix="/book")

DAYS_SHOWN = 7


@dataclass
class Day:
    """One day of the booking page: its date in the guest's zone and the slots starting on it."""

    day: date
    slots: list[datetime]


def guest_zone(name: str | None) -> ZoneInfo:
    """The guest's time zone from the page's ``tz`` (UTC when missing or unknown)."""
    try:
        return ZoneInfo(name) if name else ZoneInfo("UTC")
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt="booking-confirmation")


def _not_active(error: NotActive, slug: str):
    return render_template("booking/not_active.html", error=error, slug=slug), 410


def _host_and_type(s, slug: str) -> tuple[MeetingType, User]:
    """The meeting type behind ``slug`` (any state) and its host, or 404."""
    mt = slots_of.find_meeting_type(s, slug)
    if mt is None:
        abort(404)
    return mt, s.get(User, mt.user_id)


def week(zone: ZoneInfo, first: date) -> tuple[datetime, datetime]:
    """[midnight of ``first``, midnight seven days later) in the guest's zone, as UTC instants."""
    start = datetime.combine(first, time.min, zone)
    return start.astimezone(timezone.utc), (start + timedelta(days=DAYS_SHOWN)).astimezone(timezone.utc)


def parse_day(raw: str | None, zone: ZoneInfo) -> date:
    """The first day shown: ``from`` (YYYY-MM-DD), never before today in the guest's zone."""
    today = datetime.now(zone).date()
    try:
        chosen = date.fromisoformat(raw) if raw else today
    except ValueError:
        chosen = today
    return max(chosen, today)


@bp.route("/<slug>", methods=["GET", "POST"])
@public
def page(slug: str):
    """Free slots for a week, a chosen slot's booking form, and booking it."""
    zone = guest_zone(request.values.get("tz"))
    first = parse_day(request.args.get("from"), zone)
    error = None
    status = 200
    if request.method == "POST":
        try:
            start = datetime.fromisoformat(request.form.get("start", ""))
        except ValueError:
            start = None
        try:
            if start is None or start.tzinfo is None:
                raise ValidationError("Pick a time from the list.", field="start")
            booking_id = book(current_hub(), slug, start, request.form.get("guest_name", ""),
                              request.form.get("guest_email", ""), zone.key)
        except NotActive as exc:
            return _not_active(exc, slug)
        except (SlotUnavailable, ValidationError) as exc:
            error = exc
            status = 409 if isinstance(exc, SlotUnavailable) else 400
        else:
            token = _serializer().dumps(booking_id)
            return redirect(url_for("booking.confirmed", slug=slug, token=token))
    range_start, range_end = week(zone, first)
    # one session for the page's reads (after a booking's own write-locked one, never around it)
    with current_hub().db.session() as s:
        mt, host = _host_and_type(s, slug)
        try:
            found = slots_of.compute(s, slots_of.active(mt), range_start, range_end)
        except NotActive as exc:
            return _not_active(exc, slug)
    days: dict[date, Day] = {first + timedelta(days=i): Day(first + timedelta(days=i), []) for i in range(DAYS_SHOWN)}
    for slot in found.slots:
        local = slot.astimezone(zone)
        if local.date() in days:
            days[local.date()].slots.append(local)
    chosen = None
    if request.values.get("slot"):
        try:
            chosen = datetime.fromisoformat(request.values["slot"]).astimezone(zone)
        except ValueError:
            chosen = None
    if request.method == "POST" and error is not None and isinstance(error, SlotUnavailable):
        chosen = None  # the slot is gone: show the fresh list, not the form for it
    today = datetime.now(zone).date()
    return render_template(
        "booking/page.html", mt=mt, host=host, days=list(days.values()), zone=zone.key, limited=found.limited,
        chosen=chosen, error=error, form=request.form, first=first,
        next_from=(first + timedelta(days=DAYS_SHOWN)).isoformat(),
        prev_from=(first - timedelta(days=DAYS_SHOWN)).isoformat() if first > today else None,
        duration=int(found.duration.total_seconds() // 60), utc=timezone.utc), status


def _booking_for(slug: str, token: str) -> tuple[Booking, MeetingType, Meeting | None, User]:
    try:
        booking_id = _serializer().loads(token)
    except BadSignature:
        abort(404)
    with current_hub().db.session() as s:
        booking = s.get(Booking, booking_id)
        if booking is None:
            abort(404)
        mt = s.get(MeetingType, booking.meeting_type_id)
        if mt is None or mt.slug != slug:
            abort(404)
        meeting = s.get(Meeting, booking.meeting_id) if booking.meeting_id else None
        return booking, mt, meeting, s.get(User, booking.host_user_id)


@bp.route("/<slug>/confirmed/<token>")
@public
def confirmed(slug: str, token: str):
    """The confirmation: when, with whom, and the video link once the host's calendar made it."""
    booking, mt, meeting, host = _booking_for(slug, token)
    zone = guest_zone(booking.guest_timezone)
    return render_template("booking/confirmed.html", booking=booking, mt=mt, meeting=meeting, host=host,
                           start=booking.start.astimezone(zone), end=booking.end.astimezone(zone), zone=zone.key,
                           status_url=url_for("booking.confirmed_status", slug=slug, token=token))


@bp.route("/<slug>/confirmed/<token>.json")
@public
def confirmed_status(slug: str, token: str):
    """The booking's video link, polled by the confirmation page until the push has stored it."""
    booking, mt, meeting, _host = _booking_for(slug, token)
    return jsonify(status=booking.status.value, video_url=meeting.video_url if meeting else None,
                   want_video=bool(mt.want_video))
