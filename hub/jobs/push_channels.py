"""Keeping provider push channels alive (Google watch channels, Graph subscriptions).

Each synced calendar (and mail folder, where the provider pushes mail) of an account whose provider
declares ``push`` gets a channel pointing at ``/webhooks/<provider>/<account id>``. Channels are
renewed :data:`RENEW_BEFORE` ahead of expiry by the periodic job; a renewal that comes back with a
new channel id stops the old one. Polling stays on as the fallback, so a channel that cannot be
made only costs latency.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select

from hub.account_status import log_error
from hub.accounts import to_channel
from hub.core import Hub
from hub.exceptions import HubError
from hub.models import Account, Calendar, PushChannelRecord, utcnow

log = logging.getLogger(__name__)

RENEW_BEFORE = timedelta(hours=12)


def webhook_address(hub: Hub, provider: str, account_id: int) -> str:
    return f"{hub.settings.base_url.rstrip('/')}/webhooks/{provider}/{account_id}"


def ensure_channels(hub: Hub, account_id: int, force_keys: tuple[str, ...] = ()) -> int:
    """Create missing channels and renew those close to expiry; returns how many were (re)made.

    :param force_keys: channels on these keys (calendar ids / folders; "" = every channel) are
        renewed however fresh they look — the provider said the channel is gone or needs
        reauthorizing (Graph ``subscriptionRemoved``, ``reauthorizationRequired``).
    """
    with hub.db.session(write_lock=True) as s:
        account = s.get(Account, account_id)
        provider = hub.plugins.provider(account.provider)
        if not provider.can("push"):
            return 0
        wanted = [("calendar", key) for key in s.scalars(select(Calendar.remote_id).where(
            Calendar.account_id == account_id, Calendar.sync_enabled.is_(True)))] if account.calendar_enabled else []
        if account.mail_enabled and provider.can("mail"):
            wanted.append(("mail", "inbox"))
        existing = {(c.kind, c.key): c for c in s.scalars(
            select(PushChannelRecord).where(PushChannelRecord.account_id == account_id))}
        stale = [to_channel(c) for k, c in existing.items() if k not in wanted]
        forced = {k for k in existing if k[1] in force_keys or "" in force_keys}
        current = {k: (to_channel(c) if c.expires_at - RENEW_BEFORE > utcnow() and k not in forced else None,
                       to_channel(c)) for k, c in existing.items()}
        address = webhook_address(hub, account.provider, account_id)
    handle = hub.account_handle(account_id)
    made = 0
    for kind, key in wanted:
        fresh_enough, old = current.get((kind, key), (None, None))
        if fresh_enough is not None:
            continue
        try:
            channel = hub.plugins.maybe_call("hub_watch", account=handle, kind=kind, key=key, address=address, renew=old)
        except HubError as exc:
            with hub.db.session(write_lock=True) as s:
                log_error(s, s.get(Account, account_id), exc, "push")
            continue
        if channel is None:  # no push for this kind: polling only
            continue
        with hub.db.session(write_lock=True) as s:
            s.query(PushChannelRecord).filter_by(account_id=account_id, kind=kind, key=key).delete()
            s.add(PushChannelRecord(account_id=account_id, kind=kind, key=key, channel_id=channel.channel_id,
                                    resource_id=channel.resource_id, token={"token": channel.token},
                                    expires_at=channel.expires_at))
        made += 1
        if old is not None and old.channel_id != channel.channel_id:
            stale.append(old)
    for channel in stale:
        _stop(hub, handle, channel)
        with hub.db.session(write_lock=True) as s:
            s.query(PushChannelRecord).filter_by(channel_id=channel.channel_id).delete()
    return made


def _stop(hub: Hub, handle, channel) -> None:
    try:
        hub.plugins.maybe_call("hub_unwatch", account=handle, channel=channel)
    except HubError:
        log.info("could not stop channel %s; it expires on its own", channel.channel_id)
