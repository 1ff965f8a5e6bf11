"""API: the caller's calendars — list, and set default / conflict / sync preferences."""

from __future__ import annotations

from flask import abort, g, jsonify
from sqlalchemy import select

from hub.core import current_hub
from hub.models import Account, AccountStatus, Calendar
from hub.permissions import Permission
from hub.sync import calendars as calendar_rules
from web.access import api_access
from web.api import bp


def calendar_json(c: Calendar) -> dict:
    return {"id": c.id, "account_id": c.account_id, "name": c.name, "access_role": c.access_role,
            "is_primary": c.is_primary, "is_default": c.is_default, "is_conflict": c.is_conflict,
            "sync_enabled": c.sync_enabled, "sync_direction": c.sync_direction.value,
            "propagate_deletions": c.propagate_deletions, "import_meetings": c.import_meetings,
            "appointment_type": c.appointment_type, "readable": c.unreadable_since is None}


def _mine():
    return select(Calendar).join(Account, Account.id == Calendar.account_id).where(
        Account.user_id == g.actor.id, Account.status != AccountStatus.DISCONNECTED)


@bp.get("/calendars")
@api_access(Permission.CALENDARS)
def list_calendars():
    with current_hub().db.session() as s:
        return jsonify([calendar_json(c) for c in s.scalars(_mine().order_by(Calendar.account_id, Calendar.id))])


@bp.patch("/calendars/<int:calendar_id>")
@api_access(Permission.CALENDARS)
def update_calendar(calendar_id: int):
    """Apply the given choices in order: default, conflict, then the sync preferences."""
    hub = current_hub()
    with hub.db.session() as s:
        if s.scalar(_mine().where(Calendar.id == calendar_id)) is None:
            abort(404)
    body, me = g.body, g.actor.id
    if body.get("is_default"):
        calendar_rules.set_default_calendar(hub, me, calendar_id)
    if "is_conflict" in body:
        calendar_rules.set_conflict(hub, me, calendar_id, body["is_conflict"])
    preferences = {k: body[k] for k in ("sync_enabled", "sync_direction", "propagate_deletions",
                                        "import_meetings") if k in body}
    if "appointment_type" in body:
        preferences["appointment_type"] = body["appointment_type"] or ""
    if preferences:
        calendar_rules.set_preferences(hub, me, calendar_id, **preferences)
    with hub.db.session() as s:
        return jsonify(calendar_json(s.get(Calendar, calendar_id)))
