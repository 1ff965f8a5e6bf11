"""The signed-in user's own settings: time zone and the API token for the host CRM."""

from __future__ import annotations

import secrets
from zoneinfo import ZoneInfo

from flask import Blueprint, flash, redirect, render_template, request, url_for

from hub.core import current_hub
from hub.exceptions import ValidationError
from hub.models import User
from hub.permissions import PERMISSION_LABELS, ROLE_LABELS, permissions_of
from web.access import actor, hash_token, requires
from web.meeting_types import common_timezones

bp = Blueprint("settings", __name__, url_prefix="/settings")


@bp.route("/")
@requires()
def index():
    me = actor()
    with current_hub().db.session() as s:
        has_token = s.get(User, me.id).api_token_hash is not None
    return render_template("settings.html", has_token=has_token, timezones=common_timezones(),
                           role=ROLE_LABELS[me.role], permissions=_permission_labels(me.role))


@bp.route("/", methods=["POST"])
@requires()
def save():
    """Save the user's time zone (meeting types and usage days follow it)."""
    zone = request.form.get("timezone", "")
    try:
        ZoneInfo(zone)
    except (KeyError, ValueError):
        raise ValidationError(f"Unknown time zone {zone!r}.", fix="Pick one from the list.", field="timezone") from None
    with current_hub().db.session() as s:
        s.get(User, actor().id).timezone = zone
    flash("Settings saved.", "success")
    return redirect(url_for("settings.index"))


@bp.route("/token", methods=["POST"])
@requires()
def new_token():
    """Make a new API token (the old one stops working). It is shown once; only its hash is stored."""
    token = secrets.token_urlsafe(32)
    with current_hub().db.session() as s:
        s.get(User, actor().id).api_token_hash = hash_token(token)
    return render_template("settings.html", has_token=True, new_token=token, timezones=common_timezones(),
                           role=ROLE_LABELS[actor().role],
                           permissions=_permission_labels(actor().role))


def _permission_labels(role) -> list[str]:
    mine = permissions_of(role)
    return [label for permission, label in PERMISSION_LABELS.items() if permission in mine]
