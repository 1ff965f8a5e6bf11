"""The hub hooks of the Microsoft 365 provider: each checks the provider name and delegates.

Behaviour lives in :mod:`.auth` (sign-in), :mod:`.calendar_api`, :mod:`.mail_api` and :mod:`.webhooks`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hub.exceptions import AuthenticationFailed, AuthExpired, HubError
from hub.plugins import hookimpl
from hub.types import (
    ALL_CAPABILITIES,
    AccountHandle,
    ConnectResult,
    DemoSandbox,
    EventChange,
    OAuthStart,
    OutgoingMessage,
    ProviderContext,
    ProviderInfo,
    PushChannel,
    WebhookRequest,
    Window,
)

from hub_office365 import auth, calendar_api, mail_api, webhooks
from hub_office365.graph import GraphClient

NAME = auth.PROVIDER


@hookimpl
def hub_register_providers(register):
    """Register Microsoft 365 with its capabilities and admin settings."""
    register(ProviderInfo(
        name=NAME, label=auth.LABEL, capabilities=ALL_CAPABILITIES, connect_kind="oauth",
        sends_invitations=True,  # Exchange mails the attendees of an event the organizer saves
        config_schema=auth.CONFIG_SCHEMA,
        description="Outlook calendar and mail of Microsoft 365 (Exchange Online) accounts, through Microsoft Graph.",
    ))


@hookimpl
def hub_authorization_url(context: ProviderContext, start: OAuthStart):
    """The identity platform's consent URL with state, PKCE and the minimal scopes."""
    return auth.oauth_client(context).authorization_url(start)


@hookimpl
def hub_connect(context: ProviderContext, params: dict[str, Any]):
    """Redeem the code, check the mailbox is reachable through Graph, return what to store."""
    if not params.get("code"):
        raise AuthenticationFailed("Microsoft 365 did not hand back an authorization code.",
                                   fix=f"Start connecting again. ({params.get('error_description') or 'no code'})")
    try:
        token = auth.oauth_client(context).exchange_code(params["code"], params.get("code_verifier", ""),
                                                         params.get("redirect_uri", ""))
    except AuthExpired as exc:  # an AADSTS code at connect time is a failed sign-in, not a lost one
        raise AuthenticationFailed(exc.message, fix=exc.fix) from exc
    if not token.get("refresh_token"):
        raise AuthenticationFailed("Microsoft 365 granted no offline access, so the hub could not sync.",
                                   fix="Connect again and accept all the permissions asked for.")
    probe = AccountHandle(id=0, provider=NAME, email="", credentials={"token": token}, settings={}, context=context)
    client = GraphClient(probe)
    me = client.get("/me", params={"$select": "id,displayName,mail,userPrincipalName"})
    client.get("/me/calendar", params={"$select": "id"})  # NotSupported for on-premises mailboxes
    email = (me.get("mail") or me.get("userPrincipalName") or "").lower()
    return ConnectResult(email=email, credentials={"token": probe.credentials["token"]},
                         display_name=me.get("displayName") or "",
                         settings={"user_id": me.get("id"), "tenant": auth.setting(context, "tenant")})


@hookimpl
def hub_disconnect(account: AccountHandle):
    """Delete the hub's subscriptions and forget the tokens.

    The identity platform has no endpoint for one app to revoke its own refresh token (only
    revokeSignInSessions, which signs the user out of everything), so the grant itself stays until
    the user removes the app at myapps.microsoft.com; the hub no longer holds it.
    """
    try:
        webhooks.delete_all(account)
    except HubError:
        pass  # an unreachable provider never blocks a disconnect
    account.update_credentials(token={})
    return True


@hookimpl
def hub_list_calendars(account: AccountHandle):
    """The mailbox's calendars with access roles."""
    return calendar_api.list_calendars(account)


@hookimpl
def hub_fetch_events(account: AccountHandle, calendar_id: str, cursor: str | None, window: Window):
    """One calendarView delta page."""
    return calendar_api.fetch_events(account, calendar_id, cursor, window)


@hookimpl
def hub_push_events(account: AccountHandle, calendar_id: str, changes: list[EventChange]):
    """Create, update or delete events (idempotent creates, change-key preconditions)."""
    return calendar_api.push_events(account, calendar_id, changes)


@hookimpl
def hub_free_busy(account: AccountHandle, calendar_ids: list[str], start: datetime, end: datetime):
    """Busy time from getSchedule / calendarView."""
    return calendar_api.free_busy(account, calendar_ids, start, end)


@hookimpl
def hub_sync_mail(account: AccountHandle, folder: str, cursor: str | None, limit: int, since: datetime):
    """One messages delta page of inbox or sent."""
    return mail_api.sync_mail(account, folder, cursor, limit, since)


@hookimpl
def hub_send_mail(account: AccountHandle, message: OutgoingMessage):
    """Send through the mailbox (replies threaded)."""
    return mail_api.send_mail(account, message)


@hookimpl
def hub_watch(account: AccountHandle, kind: str, key: str, address: str, renew: PushChannel | None):
    """Create or renew a Graph subscription."""
    return webhooks.watch(account, kind, key, address, renew)


@hookimpl
def hub_unwatch(account: AccountHandle, channel: PushChannel):
    """Delete a Graph subscription."""
    return webhooks.unwatch(account, channel)


@hookimpl
def hub_handle_webhook(account: AccountHandle, request: WebhookRequest, channels: list[PushChannel]):
    """Validation handshakes and verified change/lifecycle notifications."""
    return webhooks.handle_webhook(request, channels)


@hookimpl
def hub_demo_sandbox(people: dict[str, str]) -> DemoSandbox | None:
    """The Graph sandbox with a demo mailbox for each person (``hub demo``)."""
    from hub_office365.sandbox.seed import demo_sandbox  # the sandbox loads only for the demo

    return demo_sandbox(people)
