"""Google Calendar push channels: watch, stop, and checking the notifications they bring.

A channel gets a random id and a random secret token; Google echoes the token in
``X-Goog-Channel-Token`` on every notification, which is how a notification is told from a forgery.
Channel ids and resource ids (not the tokens) are also kept in the account settings, so a
disconnect can stop every channel even when the core does not pass them.
Gmail push needs Google Cloud Pub/Sub, which a self-hosted hub cannot assume: mail is polled.
"""

from __future__ import annotations

import hmac
import secrets
import uuid
from datetime import datetime, timezone

from hub.exceptions import HubError, WebhookRejected
from hub.types import AccountHandle, PushChannel, SyncTarget, WebhookRequest, WebhookResult

from hub_google.calendar_api import CalendarAPI

SETTING = "channels"


def watch(api: CalendarAPI, account: AccountHandle, calendar_id: str, address: str,
          renew: PushChannel | None) -> PushChannel:
    """A new channel on ``calendar_id``'s events; the channel it renews is stopped once the new one runs."""
    channel_id, token = str(uuid.uuid4()), secrets.token_urlsafe(32)
    body = api.watch(calendar_id, channel_id, address, token)
    channel = PushChannel(
        channel_id=body.get("id", channel_id),
        expires_at=datetime.fromtimestamp(int(body["expiration"]) / 1000, timezone.utc),
        resource_id=body.get("resourceId"),
        token=token,
        calendar_id=calendar_id,
    )
    _remember(account, channel)
    if renew is not None:
        stop(api, account, renew)
    return channel


def stop(api: CalendarAPI | None, account: AccountHandle, channel: PushChannel) -> None:
    """channels.stop; a channel Google no longer knows (or an account that cannot call) counts as stopped."""
    try:
        if api is not None:
            api.stop(channel.channel_id, channel.resource_id)
    except HubError:
        pass
    _forget(account, channel.channel_id)


def _remember(account: AccountHandle, channel: PushChannel) -> None:
    known = [c for c in account.settings.get(SETTING, []) if c.get("id") != channel.channel_id]
    known.append({"id": channel.channel_id, "resource_id": channel.resource_id, "calendar_id": channel.calendar_id})
    account.update_settings(**{SETTING: known})


def _forget(account: AccountHandle, channel_id: str) -> None:
    known = account.settings.get(SETTING, [])
    if any(c.get("id") == channel_id for c in known):
        account.update_settings(**{SETTING: [c for c in known if c.get("id") != channel_id]})


def remembered(account: AccountHandle) -> list[PushChannel]:
    """The channels this account's settings list (for a disconnect)."""
    return [PushChannel(channel_id=c["id"], expires_at=datetime.now(timezone.utc), resource_id=c.get("resource_id"),
                        calendar_id=c.get("calendar_id")) for c in account.settings.get(SETTING, [])]


def handle(request: WebhookRequest, channels: list[PushChannel]) -> WebhookResult:
    """Check a notification against the live channels and say which calendar to sync.

    ``sync`` is the handshake after a channel was made (nothing to do); ``exists`` and
    ``not_exists`` mean the calendar changed.
    """
    headers = {k.lower(): v for k, v in request.headers.items()}
    channel_id = headers.get("x-goog-channel-id")
    if not channel_id:
        raise WebhookRejected("The notification is not from Google Calendar (no channel id).")
    channel = next((c for c in channels if c.channel_id == channel_id), None)
    if channel is None and headers.get("x-goog-resource-state") == "sync":
        # Google sends the handshake while events.watch is still answering, before the hub has
        # stored the channel; it asks for nothing, so acknowledging it unverified is harmless
        return WebhookResult(status=200)
    if channel is None:
        raise WebhookRejected(f"The notification names channel {channel_id}, which the hub does not hold.")
    token = headers.get("x-goog-channel-token", "")
    if not channel.token or not hmac.compare_digest(token.encode(), channel.token.encode()):
        raise WebhookRejected("The notification's channel token does not match.")
    resource = headers.get("x-goog-resource-id")
    if channel.resource_id and resource and resource != channel.resource_id:
        raise WebhookRejected("The notification is about another resource than its channel watches.")
    if headers.get("x-goog-resource-state") == "sync":
        return WebhookResult(status=200)
    return WebhookResult(status=200, syncs=[SyncTarget(kind="calendar", key=channel.calendar_id)])
