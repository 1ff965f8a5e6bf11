"""The per-user daily cap on synced emails (docs/product-rules.md#plans-and-limits).

Public API, used by :mod:`hub.sync.mail` inside each page's transaction:

* :func:`daily_cap` — the cap from the user's plan (``None`` = unlimited, also for users without a plan);
* :func:`remaining_today` — how many more may sync today, to size the next page request;
* :func:`reserve` — lock today's usage row and return how many of a page may be stored, so two
  folders syncing at once cannot together overshoot the cap;
* :func:`record` — count what was stored, and remember when mail had to wait.

Mail over the cap is *deferred*, never dropped: the engine stores the page only up to the cap and
leaves the cursor before the rest, so the next day's sync picks it up. Days are the user's local
days (``User.timezone``), so "tomorrow" is when the user expects it.
"""

from __future__ import annotations

from datetime import date, datetime, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from hub.models import MailUsage, Plan, User


def daily_cap(session: Session, user_id: int) -> int | None:
    """The number of emails ``user_id``'s accounts may sync per day, or ``None`` for no cap."""
    return session.scalar(
        sa.select(Plan.daily_mail_cap).join(User, User.plan_id == Plan.id).where(User.id == user_id)
    )


def usage_day(session: Session, user_id: int, now: datetime | None = None) -> date:
    """The user's local calendar day at ``now`` (UTC when the user's zone is unknown)."""
    now = now or datetime.now(timezone.utc)
    zone_name = session.scalar(sa.select(User.timezone).where(User.id == user_id)) or "UTC"
    zone: tzinfo
    try:
        zone = ZoneInfo(zone_name)
    except (KeyError, ValueError):  # a bad zone name must not stop mail sync
        zone = timezone.utc
    return now.astimezone(zone).date()


def synced_on(session: Session, user_id: int, day: date) -> int:
    """How many emails the user's accounts synced on ``day``."""
    return session.scalar(
        sa.select(MailUsage.count).where(MailUsage.user_id == user_id, MailUsage.day == day)
    ) or 0


def remaining_today(session: Session, user_id: int, now: datetime | None = None) -> int | None:
    """How many more emails may sync today (``None`` = unlimited); never negative."""
    cap = daily_cap(session, user_id)
    if cap is None:
        return None
    return max(0, cap - synced_on(session, user_id, usage_day(session, user_id, now)))


def reserve(session: Session, user_id: int, now: datetime | None = None) -> int | None:
    """Lock today's usage row for this transaction and return how many more may be stored.

    The row lock (an upsert on PostgreSQL; the write lock on SQLite) is held until the page's
    transaction commits, so a concurrent page of another folder waits and then sees our count.
    Taken without a cap too, as the page's first lock: :func:`record` locks the row at the end
    anyway, and two pages of one user that took thread keys (and a split folder's progress row)
    before it deadlocked on PostgreSQL (bench/mail_sync.py --database-url: "deadlock detected"
    between two parts of INBOX). First for every page, it orders the user's pages instead.
    """
    cap = daily_cap(session, user_id)
    day = usage_day(session, user_id, now)
    _upsert(session, user_id, day, add=0)
    return None if cap is None else max(0, cap - synced_on(session, user_id, day))


def record(session: Session, user_id: int, stored: int, deferred: bool, now: datetime | None = None) -> None:
    """Add ``stored`` to today's count; ``deferred`` notes that mail is waiting for a later day."""
    _upsert(session, user_id, usage_day(session, user_id, now), add=stored, deferred=deferred)


def _upsert(session: Session, user_id: int, day: date, add: int, deferred: bool = False) -> None:
    dialect = session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(MailUsage)
    stmt = insert.values(user_id=user_id, day=day, count=add, deferred=deferred)
    update: dict[str, Any] = {"count": MailUsage.count + add}
    if deferred:
        update["deferred"] = True
    session.execute(stmt.on_conflict_do_update(index_elements=["user_id", "day"], set_=update))
