"""What every sandbox handler gets (:class:`Call`) and how handlers are declared (:class:`Route`).

A route names the discovery-document method it implements (``calendar.events.list``), so tests
can validate each recorded response against that method's response schema, and the OAuth scopes
that allow it (any one of them is enough, as with Google).
"""

from __future__ import annotations

import json
import secrets
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

from werkzeug.wrappers import Request

from hub_google.sandbox.errors import GoogleError, bad_request
from hub_google.sandbox.recurrence import parse_rfc3339

AUTH = "https://www.googleapis.com/auth/"
CALENDAR = AUTH + "calendar"
CALENDAR_RO = AUTH + "calendar.readonly"
EVENTS = AUTH + "calendar.events"
EVENTS_RO = AUTH + "calendar.events.readonly"
CALENDARLIST = AUTH + "calendar.calendarlist"
CALENDARLIST_RO = AUTH + "calendar.calendarlist.readonly"
FREEBUSY = AUTH + "calendar.freebusy"
GMAIL_RO = AUTH + "gmail.readonly"
GMAIL_MODIFY = AUTH + "gmail.modify"
GMAIL_SEND = AUTH + "gmail.send"
GMAIL_COMPOSE = AUTH + "gmail.compose"
MAIL = "https://mail.google.com/"
USERINFO_EMAIL = AUTH + "userinfo.email"
USERINFO_PROFILE = AUTH + "userinfo.profile"
#: short names Google accepts in the authorization request
SCOPE_ALIASES = {"email": USERINFO_EMAIL, "profile": USERINFO_PROFILE}


@dataclass
class Route:
    """One endpoint: werkzeug rule, HTTP methods, handler, discovery method id, allowed scopes.

    ``scopes=None`` means no bearer token is needed (OAuth endpoints, the admin API).
    """

    rule: str
    methods: tuple[str, ...]
    handler: Callable[..., Any]
    method_id: str | None = None
    scopes: tuple[str, ...] | None = ()


@dataclass
class Call:
    """One request as a handler sees it."""

    request: Request
    state: Any  # SandboxState (not imported: it imports the stores, which import this module's users)
    user: Any = None
    scopes: tuple[str, ...] = ()

    # --- parameters ------------------------------------------------------------------------------

    def arg(self, name: str, default: str | None = None) -> str | None:
        """A query parameter."""
        return self.request.args.get(name, default)

    def arg_list(self, name: str) -> list[str]:
        """A repeated query parameter."""
        return self.request.args.getlist(name)

    def arg_int(self, name: str, default: int, lo: int = 1, hi: int | None = None) -> int:
        """An integer parameter in range (clamped above), 400 otherwise."""
        value = self.request.args.get(name)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            raise bad_request(f"Invalid value '{value}'. Values must match the following regular expression: "
                              f"'[0-9]+'", location=name) from None
        if number < lo:
            raise bad_request(f"Invalid value '{value}'. Values must be within the range: [{lo}, {hi}]",
                              location=name)
        return min(number, hi) if hi else number

    def arg_bool(self, name: str, default: bool = False) -> bool:
        """A boolean parameter; 400 for anything but true/false."""
        value = self.request.args.get(name)
        if value is None:
            return default
        if value.lower() not in ("true", "false"):
            raise bad_request(f"Invalid boolean value: '{value}'.", location=name)
        return value.lower() == "true"

    def arg_time(self, name: str) -> datetime | None:
        """An RFC 3339 parameter as an aware datetime."""
        value = self.request.args.get(name)
        return parse_rfc3339(value, name) if value else None

    def json(self) -> dict:
        """The JSON request body; 400 ``parseError`` as Google answers malformed JSON."""
        try:
            body = json.loads(self.request.get_data(as_text=True) or "{}")
        except ValueError:
            raise GoogleError(400, "parseError", "Parse Error") from None
        if not isinstance(body, dict):
            raise GoogleError(400, "parseError", "Parse Error")
        return body

    def has_scope(self, *wanted: str) -> bool:
        """Whether the token grants any of ``wanted``."""
        return bool(set(wanted) & set(self.scopes))


@dataclass
class PageStore:
    """Result snapshots behind page tokens (kept for a while, oldest dropped first)."""

    limit: int = 5000
    pages: OrderedDict = field(default_factory=OrderedDict)

    def put(self, snapshot: dict) -> str:
        """Keep a snapshot; return its page token."""
        token = secrets.token_urlsafe(18)
        self.pages[token] = snapshot
        while len(self.pages) > self.limit:
            self.pages.popitem(last=False)
        return token

    def get(self, token: str) -> dict:
        """The snapshot of a page token; 400 for an unknown one."""
        snapshot = self.pages.get(token)
        if snapshot is None:
            raise bad_request("Invalid page token value.", location="pageToken")
        return snapshot


def paginate(call: Call, pages: PageStore, page_size: int, make_items: Callable[[], tuple[list, dict]],
             key: tuple) -> tuple[list, str | None, dict]:
    """Serve ``items`` ``page_size`` at a time behind opaque page tokens.

    ``make_items`` runs on the first page only and returns (items, extra): the snapshot keeps both,
    so later pages show the same result even when things changed meanwhile. ``key`` ties a token to
    the query it came from. Returns (this page's items, next page token or None, extra).
    """
    token = call.arg("pageToken")
    if token:
        snapshot = pages.get(token)
        if snapshot["key"] != key:
            raise bad_request("Invalid page token value: it belongs to another query.", location="pageToken")
    else:
        items, extra = make_items()
        snapshot = {"key": key, "items": items, "offset": 0, "extra": extra}
    offset = snapshot["offset"]
    if call.state.empty_pages and not snapshot.get("padded") and offset < len(snapshot["items"]):
        # Google may answer a page with no items that still carries a nextPageToken
        return [], pages.put({**snapshot, "padded": True}), snapshot["extra"]
    chunk = snapshot["items"][offset:offset + page_size]
    following = offset + len(chunk)
    next_token = None
    if following < len(snapshot["items"]):
        next_token = pages.put({**snapshot, "offset": following, "padded": False})
    return chunk, next_token, snapshot["extra"]
