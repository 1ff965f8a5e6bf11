"""What the provider holds against what the hub holds — compared exactly, duplicates included.

Each ``*_events`` function returns ``{remote id: (summary, start in UTC)}`` read straight from the
sandbox's state or the peer's storage (never through the plugin); ``*_messages`` return a Counter of
Message-IDs, so a message stored twice shows up as a count of 2.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import icalendar
import sqlalchemy as sa
from dateutil import parser as dateparser

from hub.models import Account, AccountStatus, Calendar, CalendarEvent, MailMessage, Meeting


def _utc(value: str | datetime, zone: str | None = None) -> datetime:
    moment = value if isinstance(value, datetime) else dateparser.isoparse(value)
    if moment.tzinfo is None:
        if zone not in (None, "UTC"):
            raise ValueError(f"test events are written in UTC, got {zone}")
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).replace(microsecond=0)


# --- the hub's side ------------------------------------------------------------------------------------


def hub_events(hub, account_id: int) -> dict[str, tuple[str, datetime]]:
    """Event rows of the account's synced calendars."""
    with hub.db.session() as s:
        rows = s.execute(sa.select(CalendarEvent.remote_id, CalendarEvent.summary, CalendarEvent.start)
                         .join(Calendar, Calendar.id == CalendarEvent.calendar_id)
                         .where(Calendar.account_id == account_id)).all()
    return {r.remote_id: (r.summary, _utc(r.start)) for r in rows}


def hub_messages(hub, account_id: int, folder: str) -> Counter:
    with hub.db.session() as s:
        ids = s.scalars(sa.select(MailMessage.message_id).where(MailMessage.account_id == account_id,
                                                                MailMessage.folder == folder)).all()
    return Counter(_bare(i) for i in ids)


def _bare(message_id: str | None) -> str | None:
    """A Message-ID without its angle brackets (the hub stores it bare)."""
    return message_id.strip().strip("<>") if message_id else message_id


def live_meetings(hub, user_id: int) -> dict[str, int]:
    """Titles of the user's meetings that are not cancelled → how many meetings carry each."""
    with hub.db.session() as s:
        titles = s.scalars(sa.select(Meeting.title).where(Meeting.owner_user_id == user_id,
                                                          Meeting.cancelled.is_(False))).all()
    return dict(Counter(titles))


def account_healthy(hub, account_id: int) -> tuple[AccountStatus, bool]:
    with hub.db.session() as s:
        account = s.get(Account, account_id)
        return account.status, account.needs_reconnect


# --- the providers' side -------------------------------------------------------------------------------


def google_events(state, calendar_id: str) -> dict[str, tuple[str, datetime]]:
    with state.lock:
        events = [dict(e) for e in state.calendars[calendar_id].events.values()]
    return {e["id"]: (e.get("summary", ""), _utc(e["start"]["dateTime"])) for e in events if e["status"] != "cancelled"}


def gmail_messages(state, email: str, label: str) -> Counter:
    with state.lock:
        messages = list(state.user(email).mailbox.messages.values())
    return Counter(_bare(m.header("Message-ID")) for m in messages if label in m.labels)


def graph_events(state, email: str) -> dict[str, tuple[str, datetime]]:
    with state.lock:
        box = state.mailbox(email)
        events = [dict(e) for e in box.events.values() if e["calendar_id"] == box.default_calendar_id]
    return {e["id"]: (e.get("subject", ""), _utc(e["start"])) for e in events}  # stored as aware datetimes


def graph_messages(state, email: str, well_known: str) -> Counter:
    with state.lock:
        box = state.mailbox(email)
        folder = box.folder_id(well_known)
        messages = [m for m in box.messages.values() if m["parentFolderId"] == folder]
    return Counter(_bare(m["internetMessageId"]) for m in messages)


def imap_messages(peer, user, mailbox: str) -> Counter:
    """Message-IDs in an IMAP mailbox, read with a separate IMAP client."""
    with peer.client(user) as imap:
        imap.select_folder(mailbox, readonly=True)
        uids = imap.search(["ALL"])
        fetched = imap.fetch(uids, ["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"]) if uids else {}
    found = Counter()
    for data in fetched.values():
        header = data[b"BODY[HEADER.FIELDS (MESSAGE-ID)]"].decode()
        found[_bare(header.split(":", 1)[1]) if ":" in header else None] += 1
    return found


def caldav_events(radicale, user, calendar: str) -> dict[str, tuple[str, datetime]]:
    """Events of a Radicale calendar, read from its storage folder (keyed by file name)."""
    folder = Path(radicale.collections) / "collection-root" / user.name / calendar
    found = {}
    for path in folder.glob("*.ics"):
        for vevent in icalendar.Calendar.from_ical(path.read_bytes()).walk("VEVENT"):
            found[path.name] = (str(vevent.get("SUMMARY", "")), _utc(vevent.decoded("DTSTART")))
    return found


def by_file_name(events: dict[str, tuple[str, datetime]]) -> dict[str, tuple[str, datetime]]:
    """CalDAV remote ids are hrefs; compare by the object's file name."""
    return {key.rstrip("/").rsplit("/", 1)[-1]: value for key, value in events.items()}
