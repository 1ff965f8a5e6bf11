"""Admin → Users & connections: every user's role, plan and the status of each of their accounts."""

from __future__ import annotations

from collections import defaultdict

from flask import flash, redirect, render_template, request, url_for
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from hub.core import current_hub
from hub.exceptions import ValidationError
from hub.models import Account, Organization, Plan, Role, User
from hub.permissions import ROLE_LABELS, Permission
from web.access import actor, requires
from web.admin import bp

MIN_PASSWORD = 8


def _plan_id(s, raw: str | None) -> int | None:
    if not raw:
        return None
    plan = s.get(Plan, int(raw)) if raw.isdigit() else None
    if plan is None:
        raise ValidationError("No such plan.", field="plan")
    return plan.id


def _role(raw: str | None) -> Role:
    try:
        return Role(raw)
    except ValueError:
        raise ValidationError("Choose a role.", field="role") from None


@bp.route("/users")
@requires(Permission.ADMIN)
def users():
    hub = current_hub()
    with hub.db.session() as s:
        people = s.scalars(select(User).order_by(User.email)).all()
        accounts = defaultdict(list)
        for account in s.scalars(select(Account).order_by(Account.id)):
            accounts[account.user_id].append(account)
        plans = s.scalars(select(Plan).order_by(Plan.name)).all()
        orgs = s.scalars(select(Organization).order_by(Organization.name)).all()
    return render_template("admin/users.html", people=people, accounts=accounts, plans=plans, orgs=orgs,
                           roles=ROLE_LABELS, labels={n: p.label for n, p in hub.plugins.providers.items()})


@bp.route("/users/<int:user_id>", methods=["POST"])
@requires(Permission.ADMIN)
def save_user(user_id: int):
    """Change a user's role, plan or whether they may sign in."""
    with current_hub().db.session() as s:
        user = s.get(User, user_id)
        if user is None:
            raise ValidationError("No such user.")
        role = _role(request.form.get("role"))
        active = bool(request.form.get("active"))
        if user.id == actor().id and (role != Role.ADMIN or not active):
            raise ValidationError("You cannot take away your own administrator access.",
                                  fix="Ask another administrator to do it.", field="role")
        user.role, user.active = role, active
        user.plan_id = _plan_id(s, request.form.get("plan"))
        email = user.email
    flash(f"{email} saved.", "success")
    return redirect(url_for("admin.users"))


@bp.route("/users/new", methods=["POST"])
@requires(Permission.ADMIN)
def create_user():
    """Add a user who signs in with an email and password."""
    email = request.form.get("email", "").strip().lower()
    password = request.form.get("password", "")
    if "@" not in email:
        raise ValidationError("Enter the user's email address.", field="email")
    if len(password) < MIN_PASSWORD:
        raise ValidationError(f"The password needs at least {MIN_PASSWORD} characters.", field="password")
    with current_hub().db.session() as s:
        if s.scalar(select(func.count(User.id)).where(func.lower(User.email) == email)):
            raise ValidationError(f"{email} already has an account.", field="email")
        me = s.get(User, actor().id)
        s.add(User(email=email, name=request.form.get("name", "").strip(), role=_role(request.form.get("role")),
                   password_hash=generate_password_hash(password), plan_id=_plan_id(s, request.form.get("plan")),
                   organization_id=me.organization_id))
    flash(f"{email} can now sign in.", "success")
    return redirect(url_for("admin.users"))
