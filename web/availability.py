"""Availability you can see: a host's week (working hours, busy time by calendar, bookings, the slots
the booking page offers) and, for any time, why it is or is not offered — each reason linking to the
setting that would change the answer. The computation is :mod:`hub.scheduling.availability_explained`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask import Blueprint, abort, render_template, request, url_for
from sqlalchemy import select

from hub.core import current_hub
from hub.models import MeetingType
from hub.permissions import Permission
from hub.scheduling import availability_explained as explained
from hub.sync.busy import zone
from web.access import actor, requires

bp = Blueprint("availability", __name__, url_prefix="/availability")

#: the picture's scale: pixels per hour, per day column, and for the hour labels
HOUR_PX, DAY_PX, LABEL_PX = 40, 120, 48


@dataclass
class Box:
    """A rectangle of the week picture (SVG coordinates) with what it shows."""

    x: float
    y: float
    width: float
    height: float
    css: str
    label: str = ""
    href: str = ""
    at: str = ""  # a probe's local start time, "2026-12-07T10:30"


def _meeting_type(s, user_id: int) -> MeetingType | None:
    wanted = request.args.get("type", type=int)
    query = select(MeetingType).where(MeetingType.user_id == user_id)
    if wanted is not None:
        found = s.scalar(query.where(MeetingType.id == wanted))
        if found is None:
            abort(404)
        return found
    return s.scalar(query.order_by(MeetingType.is_primary.desc(), MeetingType.id).limit(1))


def _monday(raw: str | None, tz) -> date:
    try:
        day = date.fromisoformat(raw) if raw else datetime.now(tz).date()
    except ValueError:
        day = datetime.now(tz).date()
    return day - timedelta(days=day.weekday())


def _setting_url(setting: tuple[str, int | None]) -> str:
    kind, key = setting
    if kind == "calendar":
        return url_for("calendars.index") + f"#conflict-{key}"
    if kind == "meeting_type":
        return url_for("meetings.edit", type_id=key)
    return url_for("integrations.index" if kind == "integrations" else "meetings.index")


@bp.route("/")
@requires(Permission.MEETINGS)
def week():
    with current_hub().db.session() as s:
        mt = _meeting_type(s, actor().id)
        if mt is None:
            return render_template("availability.html", mt=None)
        tz = zone(mt.timezone)
        monday = _monday(request.args.get("week"), tz)
        picture = explained.week(s, mt, monday)
        verdict = None
        at_raw = request.args.get("at")
        if at_raw:
            try:
                at = datetime.fromisoformat(at_raw)
            except ValueError:
                abort(400)
            at = at.replace(tzinfo=tz) if at.tzinfo is None else at
            verdict = explained.why(s, mt, at)
            monday = _monday(at.astimezone(tz).date().isoformat(), tz)
            if monday != picture.days[0]:
                picture = explained.week(s, mt, monday)
        boxes, first_hour, last_hour = _layout(mt, picture, tz)
        return render_template(
            "availability.html", mt=mt, picture=picture, boxes=boxes, tz=tz, verdict=verdict,
            reasons=[(r, _setting_url(r.setting)) for r in (verdict.reasons if verdict else [])],
            hours=range(first_hour, last_hour), first_hour=first_hour, hour_px=HOUR_PX, day_px=DAY_PX,
            label_px=LABEL_PX, width=LABEL_PX + 7 * DAY_PX, height=(last_hour - first_hour) * HOUR_PX,
            previous_week=(monday - timedelta(days=7)).isoformat(), next_week=(monday + timedelta(days=7)).isoformat())


def _layout(mt: MeetingType, picture: explained.Week, tz) -> tuple[list[Box], int, int]:
    """Every rectangle of the week picture, and the hours it spans (at least 8:00–18:00)."""
    local = lambda t: t.astimezone(tz)  # noqa: E731
    spans = [(local(a), local(b)) for a, b in picture.hours] + [(local(b.start), local(b.end)) for b in picture.busy]
    in_week = [(a, b) for a, b in spans if picture.days[0] <= a.date() <= picture.days[-1]]
    first_hour = min([8] + [a.hour for a, _ in in_week])
    last_hour = max([18] + [min(24, b.hour + (1 if b.minute else 0)) if b.date() == a.date() else 24 for a, b in in_week])

    def place(start: datetime, end: datetime, css: str, label: str = "", href: str = "", at: str = "") -> list[Box]:
        out = []
        start, end = local(start), local(end)
        for column, day in enumerate(picture.days):  # a stretch over midnight is drawn on each day it touches
            top = max(start, datetime.combine(day, time(first_hour), tz))
            bottom = min(end, datetime.combine(day, time.min, tz) + timedelta(hours=last_hour))
            if top < bottom:
                y = ((top - datetime.combine(day, time(first_hour), tz)).total_seconds() / 3600) * HOUR_PX
                out.append(Box(LABEL_PX + column * DAY_PX, y, DAY_PX - 4,
                               (bottom - top).total_seconds() / 3600 * HOUR_PX, css, label, href, at))
        return out

    boxes: list[Box] = []
    for a, b in picture.hours:
        boxes += place(a, b, "hours")
    step = timedelta(minutes=max(15, mt.slot_step_minutes))
    for day in picture.days:  # every cell asks "why is this time (not) offered?"
        t = datetime.combine(day, time(first_hour), tz)
        while t < datetime.combine(day, time.min, tz) + timedelta(hours=last_hour):
            at = t.strftime("%Y-%m-%dT%H:%M")
            href = url_for("availability.week", type=mt.id, at=at)
            boxes += place(t, t + step, "probe", f"Why is {t:%a %H:%M} (not) offered?", href, at)
            t += step
    calendars = sorted({b.calendar for b in picture.busy if b.calendar})
    for item in picture.busy:
        css = "booking" if item.calendar is None else f"busy cal-{calendars.index(item.calendar) % 6}"
        label = item.what if item.calendar is None else f"{item.what} · {item.calendar}"
        boxes += place(item.start, item.end, css, label)
    for slot in picture.offered:
        boxes += [Box(b.x, b.y, 6, max(2.0, b.height), "slot", f"Offered: {local(slot):%a %H:%M}")
                  for b in place(slot, slot + timedelta(minutes=mt.duration_minutes), "slot")]
    return boxes, first_hour, last_hour
