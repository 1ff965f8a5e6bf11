"""API: the caller's accounts — list, connect (form providers), status, error log, disconnect, syncs."""

from __future__ import annotations

from flask import abort, g, jsonify
from sqlalchemy import select

from hub import jobs, work
from hub.accounts import connect_account, disconnect_account
from hub.core import current_hub
from hub.error_log import ADMIN_ONLY_AREAS
from hub.exceptions import ValidationError
from hub.models import Account, AccountError, AccountStatus, Calendar, SyncCursor
from hub.permissions import Permission, permissions_of
from web.access import api_access
from web.api import bp
from web.mail import folder_progress


def own_account(s, account_id: int) -> Account:
    """The caller's account ``account_id``; 404 for anyone else's (its existence is not revealed)."""
    account = s.get(Account, account_id)
    if account is None or account.user_id != g.actor.id:
        abort(404)
    return account


def account_json(a: Account) -> dict:
    return {"id": a.id, "provider": a.provider, "email": a.email, "status": a.status.value,
            "last_error": a.last_error, "fix": a.last_fix, "needs_reconnect": a.needs_reconnect,
            "mail_enabled": a.mail_enabled, "calendar_enabled": a.calendar_enabled,
            "last_synced_at": a.last_synced_at.isoformat() if a.last_synced_at else None}


@bp.get("/me")
@api_access()
def me():
    actor = g.actor
    return jsonify(id=actor.id, email=actor.email, name=actor.name, role=actor.role.value,
                   permissions=sorted(p.value for p in permissions_of(actor.role)))


@bp.get("/accounts")
@api_access(Permission.CONNECT)
def list_accounts():
    with current_hub().db.session() as s:
        accounts = s.scalars(select(Account).where(Account.user_id == g.actor.id).order_by(Account.id)).all()
        return jsonify([account_json(a) for a in accounts])


@bp.post("/accounts")
@api_access(Permission.CONNECT)
def create_account():
    """Connect a form-based account (IMAP, iCloud): the credentials are checked at the provider first."""
    body = {k: v if isinstance(v, str) else str(v).lower() if isinstance(v, bool) else str(v)
            for k, v in g.body.items()}
    provider = body.pop("provider")
    hub = current_hub()
    if provider not in hub.plugins.enabled_providers():
        raise ValidationError(f"No enabled provider is called {provider!r}.",
                              fix=f"Use one of: {', '.join(sorted(hub.plugins.enabled_providers())) or 'none'}.",
                              field="provider")
    if hub.plugins.provider(provider).connect_kind != "form":
        raise ValidationError("This provider connects through OAuth in the web UI.", field="provider")
    account_id = connect_account(hub, g.actor.id, provider, body)
    with hub.db.session() as s:
        return jsonify(account_json(s.get(Account, account_id))), 201


@bp.get("/accounts/<int:account_id>")
@api_access(Permission.CONNECT)
def get_account(account_id: int):
    with current_hub().db.session() as s:
        return jsonify(account_json(own_account(s, account_id)))


@bp.delete("/accounts/<int:account_id>")
@api_access(Permission.CONNECT)
def delete_account(account_id: int):
    """Disconnect: revokes access, deactivates meeting types that booked into it."""
    hub = current_hub()
    with hub.db.session() as s:
        own_account(s, account_id)
    disconnect_account(hub, account_id)
    return "", 204


@bp.get("/accounts/<int:account_id>/errors")
@api_access(Permission.CONNECT)
def account_errors(account_id: int):
    with current_hub().db.session() as s:
        own_account(s, account_id)
        rows = s.scalars(select(AccountError).where(AccountError.account_id == account_id,
                                                    AccountError.area.not_in(ADMIN_ONLY_AREAS))
                         .order_by(AccountError.at.desc()).limit(100)).all()
        return jsonify([{"at": e.at.isoformat(), "area": e.area, "error": e.error, "message": e.message,
                         "fix": e.fix} for e in rows])


@bp.get("/accounts/<int:account_id>/sync-status")
@api_access(Permission.CONNECT)
def sync_status(account_id: int):
    """Initial-sync progress per mail folder and whether each synced calendar finished its first pass."""
    with current_hub().db.session() as s:
        account = own_account(s, account_id)
        folders = folder_progress(s, account_id)
        done = set(s.scalars(select(SyncCursor.key).where(
            SyncCursor.account_id == account_id, SyncCursor.kind == "calendar", SyncCursor.initial_done.is_(True))))
        calendars = [{"id": c.id, "name": c.name, "synced": c.remote_id in done} for c in s.scalars(
            select(Calendar).where(Calendar.account_id == account_id, Calendar.sync_enabled.is_(True)))]
        mail_done = not account.mail_enabled or (bool(folders) and all(f.finished for f in folders))
        return jsonify(account_id=account_id, status=account.status.value, mail_enabled=account.mail_enabled,
                       finished=mail_done and all(c["synced"] for c in calendars),
                       folders=[f.as_dict() for f in folders], calendars=calendars)


@bp.post("/accounts/<int:account_id>/sync")
@api_access(Permission.CONNECT)
def sync_account(account_id: int):
    hub = current_hub()
    with hub.db.session() as s:
        own_account(s, account_id)
    job = work.enqueue_account_sync(hub, account_id)
    return jsonify(queued=job is not None, job_id=job.id if job else None), 202


@bp.post("/accounts/<int:account_id>/check")
@api_access(Permission.CONNECT)
def check_account(account_id: int):
    """Test the connection in the background; the result shows in the account's status."""
    hub = current_hub()
    with hub.db.session() as s:
        own_account(s, account_id)
    job = hub.queues.enqueue("default", jobs.check_account, account_id, job_id=f"check-{account_id}")
    return jsonify(queued=job is not None, job_id=job.id if job else None), 202


@bp.post("/sync")
@api_access(Permission.CONNECT)
def sync_all():
    """Queue a sync of every account of the caller that may sync."""
    hub = current_hub()
    with hub.db.session() as s:
        ids = s.scalars(select(Account.id).where(
            Account.user_id == g.actor.id, Account.status.in_([AccountStatus.ENABLED, AccountStatus.ERROR]),
            Account.needs_reconnect.is_(False))).all()
    queued = [i for i in ids if work.enqueue_account_sync(hub, i) is not None]
    return jsonify(queued=queued), 202
