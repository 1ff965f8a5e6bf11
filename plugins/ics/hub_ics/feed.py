"""One subscribed iCalendar feed: download it politely, read its events, say what changed.

A feed is a whole calendar in one file, served again in full at every request. So:

* the download is conditional (``If-None-Match`` with the last ETag, else ``If-Modified-Since``): a
  304 means nothing changed and costs the feed's server nothing;
* the cursor remembers, besides that validator, a short digest of each UID's events (a series with
  its overrides hashes as one), so a changed feed yields only the events that changed and the ids that
  disappeared — the engine's incremental path, not a resync of the whole calendar every time;
* events are read with :class:`hub_caldav.ical.CalendarObject` (one copy of the iCalendar rules for
  every provider that reads iCalendar), one UID at a time; a UID that cannot be read is reported as
  unreadable and the rest of the feed syncs.

Public API: :func:`normalize_url`, :func:`download`, :func:`read`, :class:`Feed`, :func:`changes`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import icalendar
import requests

from hub import http
from hub.exceptions import (
    AuthenticationFailed,
    AuthExpired,
    CursorExpired,
    ProviderError,
    ValidationError,
)
from hub.types import EventPage, RemoteEvent, Window

from hub_caldav.ical import CalendarObject, MalformedObject, resolve_zone

#: a feed larger than this is refused rather than read into memory (a year of a busy calendar is ~2 MB)
MAX_FEED_BYTES = 20 * 1024 * 1024
#: characters of each UID's digest kept in the cursor (64 bits: collisions are not a concern here)
DIGEST_CHARS = 16


def normalize_url(text: str) -> str:
    """The feed address as the hub fetches it: ``webcal://`` and ``webcals://`` become ``https://``.

    :raises ValidationError: not an http(s)/webcal address with a host.
    """
    url = (text or "").strip()
    scheme, _, rest = url.partition("://")
    scheme = scheme.lower()
    if scheme in ("webcal", "webcals"):
        url, scheme = f"https://{rest}", "https"
    if scheme not in ("http", "https") or not urlsplit(url).hostname:
        raise ValidationError("This is not a calendar feed address.",
                              fix="Paste the address the calendar offers for subscribing, starting with "
                                  "webcal:// or https://.", field="url")
    return url


def host_of(url: str) -> str:
    return urlsplit(url).hostname or url


@dataclass
class Download:
    """A feed's body and the validator to send next time."""

    body: bytes
    validator: str | None


def download(url: str, username: str | None, password: str | None, allow_private: bool,
             validator: str | None = None, connecting: bool = False) -> Download | None:
    """GET the feed; ``None`` when the server says it has not changed since ``validator``.

    Plain HTTP is allowed only for feeds without a password (public feeds often are plain HTTP;
    a password is never sent unencrypted).

    :raises AuthenticationFailed: (connecting) or :class:`AuthExpired` (stored account) on 401/403.
    :raises ProviderUnavailable, RateLimited: 5xx, timeouts, 429.
    :raises ProviderError: any other refusal, or a feed over :data:`MAX_FEED_BYTES`.
    """
    what = f"The calendar feed at {host_of(url)}"
    headers = {"Accept": "text/calendar, */*;q=0.5"}
    if validator:
        headers["If-None-Match" if not validator.startswith("date:") else "If-Modified-Since"] = \
            validator.removeprefix("date:")
    with http.session(allow_private=allow_private, plain_http=not password) as session:
        response = http.send(session, "GET", url, what=what, headers=headers, stream=True,
                             auth=(username or "", password) if password else None)
        with response:
            if response.status_code == 304:
                return None
            if response.status_code in (401, 403):
                error = AuthenticationFailed if connecting else AuthExpired
                raise error(f"{what} did not accept the user name and password.",
                            fix="Check the user name and password the calendar gave you for this feed.")
            http.raise_for_status(response, what)
            body = _read_capped(response, what)
    etag = response.headers.get("ETag")
    modified = response.headers.get("Last-Modified")
    return Download(body, etag or (f"date:{modified}" if modified else None))


def _read_capped(response: requests.Response, what: str) -> bytes:
    chunks, size = [], 0
    try:
        for chunk in response.iter_content(64 * 1024):
            size += len(chunk)
            if size > MAX_FEED_BYTES:
                raise ProviderError(f"{what} is larger than {MAX_FEED_BYTES // 2**20} MB; the hub does not read it.",
                                    fix="Subscribe to a smaller calendar, or one limited to recent events.")
            chunks.append(chunk)
    except requests.RequestException as exc:
        raise http.transport_error(exc, what) from exc
    return b"".join(chunks)


@dataclass
class Feed:
    """A feed read into events, grouped by UID."""

    name: str | None
    timezone: str | None
    #: UID -> (digest of its components, its events: the master or single event first, then overrides)
    groups: dict[str, tuple[str, list[RemoteEvent]]] = field(default_factory=dict)
    unreadable: list[tuple[str, str]] = field(default_factory=list)


def read(body: bytes, window: Window | None = None) -> Feed:
    """Parse a feed. Events of series or singles that do not touch ``window`` are left out.

    :raises ValidationError: the body is not an iCalendar calendar at all (an HTML page, a login form).
    """
    try:
        calendar = icalendar.Calendar.from_ical(body)
    except Exception:  # icalendar raises ValueError and friends for text that is not iCalendar
        calendar = None
    if not isinstance(calendar, icalendar.Calendar):
        raise ValidationError("This address does not serve an iCalendar feed.",
                              fix="Use the calendar's subscription (iCal / webcal) address, not its web page.",
                              field="url")
    zone = str(calendar.get("X-WR-TIMEZONE") or "") or None
    default_zone = resolve_zone(zone)
    feed = Feed(name=str(calendar.get("X-WR-CALNAME") or "") or None, timezone=zone if default_zone else None)
    timezones = list(calendar.walk("VTIMEZONE"))
    by_uid: dict[str, list[icalendar.Event]] = {}
    for n, vevent in enumerate(calendar.walk("VEVENT")):
        uid = str(vevent.get("UID") or "")
        if not uid:
            feed.unreadable.append((f"event {n + 1}", "it has no UID"))
            continue
        by_uid.setdefault(uid, []).append(vevent)
    for uid, vevents in by_uid.items():
        one = icalendar.Calendar()
        one.add("PRODID", "-//crm-hub//feed//EN")
        one.add("VERSION", "2.0")
        for component in [*timezones, *vevents]:
            one.add_component(component)
        text = one.to_ical()
        try:
            obj = CalendarObject.parse(text, href=uid, default_zone=default_zone)
        except MalformedObject as exc:
            feed.unreadable.append((uid, str(exc)))
            continue
        if window is not None and not obj.occurs_between(window.start, window.end):
            continue
        digest = hashlib.sha256(b"".join(v.to_ical() for v in vevents)).hexdigest()[:DIGEST_CHARS]
        feed.groups[uid] = (digest, obj.events())
    return feed


def changes(feed: Feed, validator: str | None, cursor: str | None) -> EventPage:
    """The page that brings the hub from ``cursor`` (``None``: nothing known) to ``feed``.

    :raises CursorExpired: the cursor is not one this plugin wrote.
    """
    before = _digests(cursor)
    now: dict[str, str] = {}
    events: list[RemoteEvent] = []
    deleted: set[str] = set()
    for uid, (digest, group) in feed.groups.items():
        ids = [e.remote_id for e in group]
        now.update((remote_id, digest) for remote_id in ids)
        if before.get(uid) != digest:
            events.extend(group)
    deleted.update(rid for rid in before if rid not in now)
    next_cursor = json.dumps({"v": validator, "h": now}, separators=(",", ":"))
    return EventPage(events=events, deleted=sorted(deleted), next_cursor=next_cursor, done=True,
                     unreadable=feed.unreadable)


def _digests(cursor: str | None) -> dict[str, str]:
    if cursor is None:
        return {}
    try:
        state = json.loads(cursor)
        return dict(state["h"])
    except (ValueError, KeyError, TypeError):
        raise CursorExpired("The stored position in the feed is not readable; reading it whole.") from None


def validator_of(cursor: str | None) -> str | None:
    """The ETag / Last-Modified the cursor remembers."""
    if cursor is None:
        return None
    try:
        return json.loads(cursor).get("v")
    except (ValueError, AttributeError):
        return None
