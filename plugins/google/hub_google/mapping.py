"""Google Calendar event JSON ↔ :class:`hub.types.RemoteEvent`.

The hub's own events carry ``extendedProperties.private.hubMarker`` (the change's client id), which
comes back as ``RemoteEvent.hub_marker`` so the engine recognises its own writes. Event ids of
hub-created events derive from the client id (:func:`event_id_for`), which makes a retried insert
hit Google's 409 ``duplicate`` instead of creating a second event.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import date, datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hub.types import Participant, RemoteEvent

MARKER = "hubMarker"


def event_id_for(client_id: str) -> str:
    """A Google event id for a hub client id: base32hex (a–v, 0–9) of its SHA-256, 52 characters."""
    digest = hashlib.sha256(client_id.encode()).digest()
    return base64.b32hexencode(digest).decode().rstrip("=").lower()


def conference_request_id(client_id: str) -> str:
    """The Meet createRequest id: stable per client id, so a retried request asks for the same meeting."""
    return "hub-" + hashlib.sha256(f"meet/{client_id}".encode()).hexdigest()[:32]


# --- Google → hub ------------------------------------------------------------------------------------


def _zone(name: str | None) -> ZoneInfo | None:
    try:
        return ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


def parse_edt(edt: dict[str, Any], calendar_tz: str | None = None) -> datetime | date:
    """An EventDateTime as a date (all-day) or an aware datetime."""
    if "date" in edt:
        return date.fromisoformat(edt["date"])
    value = datetime.fromisoformat(edt["dateTime"].replace("z", "Z"))
    if value.tzinfo is None:  # only with an explicit timeZone, which then applies
        value = value.replace(tzinfo=_zone(edt.get("timeZone")) or _zone(calendar_tz) or timezone.utc)
    return value


def parse_time(text: str | None) -> datetime | None:
    """An aware datetime from an RFC 3339 string, or None."""
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        return None


def video_url(item: dict[str, Any]) -> str | None:
    """The Meet link: a video entry point of the conference, else ``hangoutLink``."""
    for entry in (item.get("conferenceData") or {}).get("entryPoints", []):
        if entry.get("entryPointType") == "video" and entry.get("uri"):
            return entry["uri"]
    return item.get("hangoutLink")


def _participant(person: dict[str, Any], organizer: bool = False) -> Participant:
    return Participant(
        email=person.get("email", ""),
        name=person.get("displayName", ""),
        response=person.get("responseStatus", "accepted" if organizer else "needsAction"),
        organizer=organizer or bool(person.get("organizer")),
        optional=bool(person.get("optional")),
        resource=bool(person.get("resource")),
    )


def to_remote(item: dict[str, Any], calendar_tz: str | None = None) -> RemoteEvent | None:
    """A RemoteEvent for an events.list item; None for a plain deletion (only its id is left)."""
    status = item.get("status", "confirmed")
    original = parse_edt(item["originalStartTime"], calendar_tz) if item.get("originalStartTime") else None
    if status == "cancelled" and "start" not in item:
        if not item.get("recurringEventId") or original is None:
            return None
        # a cancelled occurrence of a live series: Google guarantees only these fields
        return RemoteEvent(remote_id=item["id"], start=original, end=original, status="cancelled",
                           etag=item.get("etag"), recurring_event_id=item["recurringEventId"],
                           original_start=original, all_day=not isinstance(original, datetime))
    start, end = parse_edt(item["start"], calendar_tz), parse_edt(item["end"], calendar_tz)
    private = (item.get("extendedProperties") or {}).get("private") or {}
    organizer = item.get("organizer")
    return RemoteEvent(
        remote_id=item["id"],
        start=start,
        end=end,
        summary=item.get("summary", ""),
        ical_uid=item.get("iCalUID"),
        etag=item.get("etag"),
        status=status if status in ("confirmed", "tentative", "cancelled") else "confirmed",
        description=item.get("description", ""),
        location=item.get("location", ""),
        all_day="date" in item["start"],
        timezone=item["start"].get("timeZone"),
        recurrence=list(item.get("recurrence", [])),
        recurring_event_id=item.get("recurringEventId"),
        original_start=original,
        organizer=_participant(organizer, organizer=True) if organizer else None,
        attendees=[_participant(a) for a in item.get("attendees", [])],
        transparent=item.get("transparency") == "transparent",
        video_url=video_url(item),
        hub_marker=private.get(MARKER),
        updated=parse_time(item.get("updated")),
        sequence=int(item.get("sequence", 0) or 0),
    )


# --- hub → Google ------------------------------------------------------------------------------------


def _zone_name(event: RemoteEvent) -> str | None:
    """The IANA zone to send: the event's own, else the one its start carries (recurrences need one)."""
    if _zone(event.timezone):
        return event.timezone
    tzinfo = getattr(event.start, "tzinfo", None)
    key = getattr(tzinfo, "key", None)
    if key:
        return key
    if tzinfo is not None and event.start.utcoffset().total_seconds() == 0:
        return "UTC"
    return None


def _edt(value: datetime | date, zone_name: str | None) -> dict[str, Any]:
    if not isinstance(value, datetime):
        return {"date": value.isoformat()}
    if value.tzinfo is None:  # the hub's contract is aware datetimes; a naive one is read as UTC
        value = value.replace(tzinfo=timezone.utc)
    body: dict[str, Any] = {"dateTime": value.isoformat()}
    if zone_name:
        body["timeZone"] = zone_name
    return body


def to_google(event: RemoteEvent, client_id: str | None = None, want_video: bool = False) -> dict[str, Any]:
    """The events.insert / events.patch body for ``event``."""
    zone_name = None if event.all_day else _zone_name(event)
    body: dict[str, Any] = {
        "summary": event.summary,
        "description": event.description,
        "location": event.location,
        "start": _edt(event.start, zone_name),
        "end": _edt(event.end, zone_name),
        "transparency": "transparent" if event.transparent else "opaque",
        "status": "tentative" if event.status == "tentative" else "confirmed",
    }
    if event.recurrence:
        body["recurrence"] = list(event.recurrence)
        if not event.all_day and "timeZone" not in body["start"]:
            body["start"]["timeZone"] = body["end"]["timeZone"] = "UTC"  # Google requires one for series
    if event.attendees:
        body["attendees"] = [_attendee(p) for p in event.attendees if p.email]
    if client_id:
        body["extendedProperties"] = {"private": {MARKER: client_id}}
    if want_video and client_id:
        body["conferenceData"] = {"createRequest": {"requestId": conference_request_id(client_id),
                                                    "conferenceSolutionKey": {"type": "hangoutsMeet"}}}
    return body


def _attendee(person: Participant) -> dict[str, Any]:
    out: dict[str, Any] = {"email": person.email, "responseStatus": person.response}
    if person.name:
        out["displayName"] = person.name
    if person.optional:
        out["optional"] = True
    if person.resource:
        out["resource"] = True
    return out
