"""An account's error log as people read it: identical entries folded into one line with a count and
the last time it happened, each with a "How to fix"; rejected push notifications (forged or stale —
nothing the account's owner can act on) shown to administrators instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.models import Account, AccountError, User

#: areas whose entries are for administrators, not for the account's owner
ADMIN_ONLY_AREAS = ("webhook",)
#: the fix shown when an error came without one of its own
DEFAULT_FIX = "The hub retries automatically. If it keeps happening, reconnect the account on the Integrations page."


@dataclass(frozen=True)
class FoldedError:
    """Identical error-log entries as one line: how often, first and last seen."""

    area: str
    message: str
    fix: str
    count: int
    first_at: datetime
    last_at: datetime
    email: str = ""


def _folded(where, limit: int):
    columns = (AccountError.area, AccountError.error, AccountError.message, AccountError.fix)
    return (select(*columns, Account.email, func.count(AccountError.id), func.min(AccountError.at),
                   func.max(AccountError.at).label("last_at"))
            .join(Account, Account.id == AccountError.account_id).where(*where)
            .group_by(*columns, Account.email).order_by(func.max(AccountError.at).desc()).limit(limit))


def _rows(session: Session, query) -> list[FoldedError]:
    return [FoldedError(area, message, fix or DEFAULT_FIX, count, first, last, email)
            for area, _error, message, fix, email, count, first, last in session.execute(query)]


def for_owner(session: Session, account_id: int, limit: int = 20) -> list[FoldedError]:
    """The account's error log as its owner sees it, newest first."""
    return _rows(session, _folded([AccountError.account_id == account_id,
                                   AccountError.area.not_in(ADMIN_ONLY_AREAS)], limit))


def for_admin(session: Session, organization_id: int | None, limit: int = 50) -> list[FoldedError]:
    """Rejected push notifications of the organization's accounts (every account's without one)."""
    where = [AccountError.area.in_(ADMIN_ONLY_AREAS)]
    if organization_id is not None:
        where.append(Account.user_id.in_(select(User.id).where(User.organization_id == organization_id)))
    return _rows(session, _folded(where, limit))
