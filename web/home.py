"""The signed-in user's start page, and a health check."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template
from flask_login import current_user, login_required
from sqlalchemy import select

from hub.core import current_hub
from hub.models import Account

bp = Blueprint("home", __name__)


@bp.route("/")
@login_required
def index():
    hub = current_hub()
    with hub.db.session() as s:
        accounts = s.scalars(select(Account).where(Account.user_id == current_user.id)).all()
    return render_template("home.html", accounts=accounts, providers=hub.plugins.enabled_providers())


@bp.route("/healthz")
def health():
    hub = current_hub()
    hub.db.check()
    return jsonify(status="ok", providers=sorted(hub.plugins.enabled_providers()))
