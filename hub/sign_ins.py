"""Revocable sign-ins: a random token per sign-in, stored hashed (:class:`hub.models.SignInSession`).

The browser's session cookie and remember-me cookie carry the token, never the user id, so each
sign-in has its own value and every request checks it against the table: revoking the row ends the
sign-in at once, wherever the cookie went. Rows are revoked on sign-out, on "sign out everywhere",
and — for every sign-in of the user — whenever their password, role or active flag changes (a
flush listener on :class:`~hub.models.User` in :mod:`hub.models.sessions`, so no code path can
forget it).

Public API: :data:`SESSION_LIFETIME`, :data:`REMEMBER_LIFETIME`, :func:`start`, :func:`user_for`,
:func:`revoke`, :func:`revoke_all`.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hub.models import SignInSession, User, utcnow
from hub.models.sessions import revoke_all

SESSION_LIFETIME = timedelta(hours=12)
REMEMBER_LIFETIME = timedelta(days=14)

__all__ = ["SESSION_LIFETIME", "REMEMBER_LIFETIME", "start", "user_for", "revoke", "revoke_all"]


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(s: Session, user_id: int, remember: bool) -> str:
    """A new sign-in for ``user_id``; returns its token (shown to nobody, kept only hashed)."""
    token = secrets.token_urlsafe(32)
    s.add(SignInSession(user_id=user_id, token_hash=_hash(token),
                        expires_at=utcnow() + (REMEMBER_LIFETIME if remember else SESSION_LIFETIME)))
    return token


def user_for(s: Session, token: str, now: datetime | None = None) -> User | None:
    """The active user signed in with ``token``, or None when it is unknown, revoked or expired."""
    if not token:
        return None
    return s.scalar(sa.select(User).join(SignInSession, SignInSession.user_id == User.id).where(
        SignInSession.token_hash == _hash(token), SignInSession.revoked_at.is_(None),
        SignInSession.expires_at > (now or utcnow()), User.active.is_(True)))


def revoke(s: Session, token: str) -> None:
    """End one sign-in."""
    s.execute(sa.update(SignInSession).where(SignInSession.token_hash == _hash(token),
                                             SignInSession.revoked_at.is_(None)).values(revoked_at=utcnow()))
