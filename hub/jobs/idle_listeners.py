"""Held-connection push (IMAP IDLE): the listeners plugins offer, run by ``hub idle``.

Plugins hand over listener objects through ``hub_push_listeners``; this module gives them the
accounts to watch and turns each change they see into a de-duplicated sync job. Polling remains
the fallback, so a listener that dies costs latency, never data.
"""

from __future__ import annotations

import logging

from sqlalchemy import select

from hub import work
from hub.account_status import SYNCING
from hub.core import Hub
from hub.models import Account, Calendar
from hub.types import AccountHandle, PushListener

log = logging.getLogger(__name__)


def watched_accounts(hub: Hub, provider: str) -> list[AccountHandle]:
    """Handles of ``provider``'s accounts that sync mail right now."""
    with hub.db.session() as s:
        ids = s.scalars(select(Account.id).where(
            Account.provider == provider, Account.status.in_(SYNCING), Account.needs_reconnect.is_(False),
            Account.mail_enabled.is_(True))).all()
    return [hub.account_handle(account_id) for account_id in ids]


def request_sync(hub: Hub, account_id: int, kind: str, key: str) -> None:
    """A listener saw a change: enqueue the sync it implies (dropped if one is already queued)."""
    if kind == "mail":
        work.enqueue_mail_sync(hub, account_id, key)
        return
    with hub.db.session() as s:
        calendar_id = s.scalar(select(Calendar.id).where(Calendar.account_id == account_id,
                                                         Calendar.remote_id == key))
    if calendar_id is not None:
        work.enqueue_calendar_sync(hub, account_id, calendar_id)


def start_listeners(hub: Hub) -> list[PushListener]:
    """Collect every plugin's listeners and start them."""
    enabled = hub.plugins.enabled_providers()
    results = hub.plugins.hook.hub_push_listeners(
        accounts=lambda provider: watched_accounts(hub, provider) if provider in enabled else [],
        on_change=lambda account_id, kind, key: request_sync(hub, account_id, kind, key),
    )
    listeners = [listener for batch in results if batch for listener in batch]
    for listener in listeners:
        listener.start()
    log.info("started %d push listener(s)", len(listeners))
    return listeners


def stop_listeners(listeners: list[PushListener]) -> None:
    for listener in listeners:
        try:
            listener.stop()
        except Exception:  # stopping is best effort: connections close with the process anyway
            log.exception("stopping a listener failed")
