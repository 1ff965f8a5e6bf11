"""Times as the signed-in person reads them: in their own zone (Settings → Time zone), with the zone's
abbreviation, so no page has to say "(UTC)". Stored times are UTC (naive ones from SQLite too)."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Flask
from flask_login import current_user


def user_zone() -> ZoneInfo:
    """The signed-in user's zone; UTC for guests and unknown names."""
    name = getattr(current_user, "timezone", None) if current_user else None
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def localtime(value: datetime | None, fmt: str = "%a %d %b %Y, %H:%M") -> str:
    """``value`` in the user's zone, e.g. "Mon 07 Dec 2026, 09:30 CET"."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    local = value.astimezone(user_zone())
    return f"{local.strftime(fmt)} {local.tzname()}"


def init_app(app: Flask) -> None:
    app.add_template_filter(localtime)
    app.add_template_global(user_zone)
