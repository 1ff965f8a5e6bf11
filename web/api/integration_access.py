"""Who may use the host CRM's routes: an integration token with the right scope, or a user whose role may.

Integration tokens (``hubi_…``) belong to an organization, carry scopes (``read``, ``write``,
``webhooks_admin``) and act for the organization, not for a person. Users keep their own tokens and
the UI session, checked by :func:`web.access.api_access` with the route's permission. Either way the
route works inside :func:`organization_id`.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from functools import wraps
from typing import Callable

from flask import g, request
from sqlalchemy import select

from hub.core import current_hub
from hub.exceptions import PermissionDenied
from hub.models import IntegrationToken, utcnow
from hub.permissions import Permission
from web.access import actor, api_access, hash_token

TOKEN_PREFIX = "hubi_"
SCOPES = ("read", "write", "webhooks_admin")
#: last-used is written at most this often per token (one write per request would serialize them)
LAST_USED_GRANULARITY = timedelta(minutes=1)


def new_token() -> str:
    """A fresh integration token (shown once; only its hash is stored)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def integration_access(permission: Permission, scope: str) -> Callable[[Callable], Callable]:
    """A host-CRM API view: an integration token with ``scope``, or a user with ``permission``."""
    if scope not in SCOPES:
        raise ValueError(scope)

    def decorate(view: Callable) -> Callable:
        by_user = api_access(permission)(view)

        @wraps(view)
        def wrapper(*args, **kwargs):
            from web.api.validation import validated_request

            header = request.headers.get("Authorization", "")
            token = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
            found = _token_scopes(token) if token.startswith(TOKEN_PREFIX) else None
            if found is None:  # a user's token or session (a revoked integration token fails there too)
                g.organization_id = None
                return by_user(*args, **kwargs)
            g.organization_id, scopes = found
            if scope not in scopes:
                raise PermissionDenied(f"This token's scopes ({', '.join(scopes) or 'none'}) do not allow this.",
                                       fix=f"Use a token with the {scope!r} scope.")
            g.params, g.body = validated_request()
            return view(*args, **kwargs)

        wrapper.access = permission
        wrapper.scope = scope
        return wrapper

    return decorate


def _token_scopes(token: str) -> tuple[int, list[str]] | None:
    with current_hub().db.session() as s:
        row = s.scalar(select(IntegrationToken).where(IntegrationToken.token_hash == hash_token(token),
                                                      IntegrationToken.revoked_at.is_(None)))
        if row is None:
            return None
        now = utcnow()
        if row.last_used_at is None or now - row.last_used_at > LAST_USED_GRANULARITY:
            row.last_used_at = now
        return row.organization_id, list(row.scopes or [])


def organization_id() -> int:
    """The organization the current request works in (the token's, or the user's)."""
    found = g.get("organization_id") or actor().organization_id
    if found is None:
        raise PermissionDenied("Your user belongs to no organization.", fix="Ask an administrator to add you to one.")
    return found
