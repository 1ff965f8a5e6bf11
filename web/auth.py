"""Sign-in and sign-out (Flask-Login), and loading the signed-in user."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import UserMixin, login_required, login_user, logout_user
from werkzeug.security import check_password_hash

from hub.core import current_hub
from hub.models import User
from web.extensions import login_manager

bp = Blueprint("auth", __name__)


class SignedInUser(UserMixin):
    """What Flask-Login keeps for a request: plain values, no live ORM object."""

    def __init__(self, user: User):
        self.id = user.id
        self.email = user.email
        self.name = user.name
        self.role = user.role

    def get_id(self) -> str:
        return str(self.id)


@login_manager.user_loader
def load_user(user_id: str):
    with current_hub().db.session() as s:
        user = s.get(User, int(user_id))
        return SignedInUser(user) if user and user.active else None


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "POST":
        email = request.form.get("email", "").strip().lower()
        with current_hub().db.session() as s:
            user = s.query(User).filter(User.email == email).one_or_none()
            ok = user is not None and user.active and user.password_hash and check_password_hash(
                user.password_hash, request.form.get("password", ""))
            signed_in = SignedInUser(user) if ok else None
        if signed_in:
            login_user(signed_in, remember=bool(request.form.get("remember")))
            return redirect(request.args.get("next") or url_for("home.index"))
        flash("Wrong email or password.", "error")
    return render_template("login.html")


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    logout_user()
    return redirect(url_for("auth.login"))
