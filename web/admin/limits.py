"""Admin → Plans & limits: daily mail caps per plan, and the company's cap on synced mailboxes.

Raising the mailbox cap promotes Pending accounts at once (oldest first) and starts their sync.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from sqlalchemy import func, select

from hub.accounts import ACTIVE, promote_pending_accounts
from hub.core import current_hub
from hub.exceptions import ValidationError
from hub.models import Account, AccountStatus, Organization, Plan, User
from hub.permissions import Permission
from web.access import requires
from web.admin import bp


def optional_count(raw: str | None, label: str, field: str) -> int | None:
    """A limit from a form: empty means unlimited; otherwise a whole number ≥ 0."""
    raw = (raw or "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise ValidationError(f"{label} must be a whole number, or empty for no limit.", field=field)
    return int(raw)


@bp.route("/limits")
@requires(Permission.ADMIN)
def limits():
    with current_hub().db.session() as s:
        plans = s.scalars(select(Plan).order_by(Plan.name)).all()
        members = dict(s.execute(select(User.plan_id, func.count()).group_by(User.plan_id)).all())
        orgs = s.scalars(select(Organization).order_by(Organization.name)).all()
        used = {}
        pending = {}
        for org in orgs:
            base = select(func.count(Account.id)).join(User, User.id == Account.user_id).where(
                User.organization_id == org.id, Account.mail_enabled.is_(True))
            used[org.id] = s.scalar(base.where(Account.status.in_(ACTIVE)))
            pending[org.id] = s.scalar(base.where(Account.status == AccountStatus.PENDING))
        return render_template("admin/limits.html", plans=plans, members=members, orgs=orgs, used=used,
                               pending=pending)


@bp.route("/plans", methods=["POST"])
@requires(Permission.ADMIN)
def save_plan():
    """Create a plan or change its daily mail cap (empty = unlimited)."""
    name = request.form.get("name", "").strip()
    if not name:
        raise ValidationError("Give the plan a name.", field="name")
    cap = optional_count(request.form.get("daily_mail_cap"), "The daily cap", "daily_mail_cap")
    with current_hub().db.session() as s:
        plan = s.scalar(select(Plan).where(Plan.name == name))
        if plan is None:
            plan = Plan(name=name)
            s.add(plan)
            s.flush()  # the column default (100) fires on INSERT for None; "unlimited" is set after
        plan.daily_mail_cap = cap
    flash(f"Plan {name} saved: {'no daily limit' if cap is None else f'{cap} emails per day'}.", "success")
    return redirect(url_for("admin.limits"))


@bp.route("/organizations/<int:org_id>/mailbox-cap", methods=["POST"])
@requires(Permission.ADMIN)
def save_mailbox_cap(org_id: int):
    """Set the company's synced-mailbox cap; Pending mailboxes that now fit start syncing."""
    cap = optional_count(request.form.get("mailbox_cap"), "The mailbox cap", "mailbox_cap")
    hub = current_hub()
    with hub.db.session() as s:
        org = s.get(Organization, org_id)
        if org is None:
            raise ValidationError("No such company.")
        org.mailbox_cap = cap
    promoted = promote_pending_accounts(hub, org_id)
    note = f" {len(promoted)} waiting mailbox{'es' if len(promoted) != 1 else ''} started syncing." if promoted else ""
    flash(f"Mailbox limit saved.{note}", "success")
    return redirect(url_for("admin.limits"))
