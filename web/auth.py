"""Sign-in and sign-out (Flask-Login), with rate limiting, and loading the signed-in user."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from sqlalchemy import func, select
from werkzeug.security import check_password_hash

from hub import sign_ins
from hub.core import current_hub
from hub.models import User
from web.access import Actor, public, requires
from web.extensions import login_manager
from web.login_throttle import LoginThrottle

bp = Blueprint("auth", __name__)

#: compared against when the address is unknown, so both cases take the same time
_DUMMY_HASH = "scrypt:32768:8:1$hubdummysalt0000$" + "0" * 128


@login_manager.user_loader
def load_user(token: str) -> Actor | None:
    """Every request: the sign-in behind the cookie's token, unless it was revoked or expired."""
    with current_hub().db.session() as s:
        user = sign_ins.user_for(s, token)
        return Actor.of(user, token) if user is not None else None


def _throttle() -> LoginThrottle:
    return LoginThrottle(current_hub().queues.connection)


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never an open redirect to another host."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//"):
            return target
    return url_for("integrations.index")


def _check_password(email: str, password: str) -> Actor | None:
    with current_hub().db.session() as s:
        user = s.scalar(select(User).where(func.lower(User.email) == email))
        stored = user.password_hash if user is not None and user.password_hash else _DUMMY_HASH
        try:
            ok = check_password_hash(stored, password)
        except ValueError:  # the dummy hash
            ok = False
        if ok and user is not None and user.active:
            return Actor.of(user)
    return None


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    """The sign-in form; five wrong passwords in 15 minutes pause the address for this client."""
    status = 200
    if request.method == "POST":
        email = request.form.get("email", "").strip().lower()
        ip = request.remote_addr or "unknown"
        throttle = _throttle()
        wait = throttle.retry_after(ip, email)
        if wait is not None:
            minutes = max(1, round(wait / 60))
            flash(f"Too many failed sign-ins. Try again in {minutes} minute{'s' if minutes != 1 else ''}.", "error")
            return render_template("login.html", email=email), 429
        signed_in = _check_password(email, request.form.get("password", ""))
        if signed_in is not None:
            throttle.succeeded(ip, email)
            target = _safe_next(request.args.get("next"))
            session.clear()  # nothing from before sign-in carries over
            remember = bool(request.form.get("remember"))
            with current_hub().db.session() as s:
                signed_in.session_token = sign_ins.start(s, signed_in.id, remember)
            login_user(signed_in, remember=remember, duration=sign_ins.REMEMBER_LIFETIME)
            return redirect(target)
        throttle.failed(ip, email)
        flash("Wrong email or password.", "error")
        status = 401
    return render_template("login.html", email=request.form.get("email", "")), status


@bp.route("/logout", methods=["POST"])
@requires()
def logout():
    """End this sign-in on the server too: its cookies stop working even if copied elsewhere."""
    with current_hub().db.session() as s:
        sign_ins.revoke(s, current_user.session_token or "")
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


@bp.route("/sign-out-everywhere", methods=["POST"])
@requires()
def sign_out_everywhere():
    """End every sign-in of this user, on every browser, this one included."""
    with current_hub().db.session() as s:
        sign_ins.revoke_all(s, current_user.id)
    logout_user()
    session.clear()
    flash("You were signed out everywhere.", "info")
    return redirect(url_for("auth.login"))
