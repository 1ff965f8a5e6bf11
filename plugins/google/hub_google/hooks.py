"""The Google provider's hook implementations (entry point ``crm_hub: google``).

Thin on purpose: each hook checks the account is Google's, opens a :class:`GoogleClient` and
hands over to the module that holds the behaviour.

``hub_push_events`` note: errors that concern the whole account (AuthExpired, RateLimited,
ProviderUnavailable) are raised when they hit the first change, so the batch is retried as a
whole; when some changes already went through, those results are returned and the error is set
on the changes that were not attempted — so the engine never loses an applied change's new etag.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable

from hub.exceptions import HubError
from hub.plugins import hookimpl
from hub.types import (
    AccountHandle,
    ConnectResult,
    DemoSandbox,
    EventChange,
    EventPage,
    FreeBusy,
    MailPage,
    OAuthStart,
    OutgoingMessage,
    ProviderContext,
    ProviderInfo,
    PushChannel,
    PushResult,
    RemoteCalendar,
    SentMessage,
    WebhookRequest,
    WebhookResult,
    Window,
)

from hub_google import calendar_sync, connection, mail_sync
from hub_google import channels as push  # hub_handle_webhook's parameter is called channels
from hub_google.auth import oauth_client
from hub_google.calendar_api import CalendarAPI
from hub_google.client import GoogleClient
from hub_google.gmail_api import GmailAPI
from hub_google.provider import INFO


@hookimpl
def hub_register_providers(register: Callable[[ProviderInfo], None]) -> None:
    """Register the Google provider."""
    register(INFO)


@hookimpl
def hub_authorization_url(context: ProviderContext, start: OAuthStart) -> str | None:
    """Google's consent URL with state, PKCE, offline access and minimal scopes."""
    return oauth_client(context.config).authorization_url(start)


@hookimpl
def hub_connect(context: ProviderContext, params: dict[str, Any]) -> ConnectResult | None:
    """Exchange the code and identify the account."""
    return connection.connect(context, params)


@hookimpl
def hub_disconnect(account: AccountHandle) -> bool | None:
    """Stop push channels and revoke the grant."""
    return connection.disconnect(account)


@hookimpl
def hub_list_calendars(account: AccountHandle) -> list[RemoteCalendar] | None:
    """The account's calendars with access roles."""
    with GoogleClient(account) as client:
        return calendar_sync.list_calendars(CalendarAPI(client))


@hookimpl
def hub_fetch_events(account: AccountHandle, calendar_id: str, cursor: str | None, window: Window) -> EventPage | None:
    """One page of a full or incremental calendar sync."""
    with GoogleClient(account) as client:
        return calendar_sync.fetch_events(CalendarAPI(client), calendar_id, cursor, window)


@hookimpl
def hub_push_events(account: AccountHandle, calendar_id: str, changes: list[EventChange]) -> list[PushResult] | None:
    """Apply the hub's changes with client-generated ids and etag preconditions."""
    if not changes:
        return []
    with GoogleClient(account) as client:
        return calendar_sync.push_events(CalendarAPI(client), calendar_id, changes)


@hookimpl
def hub_free_busy(account: AccountHandle, calendar_ids: list[str], start: datetime, end: datetime) -> FreeBusy | None:
    """Busy intervals from Google's freeBusy query."""
    with GoogleClient(account) as client:
        return calendar_sync.free_busy(CalendarAPI(client), calendar_ids, start, end)


@hookimpl
def hub_sync_mail(account: AccountHandle, folder: str, cursor: str | None, limit: int,
                  since: datetime) -> MailPage | None:
    """One page of Gmail messages of a folder (label)."""
    with GoogleClient(account) as client:
        return mail_sync.sync_mail(GmailAPI(client), folder, cursor, limit, since)


@hookimpl
def hub_send_mail(account: AccountHandle, message: OutgoingMessage) -> SentMessage | None:
    """Send through Gmail, keeping threads."""
    with GoogleClient(account) as client:
        return mail_sync.send_mail(GmailAPI(client), message)


@hookimpl
def hub_watch(account: AccountHandle, kind: str, key: str, address: str,
              renew: PushChannel | None) -> PushChannel | None:
    """A Calendar push channel (Gmail has none without Pub/Sub)."""
    if kind != "calendar":
        return None  # Gmail push needs Cloud Pub/Sub: mail is polled
    with GoogleClient(account) as client:
        return push.watch(CalendarAPI(client), account, key, address, renew)


@hookimpl
def hub_unwatch(account: AccountHandle, channel: PushChannel) -> bool | None:
    """Stop a channel; one that is gone counts as stopped."""
    try:
        client = GoogleClient(account)
    except HubError:  # a revoked grant must not keep a channel "running" in the hub's books
        push.stop(None, account, channel)
        return True
    with client:
        push.stop(CalendarAPI(client), account, channel)
    return True


@hookimpl
def hub_handle_webhook(account: AccountHandle, request: WebhookRequest,
                       channels: list[PushChannel]) -> WebhookResult | None:
    """Verify a Calendar notification and name the calendar to sync."""
    return push.handle(request, channels)


@hookimpl
def hub_demo_sandbox(people: dict[str, str]) -> DemoSandbox | None:
    """The Google sandbox with a demo account for each person (``hub demo``)."""
    from hub_google.sandbox.demo import demo_sandbox  # the sandbox loads only for the demo

    return demo_sandbox(people)
