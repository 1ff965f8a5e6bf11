"""Sign-in sessions: one row per sign-in, so a session can be revoked on the server."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, Session, mapped_column

from hub.models.base import Base, IdMixin, utcnow


class SignInSession(IdMixin, Base):
    """One sign-in. The browser holds a random token; only its SHA-256 is stored here.

    The token is what the session cookie and the remember-me cookie carry, so revoking the row
    (sign-out, password or role change, "sign out everywhere") ends both at the next request.
    """

    __tablename__ = "sign_in_sessions"
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()


def revoke_all(connection: sa.Connection | Session, user_id: int) -> None:
    """End every sign-in of ``user_id``."""
    connection.execute(sa.update(SignInSession).where(SignInSession.user_id == user_id,
                                                      SignInSession.revoked_at.is_(None)).values(revoked_at=utcnow()))


#: a change to any of these ends the user's sign-ins everywhere
_REVOKING = ("password_hash", "role", "active")


@event.listens_for(Session, "before_flush")
def _revoke_on_credential_change(session: Session, _context, _instances) -> None:
    from hub.models.people import User

    for obj in session.dirty:
        if isinstance(obj, User) and obj.id is not None:
            state = sa.inspect(obj)
            if any(state.attrs[name].history.has_changes() for name in _REVOKING):
                revoke_all(session.connection(), obj.id)
