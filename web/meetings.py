"""Meetings: the user's meeting types (booking pages) and their upcoming meetings and bookings."""

from __future__ import annotations

from datetime import datetime, timezone

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import or_, select

from hub.core import current_hub
from hub.exceptions import ValidationError
from hub.models import Booking, BookingHost, BookingStatus, Meeting, MeetingType
from hub.permissions import Permission
from hub.scheduling import links
from hub.scheduling.limits import overrides_text
from hub.scheduling.questions import questions_text
from hub.scheduling.self_service import cancel_booking
from web.access import actor, requires
from web.integrations import needs_primary_meeting_type
from web.meeting_types import (
    DAY_LABELS,
    DAYS,
    DEFAULT_HOURS,
    colleagues,
    common_timezones,
    has_usable_default,
    hours_text,
    member_hours_text,
    parse_meeting_type,
    reminders_text,
    save_meeting_type,
)

bp = Blueprint("meetings", __name__, url_prefix="/meetings")


@bp.route("/bookings/<int:booking_id>/cancel", methods=["POST"])
@requires(Permission.MEETINGS)
def cancel_booking_as_host(booking_id: int):
    """The host cancels one of their bookings (the guest is told, with the reason)."""
    hub = current_hub()
    with hub.db.session() as s:
        booking = s.get(Booking, booking_id)
        if booking is None or booking.host_user_id != actor().id:
            abort(404)
    try:
        cancel_booking(hub, booking_id, reason=request.form.get("reason"), by="host")
    except links.InvalidLink as exc:
        flash(exc.message, "error")
    else:
        flash("The booking is cancelled; the guest has been told.", "success")
    return redirect(url_for("meetings.index"))


def _own_type(s, type_id: int) -> MeetingType:
    mt = s.get(MeetingType, type_id)
    if mt is None or mt.user_id != actor().id:
        abort(404)
    return mt


@bp.route("/")
@requires(Permission.MEETINGS)
def index():
    me = actor()
    now = datetime.now(timezone.utc)
    with current_hub().db.session() as s:
        types = s.scalars(select(MeetingType).where(MeetingType.user_id == me.id).order_by(
            MeetingType.is_primary.desc(), MeetingType.name)).all()
        hosting = or_(Booking.host_user_id == me.id,  # or a member of a collective booking
                      Booking.id.in_(select(BookingHost.booking_id).where(BookingHost.user_id == me.id)))
        bookings = s.scalars(select(Booking).where(
            hosting, Booking.end >= now, Booking.status == BookingStatus.CONFIRMED).order_by(
            Booking.start).limit(50)).all()
        names = dict(s.execute(select(MeetingType.id, MeetingType.name).where(
            MeetingType.id.in_({b.meeting_type_id for b in bookings} | {mt.id for mt in types}))).all())
        # cancelled ones stay listed, marked, so a cancellation in the calendar is seen rather than silent
        meetings = s.scalars(select(Meeting).where(
            Meeting.owner_user_id == me.id, Meeting.end >= now).order_by(Meeting.start).limit(50)).all()
        declined = {m.id for m in meetings
                    if any(p.user_id == me.id and p.response == "declined" for p in m.participants)}
        can_book = has_usable_default(s, me.id)
    hub = current_hub()
    reschedule_urls = {b.id: url_for("self_service.reschedule_page", token=links.token(hub, b.id, "reschedule"))
                       for b in bookings}
    return render_template("meetings.html", types=types, bookings=bookings, names=names, meetings=meetings,
                           reschedule_urls=reschedule_urls, embed_allowed=bool(hub.settings.embed_origins),
                           declined=declined,
                           can_book=can_book, prompt=needs_primary_meeting_type(me),
                           base_url=current_hub().settings.base_url.rstrip("/"))


def _form_page(mt: MeetingType | None, values: dict, error: ValidationError | None = None, status: int = 200):
    if "member_ids" not in values and request.method == "POST":  # re-showing a refused form
        values["member_ids"] = {int(x) for x in request.form.getlist("member") if x.isdigit()}
        values["weights"] = {uid: request.form.get(f"weight_{uid}", 1) for uid in values["member_ids"]}
        values["member_hours"] = {uid: request.form.get(f"member_hours_{uid}", "") for uid in values["member_ids"]}
    with current_hub().db.session() as s:
        people = colleagues(s, mt.user_id if mt else actor().id)
    settings = current_hub().settings
    return render_template("meeting_type_form.html", mt=mt, values=values, error=error, days=DAYS,
                           day_labels=DAY_LABELS, timezones=common_timezones(), colleagues=people,
                           base_url=settings.base_url.rstrip("/"), embed_allowed=bool(settings.embed_origins)), status


def _values_of(mt: MeetingType) -> dict:
    values = {c: getattr(mt, c) for c in ("name", "slug", "timezone", "duration_minutes", "buffer_before_minutes",
                                          "buffer_after_minutes", "min_notice_minutes", "horizon_days",
                                          "slot_step_minutes", "want_video", "is_primary", "kind", "max_per_day")}
    values.update({f"hours_{d}": hours_text(mt.weekly_hours, d) for d in DAYS})
    values.update(date_overrides=overrides_text(mt.date_overrides), questions=questions_text(mt.questions),
                  member_ids={m.user_id for m in mt.members}, weights={m.user_id: m.weight for m in mt.members},
                  member_hours={m.user_id: member_hours_text(m.weekly_hours) for m in mt.members},
                  reminder_minutes=reminders_text(mt.reminder_minutes))
    return values


@bp.route("/new", methods=["GET", "POST"])
@requires(Permission.MEETINGS)
def new():
    me = actor()
    if request.method == "GET":
        values = {"timezone": me.timezone, "duration_minutes": 30, "want_video": True, "min_notice_minutes": 60,
                  "horizon_days": 60, "slot_step_minutes": 15, "buffer_before_minutes": 0,
                  "buffer_after_minutes": 0, "is_primary": bool(request.args.get("primary")),
                  "name": "Intro call" if request.args.get("primary") else "",
                  **{f"hours_{d}": hours_text(DEFAULT_HOURS, d) for d in DAYS}}
        return _form_page(None, values)
    try:
        fields = parse_meeting_type(request.form)
        with current_hub().db.session() as s:
            mt = save_meeting_type(s, me.id, fields)
            active, slug = mt.active, mt.slug
    except ValidationError as exc:
        return _form_page(None, dict(request.form), exc, 400)
    if active:
        flash(f"Meeting type saved. Its booking page is live at /book/{slug}.", "success")
    else:
        flash("Meeting type saved. It becomes bookable once you choose a default calendar.", "success")
    return redirect(url_for("meetings.index"))


@bp.route("/<int:type_id>/edit", methods=["GET", "POST"])
@requires(Permission.MEETINGS)
def edit(type_id: int):
    if request.method == "GET":
        with current_hub().db.session() as s:
            mt = _own_type(s, type_id)
            return _form_page(mt, _values_of(mt))
    try:
        with current_hub().db.session() as s:
            mt = _own_type(s, type_id)
            save_meeting_type(s, mt.user_id, parse_meeting_type(request.form, current=mt), current=mt)
    except ValidationError as exc:
        with current_hub().db.session() as s:
            return _form_page(_own_type(s, type_id), dict(request.form), exc, 400)
    flash("Meeting type saved.", "success")
    return redirect(url_for("meetings.index"))


@bp.route("/<int:type_id>/active", methods=["POST"])
@requires(Permission.MEETINGS)
def set_active(type_id: int):
    """Turn a booking link on or off."""
    turn_on = request.form.get("active") == "1"
    with current_hub().db.session() as s:
        mt = _own_type(s, type_id)
        fields = {c: getattr(mt, c) for c in ("name", "slug")}
        save_meeting_type(s, mt.user_id, fields, current=mt, active=turn_on)
    flash("Booking link turned on." if turn_on else "Booking link turned off: it now answers “not active”.", "success")
    return redirect(url_for("meetings.index"))


@bp.route("/<int:type_id>/delete", methods=["POST"])
@requires(Permission.MEETINGS)
def delete(type_id: int):
    """Delete a meeting type that has no upcoming bookings (those keep it: turn it off instead)."""
    now = datetime.now(timezone.utc)
    with current_hub().db.session() as s:
        mt = _own_type(s, type_id)
        upcoming = s.scalar(select(Booking.id).where(Booking.meeting_type_id == mt.id, Booking.end >= now,
                                                     Booking.status == BookingStatus.CONFIRMED).limit(1))
        if upcoming is not None:
            raise ValidationError("This meeting type has upcoming bookings.",
                                  fix="Turn its booking link off instead; delete it after the bookings took place.")
        s.delete(mt)
    flash("Meeting type deleted.", "success")
    return redirect(url_for("meetings.index"))
