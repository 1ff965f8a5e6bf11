"""Who is asking, and may they: the decorators every route carries.

Each view declares its access once — :func:`public`, :func:`requires` (UI, session sign-in) or
:func:`api_access` (JSON API: a bearer token, or the UI's own session) — and the view function keeps
it in ``view.access`` so the permission tests can enumerate ``app.url_map`` and check every route
against :data:`hub.permissions.MATRIX`. A route without a declaration fails those tests.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import wraps
from typing import Callable

from flask import current_app, g, jsonify, request
from flask_login import UserMixin, current_user
from sqlalchemy import select

from hub.core import current_hub
from hub.exceptions import PermissionDenied
from hub.models import Role, User
from hub.permissions import ROLE_LABELS, Permission, can

#: ``view.access`` of routes anyone may use (sign-in page, booking pages, webhooks)
PUBLIC = "public"
#: ``view.access`` of routes any signed-in user may use whatever their role
SIGNED_IN = "signed_in"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


@dataclass(eq=False)
class Actor(UserMixin):
    """The user behind a request: plain values copied from the row, never a live ORM object."""

    id: int
    email: str
    name: str
    role: Role
    organization_id: int | None
    timezone: str
    #: the sign-in's token (:mod:`hub.sign_ins`) for a browser session; None for an API token
    session_token: str | None = None

    @classmethod
    def of(cls, user: User, session_token: str | None = None) -> "Actor":
        return cls(user.id, user.email, user.name or user.email, user.role, user.organization_id,
                   user.timezone or "UTC", session_token)

    def get_id(self) -> str:
        # what Flask-Login keeps in the session and the remember-me cookie: the revocable token, not the id
        return self.session_token or ""

    def can(self, permission: Permission | str) -> bool:
        return can(self.role, Permission(permission))

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, str(self.role))


def hash_token(token: str) -> str:
    """The stored form of an API token (only its SHA-256 is kept)."""
    return hashlib.sha256(token.encode()).hexdigest()


def check(actor: Actor, permission: Permission | None) -> None:
    """Raise PermissionDenied unless ``actor``'s role has ``permission`` (None = any signed-in user)."""
    if permission is not None and not actor.can(permission):
        raise PermissionDenied(
            f"Your role ({actor.role_label}) does not allow this.",
            fix="Ask an administrator if you need access.",
        )


def actor() -> Actor:
    """The user of the current request (API token or session)."""
    found = g.get("actor")
    if found is None and current_user.is_authenticated:
        found = current_user._get_current_object()
    if found is None:
        raise PermissionDenied("Sign in first.")
    return found


def public(view: Callable) -> Callable:
    """Mark a view as open to anyone."""
    view.access = PUBLIC
    return view


def requires(permission: Permission | None = None) -> Callable[[Callable], Callable]:
    """A UI view for signed-in users whose role has ``permission`` (None: any signed-in user)."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            from web.extensions import login_manager

            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            check(current_user, permission)
            return view(*args, **kwargs)

        wrapper.access = permission or SIGNED_IN
        return wrapper

    return decorate


def api_access(permission: Permission | None = None, public: bool = False) -> Callable[[Callable], Callable]:
    """A JSON API view: ``Authorization: Bearer <token>``, or the signed-in UI session.

    The session path lets the UI's live parts call the API; a session request that changes
    something must carry the ``X-CSRFToken`` header, like any form. ``public`` views (availability,
    bookings: what a public booking page offers anyway) need neither. Either way the request is then
    checked against its OpenAPI operation and the view reads ``g.params`` and ``g.body``.
    """

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            from web.api.validation import validated_request

            if not public:
                found = _token_actor()
                if found is None and request.headers.get("Authorization"):
                    return _unauthorized("The API token is not valid.", "Create a new token on the Settings page.")
                by_session = found is None and current_user.is_authenticated
                if by_session:
                    found = current_user._get_current_object()
                if found is None:
                    return _unauthorized("An API token is required.", "Send Authorization: Bearer <token>.")
                g.actor = found
                check(found, permission)
                if by_session and request.method not in SAFE_METHODS and current_app.config.get(
                        "WTF_CSRF_ENABLED", True):
                    from web.extensions import csrf

                    csrf.protect()
            g.params, g.body = validated_request()
            return view(*args, **kwargs)

        wrapper.access = PUBLIC if public else (permission or SIGNED_IN)
        return wrapper

    return decorate


def _token_actor() -> Actor | None:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    token = header.removeprefix("Bearer ").strip()
    if not token:
        return None
    with current_hub().db.session() as s:
        user = s.scalar(select(User).where(User.api_token_hash == hash_token(token), User.active.is_(True)))
        return Actor.of(user) if user is not None else None


def _unauthorized(message: str, fix: str):
    response = jsonify(error="Unauthorized", message=message, fix=fix)
    response.status_code = 401
    response.headers["WWW-Authenticate"] = 'Bearer realm="crm-hub"'
    return response
