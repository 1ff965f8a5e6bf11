"""JSON API for the host CRM under ``/api/v1`` (token auth: ``Authorization: Bearer <token>``)."""

from __future__ import annotations

import hashlib
from functools import wraps

from flask import Blueprint, g, jsonify, request
from sqlalchemy import select

from hub import jobs
from hub.connections import connect_account, disconnect_account
from hub.core import current_hub
from hub.exceptions import PermissionDenied, ValidationError
from hub.models import Account, AccountError, User

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
        if not token:
            return jsonify(error="Unauthorized", message="An API token is required.",
                           fix="Send Authorization: Bearer <token>."), 401
        with current_hub().db.session() as s:
            user = s.scalar(select(User).where(User.api_token_hash == hash_token(token), User.active.is_(True)))
            if user is None:
                return jsonify(error="Unauthorized", message="The API token is not valid.", fix=None), 401
            g.api_user_id = user.id
        return view(*args, **kwargs)

    return wrapper


def _own_account(s, account_id: int) -> Account:
    account = s.get(Account, account_id)
    if account is None or account.user_id != g.api_user_id:
        raise PermissionDenied("No such account.")
    return account


def account_json(a: Account) -> dict:
    return {"id": a.id, "provider": a.provider, "email": a.email, "status": a.status.value,
            "last_error": a.last_error, "fix": a.last_fix, "needs_reconnect": a.needs_reconnect,
            "last_synced_at": a.last_synced_at.isoformat() if a.last_synced_at else None}


@bp.get("/accounts")
@token_required
def list_accounts():
    with current_hub().db.session() as s:
        accounts = s.scalars(select(Account).where(Account.user_id == g.api_user_id).order_by(Account.id)).all()
        return jsonify([account_json(a) for a in accounts])


@bp.post("/accounts")
@token_required
def create_account():
    body = request.get_json(silent=True) or {}
    provider = body.pop("provider", None)
    if not provider:
        raise ValidationError("provider is required.", field="provider")
    hub = current_hub()
    if hub.plugins.provider(provider).connect_kind != "form":
        raise ValidationError("This provider connects through OAuth in the web UI.", field="provider")
    account_id = connect_account(hub, g.api_user_id, provider, body)
    with hub.db.session() as s:
        return jsonify(account_json(s.get(Account, account_id))), 201


@bp.get("/accounts/<int:account_id>")
@token_required
def get_account(account_id: int):
    with current_hub().db.session() as s:
        return jsonify(account_json(_own_account(s, account_id)))


@bp.get("/accounts/<int:account_id>/errors")
@token_required
def account_errors(account_id: int):
    with current_hub().db.session() as s:
        _own_account(s, account_id)
        rows = s.scalars(select(AccountError).where(AccountError.account_id == account_id)
                         .order_by(AccountError.at.desc()).limit(100)).all()
        return jsonify([{"at": e.at.isoformat(), "area": e.area, "error": e.error, "message": e.message,
                         "fix": e.fix} for e in rows])


@bp.post("/accounts/<int:account_id>/sync")
@token_required
def sync_account(account_id: int):
    hub = current_hub()
    with hub.db.session() as s:
        _own_account(s, account_id)
    job = jobs.enqueue_account_sync(hub, account_id)
    return jsonify(queued=job is not None, job_id=job.id if job else None), 202


@bp.post("/accounts/<int:account_id>/check")
@token_required
def check_account(account_id: int):
    """Test the connection in the background; the result shows in the account's status."""
    hub = current_hub()
    with hub.db.session() as s:
        _own_account(s, account_id)
    job = hub.queues.enqueue("default", jobs.check_account, account_id, job_id=f"check-{account_id}")
    return jsonify(queued=job is not None, job_id=job.id if job else None), 202


@bp.delete("/accounts/<int:account_id>")
@token_required
def delete_account(account_id: int):
    hub = current_hub()
    with hub.db.session() as s:
        _own_account(s, account_id)
    disconnect_account(hub, account_id)
    return "", 204
