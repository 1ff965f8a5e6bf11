"""Which outbox entries are due: the one query the pull (enqueue a push after a sync) and the push share."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from hub.core import Hub
from hub.models import OutboxEntry, utcnow


def push_due(hub: Hub, account_id: int, now: datetime | None = None) -> bool:
    now = now or utcnow()
    with hub.db.session(write_lock=True) as s:
        return bool(s.scalar(sa.select(OutboxEntry.id).where(*due(account_id, now)).limit(1)))


def due(account_id: int, now: datetime) -> list:
    return [OutboxEntry.account_id == account_id, OutboxEntry.done_at.is_(None),
            sa.or_(OutboxEntry.next_attempt_at.is_(None), OutboxEntry.next_attempt_at <= now)]
