"""Finding an account's calendars: principal, calendar home (often on another host), collections.

Discovery tries each start URL (:mod:`hub_caldav.locate`) until one names a principal. iCloud
answers ``current-user-principal`` on ``caldav.icloud.com`` and names a calendar home on a partition
host (``pNN-caldav.icloud.com``); the ``caldav`` library follows that move. The home is then listed
with one Depth-1 PROPFIND, keeping only collections that hold events (iCloud's Reminders lists are
VTODO-only calendars).

Public API: :func:`discover_first`, :func:`discover`, :func:`calendar_address`,
:func:`list_calendars`, :func:`calendar_state`, :func:`remote_calendars`, :class:`Discovery`,
:class:`CalendarInfo`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import icalendar
from caldav import Principal

from hub.exceptions import AuthenticationFailed, ConnectFailed, HostNotAllowed, HubError
from hub.types import RemoteCalendar

from hub_caldav.connection import CalDAVConnection
from hub_caldav.queries import propfind

log = logging.getLogger(__name__)

DAV, CALDAV = "{DAV:}", "{urn:ietf:params:xml:ns:caldav}"
CS, APPLE = "{http://calendarserver.org/ns/}", "{http://apple.com/ns/ical/}"

CALENDAR_PROPS = [
    f"{DAV}resourcetype", f"{DAV}displayname", f"{CALDAV}supported-calendar-component-set",
    f"{DAV}current-user-privilege-set", f"{CALDAV}calendar-timezone", f"{APPLE}calendar-color",
    f"{CS}getctag", f"{DAV}sync-token", f"{CALDAV}calendar-timezone-id",
]
_WRITE = {f"{DAV}all", f"{DAV}write", f"{DAV}write-content", f"{DAV}bind"}


@dataclass
class Discovery:
    """Where an account's calendars live."""

    principal_url: str
    home_url: str


@dataclass
class CalendarInfo:
    """One calendar collection as the home listing describes it."""

    href: str
    name: str
    writable: bool
    components: list[str] | None
    timezone: str | None = None
    color: str | None = None
    ctag: str | None = None
    sync_token: str | None = None
    #: someone else's calendar shared with this account
    shared: bool = False

    @property
    def holds_events(self) -> bool:
        # no supported-calendar-component-set means "any component" (RFC 4791 §5.2.3)
        return self.components is None or "VEVENT" in self.components


def discover_first(connection: CalDAVConnection, urls: list[str]) -> Discovery:
    """Discovery at the first of ``urls`` that names a principal (RFC 6764: try each in turn).

    :raises AuthenticationFailed: a server refused the password (no point asking the next one).
    :raises ConnectFailed: none of them answered as a CalDAV server; the message names them.
    """
    tried: list[str] = []
    for url in urls:
        try:
            connection.rebase(url)
            return discover(connection)
        except (AuthenticationFailed, HostNotAllowed):
            raise
        except HubError as exc:
            tried.append(url)
            log.info("no CalDAV principal at %s: %s", url, exc.message)
    raise ConnectFailed(f"No CalDAV server answered at {', '.join(tried)}.",
                        fix="Enter the CalDAV URL your provider documents (for example https://dav.example.com/dav/).")


def discover(connection: CalDAVConnection) -> Discovery:
    """Find the principal and its calendar home, following the home to another host if needed.

    A server may answer without asking for a login, naming the current principal
    ``DAV:unauthenticated`` (RFC 5397 §3; Cyrus does on its DAV root): the credentials are then sent
    unasked, so the principal found is the user's and a wrong password is refused.
    """
    if connection.auth is None and _unauthenticated(connection):
        connection.log_in()
    with connection.translating():
        principal = Principal(client=connection.client)
        home = principal.calendar_home_set
    home_url = connection.url(str(home.url))  # absolute, and HTTPS unless private hosts are allowed
    if not home_url.endswith("/"):
        home_url += "/"
    return Discovery(principal_url=str(principal.url), home_url=home_url)


def _unauthenticated(connection: CalDAVConnection) -> bool:
    response = connection.request("PROPFIND", connection.base, propfind([f"{DAV}current-user-principal"]),
                                  {"Depth": "0", "Content-Type": "application/xml; charset=utf-8"})
    tree = response.tree
    return tree is not None and tree.find(f".//{DAV}current-user-principal/{DAV}unauthenticated") is not None


def calendar_address(connection: CalDAVConnection, principal_url: str) -> str | None:
    """The principal's first ``mailto:`` calendar user address (RFC 6638 §2.4.1), if it has one."""
    try:
        results = connection.request("PROPFIND", principal_url, propfind([f"{CALDAV}calendar-user-address-set"]),
                                     {"Depth": "0", "Content-Type": "application/xml; charset=utf-8"})
    except HubError as exc:
        log.info("no calendar-user-address-set at %s: %s", principal_url, exc.message)
        return None
    hrefs = results.tree.iterfind(f".//{CALDAV}calendar-user-address-set/{DAV}href") if results.tree is not None else []
    for href in hrefs:
        value = (href.text or "").strip()
        if value.lower().startswith("mailto:") and "@" in value:
            return unquote(value[7:])
    return None


def list_calendars(connection: CalDAVConnection, home_url: str) -> list[CalendarInfo]:
    """Every calendar collection in the home that holds events, in the server's order."""
    home_path = unquote(urlsplit(home_url).path)  # hrefs come back decoded
    results = connection.propfind(home_url, CALENDAR_PROPS, depth=1)
    calendars = []
    for result in results:
        props = result.properties
        types = props.get(f"{DAV}resourcetype") or []
        types = types if isinstance(types, list) else [types]
        if f"{CALDAV}calendar" not in types:
            continue
        if result.href.rstrip("/") == home_path.rstrip("/"):
            continue
        info = CalendarInfo(
            href=result.href if result.href.endswith("/") else result.href + "/",
            name=str(props.get(f"{DAV}displayname") or result.href.rstrip("/").rsplit("/", 1)[-1]),
            writable=_writable(props.get(f"{DAV}current-user-privilege-set")),
            components=_components(props.get(f"{CALDAV}supported-calendar-component-set")),
            timezone=_zone_of(props),
            color=_color(props.get(f"{APPLE}calendar-color")),
            ctag=props.get(f"{CS}getctag"),
            sync_token=props.get(f"{DAV}sync-token"),
            shared=f"{CS}shared" in types,
        )
        if info.holds_events:
            calendars.append(info)
    return calendars


def calendar_state(connection: CalDAVConnection, href: str, token: bool = True, ctag: bool = False) -> CalendarInfo:
    """One calendar's time zone and, as asked, its current sync token and ctag (a Depth-0 PROPFIND).

    Only what is asked for is requested: servers work each of them out from every member of the
    calendar (Radicale: about 0.1 s each at 2,000 events)."""
    names = [f"{CALDAV}calendar-timezone", f"{CALDAV}calendar-timezone-id"]
    names += [f"{DAV}sync-token"] if token else []
    names += [f"{CS}getctag"] if ctag else []
    results = connection.propfind(href, names)
    props = results[0].properties if results else {}
    return CalendarInfo(href=href, name="", writable=True, components=None,
                        timezone=_zone_of(props),
                        ctag=props.get(f"{CS}getctag"), sync_token=props.get(f"{DAV}sync-token"))


def remote_calendars(calendars: list[CalendarInfo]) -> list[RemoteCalendar]:
    """The hub's view: the account's first own writable calendar is the primary one."""
    out, primary_seen = [], False
    for info in calendars:
        primary = info.writable and not info.shared and not primary_seen
        primary_seen = primary_seen or primary
        role = "reader"
        if info.writable:
            role = "writer" if info.shared else "owner"
        out.append(RemoteCalendar(remote_id=info.href, name=info.name, access_role=role, is_primary=primary,
                                  timezone=info.timezone, color=info.color))
    return out


def _writable(privileges) -> bool:
    if privileges is None:  # the server does not say: assume the owner's own calendar
        return True
    names = privileges if isinstance(privileges, list) else [privileges]
    return bool(_WRITE & set(names))


def _components(value) -> list[str] | None:
    if value is None:
        return None
    return [str(v).upper() for v in (value if isinstance(value, list) else [value])]


def _zone_of(props: dict) -> str | None:
    """The calendar's zone: RFC 7809's ``calendar-timezone-id``, else the TZID of ``calendar-timezone``."""
    named = props.get(f"{CALDAV}calendar-timezone-id")
    return str(named).strip() if isinstance(named, str) and named.strip() else _tzid(props.get(f"{CALDAV}calendar-timezone"))


def _tzid(value) -> str | None:
    """The TZID of a ``calendar-timezone`` property (a VCALENDAR holding one VTIMEZONE)."""
    if not isinstance(value, str) or "VTIMEZONE" not in value:
        return None
    try:
        zones = icalendar.Calendar.from_ical(value).walk("VTIMEZONE")
    except Exception:
        return None
    return str(zones[0]["TZID"]) if zones and "TZID" in zones[0] else None


def _color(value) -> str | None:
    if isinstance(value, str) and value.startswith("#") and len(value) >= 7:
        return value[:7]
    return None
