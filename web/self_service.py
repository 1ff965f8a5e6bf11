"""The guest's self-service pages behind the signed links of booking e-mails and the confirmation page:
``/book/manage/reschedule/<token>`` (pick a new time) and ``/book/manage/cancel/<token>`` (with an
optional reason). No login; the link is the key (:mod:`hub.scheduling.links`). A link that no longer
works (cancelled, over, forged) answers 410 with the reason. Works without JavaScript.

The host opens the same pages from the meetings page; a signed-in host's change is recorded as the host's.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user

from hub.core import current_hub
from hub.exceptions import NotActive, SlotUnavailable, ValidationError
from hub.models import Booking, MeetingType, User
from hub.scheduling import availability as slots_of
from hub.scheduling import links
from hub.scheduling.self_service import cancel_booking, reschedule
from web.access import public
from web.booking import DAYS_SHOWN, Day, confirmation_url, guest_zone, parse_day, week

bp = Blueprint("self_service", __name__, url_prefix="/book/manage")


def _gone(error: links.InvalidLink):
    return render_template("booking/link_gone.html", error=error), 410


def _load(booking_id: int) -> tuple[Booking, MeetingType, User]:
    with current_hub().db.session() as s:
        booking = s.get(Booking, booking_id)
        mt = s.get(MeetingType, booking.meeting_type_id)
        return booking, mt, s.get(User, booking.host_user_id)


def _by(booking: Booking) -> str:
    return "host" if current_user.is_authenticated and current_user.id == booking.host_user_id else "guest"


@bp.route("/reschedule/<token>", methods=["GET", "POST"])
@public
def reschedule_page(token: str):
    """The booking's free times for a week; a chosen one's confirmation; moving the booking."""
    hub = current_hub()
    try:
        booking_id = links.booking_for_link(hub, token, "reschedule")
    except links.InvalidLink as exc:
        return _gone(exc)
    booking, mt, host = _load(booking_id)
    zone = guest_zone(request.values.get("tz") or booking.guest_timezone)
    first = parse_day(request.args.get("from"), zone)
    error, status = None, 200
    if request.method == "POST":
        try:
            start = datetime.fromisoformat(request.form.get("start", ""))
            if start.tzinfo is None:
                raise ValueError
        except ValueError:
            error, status = ValidationError("Pick a time from the list.", field="start"), 400
        else:
            try:
                reschedule(hub, booking_id, start, by=_by(booking))
            except links.InvalidLink as exc:
                return _gone(exc)
            except NotActive as exc:
                return render_template("booking/not_active.html", error=exc, slug=mt.slug), 410
            except (SlotUnavailable, ValidationError) as exc:
                error, status = exc, 409 if isinstance(exc, SlotUnavailable) else 400
            else:
                return redirect(confirmation_url(mt.slug, booking_id))
    range_start, range_end = week(zone, first)
    with hub.db.session() as s:
        try:
            found = slots_of.compute(s, slots_of.active(s.get(MeetingType, mt.id)), range_start, range_end,
                                     setting_aside=s.get(Booking, booking_id))
        except NotActive as exc:
            return render_template("booking/not_active.html", error=exc, slug=mt.slug), 410
    days: dict[date, Day] = {first + timedelta(days=i): Day(first + timedelta(days=i), []) for i in range(DAYS_SHOWN)}
    for slot in found.slots:
        local = slot.astimezone(zone)
        if local.date() in days:
            days[local.date()].slots.append(local)
    chosen = None
    if request.values.get("slot") and not isinstance(error, SlotUnavailable):
        try:
            chosen = datetime.fromisoformat(request.values["slot"]).astimezone(zone)
        except ValueError:
            chosen = None
    today = datetime.now(zone).date()
    return render_template(
        "booking/reschedule.html", booking=booking, mt=mt, host=host, token=token, days=list(days.values()),
        zone=zone.key, limited=found.limited, chosen=chosen, error=error, first=first,
        current=booking.start.astimezone(zone), current_end=booking.end.astimezone(zone),
        next_from=(first + timedelta(days=DAYS_SHOWN)).isoformat(),
        prev_from=(first - timedelta(days=DAYS_SHOWN)).isoformat() if first > today else None, utc=timezone.utc), status


@bp.route("/cancel/<token>", methods=["GET", "POST"])
@public
def cancel_page(token: str):
    """Cancel the booking, with an optional reason for the host."""
    hub = current_hub()
    try:
        booking_id = links.booking_for_link(hub, token, "cancel")
    except links.InvalidLink as exc:
        return _gone(exc)
    booking, mt, host = _load(booking_id)
    zone = guest_zone(booking.guest_timezone)
    if request.method == "POST":
        try:
            cancel_booking(hub, booking_id, reason=request.form.get("reason"), by=_by(booking))
        except links.InvalidLink as exc:
            return _gone(exc)
        return render_template("booking/cancelled.html", mt=mt, host=host,
                               book_again=url_for("booking.page", slug=mt.slug))
    return render_template("booking/cancel.html", booking=booking, mt=mt, host=host, token=token, zone=zone.key,
                           start=booking.start.astimezone(zone), end=booking.end.astimezone(zone))
