"""Page loops and builders the conformance suite and the engines' tests share."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from hub.types import (
    AccountHandle,
    RemoteEvent,
    RemoteMessage,
    Window,
)

#: safety net for page loops: a provider that never says ``done`` fails instead of hanging
MAX_PAGES = 1000


@dataclass
class FetchResult:
    """Everything a run of pages of ``hub_fetch_events`` returned, merged."""

    events: dict[str, RemoteEvent] = field(default_factory=dict)
    deleted: set[str] = field(default_factory=set)
    cursor: str | None = None
    pages: int = 0
    unreadable: list[tuple[str, str]] = field(default_factory=list)


def fetch_all(hooks, account: AccountHandle, calendar_id: str, cursor: str | None, window: Window) -> FetchResult:
    """Call ``hub_fetch_events`` page by page until ``done``, as the sync engine does."""
    result = FetchResult(cursor=cursor)
    for _ in range(MAX_PAGES):
        page = hooks.hub_fetch_events(account=account, calendar_id=calendar_id, cursor=result.cursor, window=window)
        assert page is not None, "hub_fetch_events returned None for the provider's own account"
        result.pages += 1
        for event in page.events:
            result.events[event.remote_id] = event
            result.deleted.discard(event.remote_id)
        for remote_id in page.deleted:
            result.events.pop(remote_id, None)
            result.deleted.add(remote_id)
        result.unreadable.extend(page.unreadable)
        assert page.next_cursor is not None, "every page needs a next_cursor (to resume or to go on from)"
        result.cursor = page.next_cursor
        if page.done:
            return result
    raise AssertionError(f"hub_fetch_events did not finish within {MAX_PAGES} pages")


def sync_mail_all(hooks, account: AccountHandle, folder: str, cursor: str | None, limit: int, since: datetime):
    """Call ``hub_sync_mail`` page by page until ``done``; returns (messages, deleted ids, cursor)."""
    messages: list[RemoteMessage] = []
    deleted: list[str] = []
    for _ in range(MAX_PAGES):
        page = hooks.hub_sync_mail(account=account, folder=folder, cursor=cursor, limit=limit, since=since)
        assert page is not None, "hub_sync_mail returned None for the provider's own account"
        assert len(page.messages) <= limit, f"a page held {len(page.messages)} messages, more than limit={limit}"
        messages.extend(page.messages)
        deleted.extend(page.deleted)
        assert page.next_cursor is not None, "every mail page needs a next_cursor"
        cursor = page.next_cursor
        if page.done:
            return messages, deleted, cursor
    raise AssertionError(f"hub_sync_mail did not finish within {MAX_PAGES} pages")


def tag() -> str:
    """A unique marker for the objects one test creates, so leftovers of other tests never confuse it."""
    return "hubtest-" + secrets.token_hex(5)


def slot(days: int, hour: int, minutes: int = 60) -> tuple[datetime, datetime]:
    """An hour-long (by default) UTC slot ``days`` from today, for events that must not collide."""
    day = datetime.now(timezone.utc).replace(hour=hour, minute=0, second=0, microsecond=0) + timedelta(days=days)
    return day, day + timedelta(minutes=minutes)


def raw_mail(subject: str, sender: str, to: str, body: str) -> tuple[bytes, str]:
    """A small RFC 822 message and its Message-ID."""
    msg = EmailMessage()
    msg_id = make_msgid(domain="hubtest.example")
    msg["Message-ID"] = msg_id
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime.now(timezone.utc))
    msg.set_content(body)
    return bytes(msg), msg_id
