"""The public booking pages: ``/book/<slug>`` (free slots in the guest's time zone, the booking form),
``/book/<slug>/embed`` (the same for an iframe on another site), and the confirmation with the video
link and the guest's reschedule and cancel links (:mod:`web.self_service`).

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
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from itsdangerous import BadSignature, URLSafeSerializer

from hub.core import current_hub
from hub.exceptions import NotActive, SlotUnavailable, ValidationError
from hub.models import Booking, BookingStatus, Meeting, MeetingType, User
from hub.scheduling import availability as slots_of
from hub.scheduling import links, teams
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


def confirmation_url(slug: str, booking_id: int, **query) -> str:
    """The booking's confirmation page (also where a reschedule ends)."""
    return url_for("booking.confirmed", slug=slug, token=_serializer().dumps(booking_id), **query)


def _not_active(error: NotActive, slug: str):
    return render_template("booking/not_active.html", error=error, slug=slug), 410


def _host_and_type(s, slug: str) -> tuple[MeetingType, User]:
    """The meeting type behind ``slug`` (any state) and its host, or 404."""
    mt = slots_of.find_meeting_type(s, slug)
    if mt is None:
        abort(404)
    return mt, s.get(User, mt.user_id)


def _with_whom(s, mt: MeetingType, host: User) -> str:
    """Who the guest meets: the host, one of a round-robin team, or every member of a collective one."""
    if not teams.is_team(mt):
        return host.name or host.email
    people = [s.get(User, h.user_id) for h in teams.hosts(s, mt)]
    names = [u.name or u.email for u in people if u is not None]
    if mt.kind == "round_robin":
        return f"one of {', '.join(names[:-1])} or {names[-1]}" if len(names) > 1 else names[0]
    return f"{', '.join(names[:-1])} and {names[-1]}" if len(names) > 1 else names[0]


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
    return _page(slug, embed=False)


@bp.route("/<slug>/embed", methods=["GET", "POST"])
@public
def embed(slug: str):
    """The booking page without the site's chrome, for an iframe on another site (``static/embed.js``
    sizes it and hears ``booked``). Framing is allowed only from ``HUB_EMBED_ORIGINS``; no CSRF token
    (see ``web/__init__.py``): a third-party frame may not get the session cookie, and the public form
    has no session to protect."""
    allow_framing()
    return _page(slug, embed=True)


def allow_framing() -> None:
    """Let this response be framed by the configured sites only (docs/security.md, "Embedding")."""
    g.frame_ancestors = current_hub().settings.embed_origins.split() or ["'none'"]


def _page(slug: str, embed: bool):
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
                              request.form.get("guest_email", ""), zone.key, answers=request.form)
        except NotActive as exc:
            return _not_active(exc, slug)
        except (SlotUnavailable, ValidationError) as exc:
            error = exc
            status = 409 if isinstance(exc, SlotUnavailable) else 400
        else:
            return redirect(confirmation_url(slug, booking_id, **({"embed": 1} if embed else {})))
    range_start, range_end = week(zone, first)
    # one session for the page's reads (after a booking's own write-locked one, never around it)
    with current_hub().db.session() as s:
        mt, host = _host_and_type(s, slug)
        try:
            found = slots_of.compute(s, slots_of.active(mt), range_start, range_end)
        except NotActive as exc:
            return _not_active(exc, slug)
        with_whom = _with_whom(s, mt, host)
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
        "booking/page.html", embed=embed, here="booking.embed" if embed else "booking.page", mt=mt, host=host,
        with_whom=with_whom, team=teams.is_team(mt), days=list(days.values()), zone=zone.key, limited=found.limited,
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
    embed = request.args.get("embed") == "1"
    if embed:
        allow_framing()
    hub = current_hub()
    changeable = booking.status == BookingStatus.CONFIRMED
    return render_template("booking/confirmed.html", booking=booking, mt=mt, meeting=meeting, host=host,
                           start=booking.start.astimezone(zone), end=booking.end.astimezone(zone), zone=zone.key,
                           status_url=url_for("booking.confirmed_status", slug=slug, token=token), embed=embed,
                           reschedule_url=url_for("self_service.reschedule_page",
                                                  token=links.token(hub, booking.id, "reschedule"))
                           if changeable else None,
                           cancel_url=url_for("self_service.cancel_page", token=links.token(hub, booking.id, "cancel"))
                           if changeable else None)


@bp.route("/<slug>/confirmed/<token>.json")
@public
def confirmed_status(slug: str, token: str):
    """The booking's video link, polled by the confirmation page until the push has stored it."""
    booking, mt, meeting, _host = _booking_for(slug, token)
    return jsonify(status=booking.status.value, video_url=meeting.video_url if meeting else None,
                   want_video=bool(mt.want_video))
