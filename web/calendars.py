"""The Calendars page: default (linked) calendar, conflict calendars, and per-calendar sync preferences.

The rules (one default per user, conflict calendars always synced, read-only calendars never the
default) are :mod:`hub.sync.calendars`'s; this page shows the choices and hands them over.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from hub import work
from hub.core import current_hub
from hub.models import Account, AccountStatus, Calendar, SyncCursor, SyncDirection, User
from hub.permissions import Permission
from hub.sync import calendars as calendar_rules
from web.access import actor, requires

bp = Blueprint("calendars", __name__, url_prefix="/calendars")

#: CRM appointment types a user may give imported meetings
APPOINTMENT_TYPES = ("meeting", "call", "demo", "visit", "lunch", "other")
DIRECTIONS = {
    SyncDirection.TWO_WAY: "Two-way",
    SyncDirection.TO_CALENDAR: "CRM → calendar only",
    SyncDirection.FROM_CALENDAR: "Calendar → CRM only",
}


@dataclass
class CalendarRow:
    """One calendar as the page shows it."""

    calendar: Calendar
    account: Account
    synced: bool
    writable: bool
    #: the zone its all-day and floating events are read in, and where it came from
    zone: calendar_rules.CalendarZone


def calendar_rows(user_id: int) -> list[CalendarRow]:
    """The user's calendars on connected accounts, default first, then by account and name."""
    with current_hub().db.session() as s:
        pairs = s.execute(select(Calendar, Account).join(Account, Account.id == Calendar.account_id).where(
            Account.user_id == user_id, Account.status != AccountStatus.DISCONNECTED).order_by(
            Calendar.is_default.desc(), Account.id, Calendar.is_primary.desc(), Calendar.name)).all()
        done = set(s.execute(select(SyncCursor.account_id, SyncCursor.key).join(
            Account, Account.id == SyncCursor.account_id).where(
            Account.user_id == user_id, SyncCursor.kind == "calendar", SyncCursor.initial_done.is_(True))).all())
        owner = s.get(User, user_id)
        zones = {calendar.id: calendar_rules.calendar_zone(calendar, owner) for calendar, _ in pairs}
    rows = []
    for calendar, account in pairs:
        healthy = calendar_rules.usable(account) and calendar.unreadable_since is None
        rows.append(CalendarRow(calendar, account, synced=bool(calendar.sync_enabled and healthy and (
            (account.id, calendar.remote_id) in done)), writable=calendar.access_role in calendar_rules.WRITABLE,
            zone=zones[calendar.id]))
    return rows


@bp.route("/")
@requires(Permission.CALENDARS)
def index():
    rows = calendar_rows(actor().id)
    return render_template("calendars.html", rows=rows, directions=DIRECTIONS, appointment_types=APPOINTMENT_TYPES)


@bp.route("/default", methods=["POST"])
@requires(Permission.CALENDARS)
def set_default():
    """Choose the default (linked) calendar CRM meetings and bookings go to."""
    calendar_id = request.form.get("calendar", type=int)
    calendar_rules.set_default_calendar(current_hub(), actor().id, calendar_id or 0)
    flash("Default calendar saved. New meetings and bookings go there.", "success")
    return redirect(url_for("calendars.index"))


@bp.route("/conflicts", methods=["POST"])
@requires(Permission.CALENDARS)
def set_conflicts():
    """"Use more calendars": which calendars block availability (the default always does)."""
    hub = current_hub()
    me = actor().id
    wanted = {int(v) for v in request.form.getlist("conflict") if v.isdigit()}
    for row in calendar_rows(me):
        calendar = row.calendar
        if calendar.is_default:
            continue
        if (calendar.id in wanted) != calendar.is_conflict:
            calendar_rules.set_conflict(hub, me, calendar.id, calendar.id in wanted)
    flash("Conflict calendars saved: busy time on them blocks your availability.", "success")
    return redirect(url_for("calendars.index"))


@bp.route("/<int:calendar_id>/preferences", methods=["POST"])
@requires(Permission.CALENDARS)
def preferences(calendar_id: int):
    """Sync direction, deletions, importing meetings and their appointment type for one calendar."""
    form = request.form
    calendar_rules.set_preferences(
        current_hub(), actor().id, calendar_id,
        sync_enabled=bool(form.get("sync_enabled")),
        sync_direction=form.get("sync_direction") or None,
        propagate_deletions=bool(form.get("propagate_deletions")),
        import_meetings=bool(form.get("import_meetings")),
        appointment_type=form.get("appointment_type", ""),
    )
    if form.get("sync_enabled"):
        _enqueue_sync(calendar_id)
    flash("Calendar preferences saved.", "success")
    return redirect(url_for("calendars.index"))


def _enqueue_sync(calendar_id: int) -> None:
    hub = current_hub()
    with hub.db.session() as s:
        account_id = s.get(Calendar, calendar_id).account_id
    work.enqueue_calendar_sync(hub, account_id, calendar_id)
