"""Graph change notifications: subscriptions (watch, renew, unwatch) and the webhook handler.

A subscription watches ``me/calendars/{id}/events`` or ``me/mailFolders('inbox')/messages``. Its
``clientState`` is a fresh random secret, kept as ``PushChannel.token``; every notification must echo
it. Graph validates the webhook address before it answers the create: it POSTs
``?validationToken=…`` and wants the token back as ``text/plain`` within 10 s —
:func:`handle_webhook` answers that without touching Graph. Lifecycle notifications (sent to the
same address) ask the core to re-create channels (``reauthorizationRequired``,
``subscriptionRemoved``) or to resync from scratch (``missed``).
"""

from __future__ import annotations

import hmac
import json
import secrets
from datetime import datetime, timedelta, timezone

from hub.exceptions import HubError, NotFound, ProviderError, WebhookRejected
from hub.types import AccountHandle, PushChannel, SyncTarget, WebhookRequest, WebhookResult

from hub_office365 import mapping
from hub_office365.graph import GraphClient
from hub_office365.mail_api import FOLDERS

#: requested lifetime; Graph's documented maximum for events and messages is 4230 minutes (newer
#: documentation says 10080), so asking for a little less than the old limit works everywhere
LIFETIME = timedelta(minutes=4200)
CHANGE_TYPES = "created,updated,deleted"


def _resource(kind: str, key: str) -> str | None:
    """The Graph resource a channel for ``kind``/``key`` watches; None when Graph cannot watch it."""
    if kind == "calendar":
        return f"me/calendars/{key}/events"
    if kind == "mail" and key in FOLDERS:
        return f"me/mailFolders('{FOLDERS[key]}')/messages"
    return None


def _expiry() -> str:
    return (datetime.now(timezone.utc) + LIFETIME).strftime("%Y-%m-%dT%H:%M:%SZ")


def watch(account: AccountHandle, kind: str, key: str, address: str, renew: PushChannel | None) -> PushChannel | None:
    """Create a subscription, or renew ``renew`` (PATCH its expiry; re-create it if Graph dropped it).

    Returns None for what Graph cannot watch (the core then polls).
    """
    resource = _resource(kind, key)
    if resource is None:
        return None
    client = GraphClient(account)
    if renew is not None:
        try:
            data = client.request("PATCH", f"/subscriptions/{renew.channel_id}",
                                  json={"expirationDateTime": _expiry()}).json()
            return PushChannel(channel_id=renew.channel_id, expires_at=mapping.parse_stamp(data["expirationDateTime"]),
                               resource_id=renew.resource_id, token=renew.token, calendar_id=renew.calendar_id,
                               folder=renew.folder)
        except NotFound:
            pass  # removed by Graph meanwhile: make a new one
    secret = secrets.token_urlsafe(48)  # clientState is at most 128 characters
    body = {"changeType": CHANGE_TYPES, "notificationUrl": address, "lifecycleNotificationUrl": address,
            "resource": resource, "expirationDateTime": _expiry(), "clientState": secret,
            "latestSupportedTlsVersion": "v1_2"}
    try:
        data = client.post("/subscriptions", body).json()
    except ProviderError as exc:
        if "ValidationError" in exc.message or "validation" in exc.message.lower():
            raise ProviderError(f"Microsoft 365 could not reach the hub's webhook address {address}.",
                                fix="The hub's public URL must be reachable from the internet over https; until "
                                    "it is, changes are picked up by polling.") from exc
        raise
    return PushChannel(channel_id=data["id"], expires_at=mapping.parse_stamp(data["expirationDateTime"]),
                       resource_id=resource, token=secret, calendar_id=key if kind == "calendar" else None,
                       folder=key if kind == "mail" else None)


def unwatch(account: AccountHandle, channel: PushChannel) -> bool:
    """Delete the subscription; one that is already gone (or unreachable) counts as stopped."""
    try:
        GraphClient(account).request("DELETE", f"/subscriptions/{channel.channel_id}")
    except HubError:
        pass
    return True


def delete_all(account: AccountHandle) -> None:
    """Delete every subscription this app holds for the account and whose address is this hub's."""
    client = GraphClient(account)
    prefix = account.context.base_url.rstrip("/") + "/"
    for item in client.collect("/subscriptions"):
        if str(item.get("notificationUrl") or "").startswith(prefix):
            try:
                client.request("DELETE", f"/subscriptions/{item['id']}")
            except HubError:
                pass


def handle_webhook(request: WebhookRequest, channels: list[PushChannel]) -> WebhookResult:
    """Answer a validation handshake, or verify a notification batch and say what to sync."""
    token = request.args.get("validationToken")
    if token is not None:
        return WebhookResult(status=200, body=token, content_type="text/plain")
    try:
        notifications = json.loads(request.body or b"{}").get("value")
    except (ValueError, AttributeError) as exc:
        raise WebhookRejected("The notification is not Graph's JSON.") from exc
    if not isinstance(notifications, list) or not notifications:
        raise WebhookRejected("The notification holds no changes.")
    by_id = {c.channel_id: c for c in channels}
    syncs: list[SyncTarget] = []
    for item in notifications:
        # Graph batches items of every subscription sharing this address and retries failed
        # deliveries: each item is judged on its own, so a stale or forged one never hides a real change
        channel = by_id.get(str(item.get("subscriptionId"))) if isinstance(item, dict) else None
        if channel is None or not channel.token or not hmac.compare_digest(
                str(item.get("clientState") or "").encode(), channel.token.encode()):
            continue
        target = _target(channel, item)
        if target not in syncs:
            syncs.append(target)
    if not syncs:
        raise WebhookRejected("No Microsoft 365 notification carried a known subscription and clientState.")
    return WebhookResult(status=202, syncs=syncs)


def _target(channel: PushChannel, item: dict) -> SyncTarget:
    kind, key = ("calendar", channel.calendar_id) if channel.calendar_id else ("mail", channel.folder)
    event = item.get("lifecycleEvent")
    if event in {"reauthorizationRequired", "subscriptionRemoved"}:
        return SyncTarget(kind="channels", key=key)
    if event == "missed":
        return SyncTarget(kind=kind, key=key, full=True)
    return SyncTarget(kind=kind, key=key)
