"""A host whose calendar lives on a real CalDAV server (Radicale, through the iCloud plugin), synced by the
real engine: the world the calendar-truth tests write iCalendar into and read busy time back from.

Its fixtures (``caldav``, ``hub_plugins``, ``hub_settings_overrides``) serve the tests in tests/sync/server_truth/
through that folder's conftest.py.
Dates are found relative to today (the sync window starts on the connection day), so the tests hold
whenever they run; ``hub_settings_overrides`` makes the window long enough to hold a DST change of
both hemispheres.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import icalendar
import pytest
import sqlalchemy as sa

from hub.accounts import connect_account
from hub.models import Account, AccountError, BusyBlock, Calendar, Meeting, User
from hub.sync import calendar_pull
from hub.sync.calendars import refresh_calendars
from tests.faults.accounts import add_user, set_provider_config

import hub_icloud.hooks

UTC = timezone.utc

#: what Outlook and Exchange put in every invitation: a Windows zone name with its own VTIMEZONE
OUTLOOK_BERLIN = """BEGIN:VTIMEZONE
TZID:W. Europe Standard Time
BEGIN:STANDARD
DTSTART:16010101T030000
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=10
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:16010101T020000
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=3
END:DAYLIGHT
END:VTIMEZONE
"""

#: Outlook's "Customized Time Zone": no IANA or Windows name, only its rules (Sydney's, southern hemisphere)
CUSTOM_SYDNEY = """BEGIN:VTIMEZONE
TZID:Customized Time Zone
BEGIN:STANDARD
DTSTART:16010101T030000
TZOFFSETFROM:+1100
TZOFFSETTO:+1000
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=1SU;BYMONTH=4
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:16010101T020000
TZOFFSETFROM:+1000
TZOFFSETTO:+1100
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=1SU;BYMONTH=10
END:DAYLIGHT
END:VTIMEZONE
"""


def vcalendar(*vevents: str, timezones: str = "") -> str:
    """An iCalendar object as another client writes it (CRLF lines)."""
    body = "".join(f"BEGIN:VEVENT\n{v.strip()}\nEND:VEVENT\n" for v in vevents)
    text = f"BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//another client//EN\n{timezones}{body}END:VCALENDAR\n"
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


def local(value: datetime) -> str:
    return value.strftime("%Y%m%dT%H%M%S")


def transition_days(tz: ZoneInfo, after: date, days: int = 380) -> dict[str, date]:
    """The next day the zone springs forward ("gap") and falls back ("overlap") after ``after``."""
    found: dict[str, date] = {}
    for i in range(1, days):
        d = after + timedelta(days=i)
        before = datetime.combine(d - timedelta(days=1), time(12), tz).utcoffset()
        now = datetime.combine(d, time(12), tz).utcoffset()
        if now != before:
            found.setdefault("gap" if now > before else "overlap", d)
    return found


@dataclass
class CalDAVHost:
    """One hub user whose calendar "Home" is on Radicale, connected through the iCloud plugin."""

    hub: object
    radicale: object
    user: object
    user_id: int
    account_id: int

    @property
    def home(self) -> str:
        return f"/{self.user.name}/home/"

    def put(self, name: str, ics: str) -> None:
        self.radicale.put_object(self.user, f"{self.home}{name}.ics", ics)

    def delete(self, name: str) -> None:
        assert self.radicale.request(self.user, "DELETE", f"{self.home}{name}.ics").status_code in (200, 204)

    @property
    def calendar_id(self) -> int:
        with self.hub.db.session() as s:
            return s.scalar(sa.select(Calendar.id).where(Calendar.account_id == self.account_id,
                                                         Calendar.remote_id == self.home))

    def sync(self, full: bool = False) -> dict:
        refresh_calendars(self.hub, self.account_id)
        return calendar_pull.sync_calendar(self.hub, self.account_id, self.calendar_id, full=full)

    def blocks(self) -> list[tuple[datetime, datetime]]:
        with self.hub.db.session() as s:
            return [(b.start, b.end) for b in s.scalars(sa.select(BusyBlock).where(
                BusyBlock.calendar_id == self.calendar_id).order_by(BusyBlock.start, BusyBlock.end))]

    def block_count(self) -> int:
        with self.hub.db.session() as s:
            return s.scalar(sa.select(sa.func.count(BusyBlock.id)).where(BusyBlock.calendar_id == self.calendar_id))

    def meetings(self) -> list[Meeting]:
        with self.hub.db.session() as s:
            found = list(s.scalars(sa.select(Meeting).where(Meeting.owner_user_id == self.user_id).order_by(Meeting.id)))
            for m in found:
                list(m.participants)
            s.expunge_all()
            return found

    def errors(self) -> list[AccountError]:
        with self.hub.db.session() as s:
            found = list(s.scalars(sa.select(AccountError).where(AccountError.account_id == self.account_id)
                                   .order_by(AccountError.id)))
            s.expunge_all()
            return found

    def set_owner_zone(self, name: str) -> None:
        with self.hub.db.session() as s:
            s.get(User, self.user_id).timezone = name

    def set_calendar_zone(self, tzid: str) -> None:
        """PROPPATCH ``C:calendar-timezone`` (RFC 4791 §5.2.2) as a CalDAV client would."""
        zone = icalendar.Timezone.from_tzid(tzid).to_ical().decode()
        text = f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//another client//EN\r\n{zone}END:VCALENDAR\r\n"
        body = ('<?xml version="1.0" encoding="utf-8"?><D:propertyupdate xmlns:D="DAV:" '
                'xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop>'
                f"<C:calendar-timezone>{text}</C:calendar-timezone></D:prop></D:set></D:propertyupdate>")
        response = self.radicale.request(self.user, "PROPPATCH", self.home, body, {"Content-Type": "application/xml"})
        assert response.status_code == 207, response.text


@pytest.fixture
def hub_plugins():
    return [("icloud", hub_icloud.hooks)]


@pytest.fixture
def hub_settings_overrides():
    return {"sync_window_days": 400}  # long enough for a DST change of each hemisphere whatever today is


@pytest.fixture
def caldav(hub, radicale, dovecot, smtp_server) -> CalDAVHost:
    """A host (alice@acme.example) with a Radicale calendar connected and its calendar list read."""
    from hub_icloud.testing import mail_config, new_user

    user = new_user(radicale, dovecot, smtp_server)
    set_provider_config(hub, "icloud", {"caldav_url": radicale.url, **mail_config(dovecot, smtp_server)})
    user_id = add_user(hub, "alice@acme.example")
    account_id = connect_account(hub, user_id, "icloud", {"email": user.name, "password": user.password})
    with hub.db.session() as s:  # calendars only
        s.get(Account, account_id).mail_enabled = False
    host = CalDAVHost(hub, radicale, user, user_id, account_id)
    refresh_calendars(hub, account_id)
    return host


def today() -> date:
    return datetime.now(UTC).date()
