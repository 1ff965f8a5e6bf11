"""Graph JSON <-> the hub's types: events (RemoteEvent) and messages (RemoteMessage).

Times: the plugin asks Graph for UTC (``Prefer: outlook.timezone="UTC"``) and keeps the event's own
zone (``originalStartTimeZone``, a Windows or IANA name) in ``RemoteEvent.timezone`` as an IANA name.
All-day events are floating midnights in Graph; they become dates (end exclusive).

The hub marker: a create sends the hub's client id as Graph's ``transactionId`` (Graph's own
idempotency key for retried POSTs) and as a single-value extended property (which Graph can filter
on). Graph returns ``transactionId`` on the event, so reads take the marker from there (a delta item
without the field gets the property read instead, see ``calendar_api._with_marker``); only single
events and series masters carry it (occurrences and exceptions belong to their master).
"""

from __future__ import annotations

from datetime import date, datetime, time, timezone
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.parser import isoparse

from hub.plaintext import html_to_text
from hub.types import Address, AttachmentInfo, EventChange, Participant, RemoteEvent, RemoteMessage

from hub_office365 import recurrence
from hub_office365.zones import windows_name, zone_name

#: the hub's named property (its own GUID namespace) holding the client id on events it created
MARKER_PROPERTY = "String {0b4f2d6e-5a71-4c1e-9f3a-7d2c8e61a9b4} Name HubClientId"
TRANSPARENT_SHOW_AS = {"free", "workingElsewhere"}
RESPONSES = {"accepted": "accepted", "organizer": "accepted", "declined": "declined",
             "tentativelyAccepted": "tentative", "none": "needsAction", "notResponded": "needsAction"}


def parse_time(value: dict) -> datetime:
    """An aware datetime from a Graph ``dateTimeTimeZone``."""
    parsed = isoparse(value["dateTime"])
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(zone_name(value.get("timeZone")) or "UTC"))
    return parsed


def parse_stamp(value: str | None) -> datetime | None:
    """A DateTimeOffset such as ``2019-03-15T12:00:00Z``."""
    if not value:
        return None
    parsed = isoparse(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def graph_time(value: datetime | date, zone: str | None) -> dict:
    """A Graph ``dateTimeTimeZone``: wall time in ``zone`` (IANA, default UTC) under its Windows name
    (the only names Graph takes for every zone); dates as midnights."""
    zone = zone or "UTC"
    name = windows_name(zone) or "UTC"
    if not isinstance(value, datetime):
        return {"dateTime": datetime.combine(value, time()).isoformat(), "timeZone": name}
    if name == "UTC":
        zone = "UTC"  # no Windows zone keeps this zone's time: the instant is kept, in UTC
    return {"dateTime": value.astimezone(ZoneInfo(zone)).replace(tzinfo=None).isoformat(), "timeZone": name}


def _participant(item: dict, organizer: bool = False) -> Participant:
    email = item.get("emailAddress") or {}
    response = ((item.get("status") or {}).get("response")) or "none"
    return Participant(email=(email.get("address") or "").lower(), name=email.get("name") or "",
                       response="accepted" if organizer else RESPONSES.get(response, "needsAction"),
                       organizer=organizer, optional=item.get("type") == "optional",
                       resource=item.get("type") == "resource")


def event_from_graph(data: dict, extra_recurrence: list[str] | None = None) -> RemoteEvent:
    """A RemoteEvent from a Graph event read with ``outlook.timezone="UTC"``."""
    all_day = bool(data.get("isAllDay"))
    zone = zone_name(data.get("originalStartTimeZone"))
    if all_day:
        start: datetime | date = date.fromisoformat(data["start"]["dateTime"][:10])
        end: datetime | date = date.fromisoformat(data["end"]["dateTime"][:10])
    else:
        start, end = parse_time(data["start"]), parse_time(data["end"])
    body = data.get("body") or {}
    description = body.get("content") or ""
    if (body.get("contentType") or "").lower() == "html":
        description = html_to_text(description)
    kind = data.get("type") or "singleInstance"
    lines: list[str] = []
    if data.get("recurrence"):
        series_zone = ZoneInfo(zone_name(data["recurrence"]["range"].get("recurrenceTimeZone")) or zone or "UTC")
        lines = [recurrence.to_rrule(data["recurrence"], start, series_zone)] + list(extra_recurrence or [])
    original = parse_stamp(data.get("originalStart")) if kind in {"occurrence", "exception"} else None
    organizer = data.get("organizer")
    return RemoteEvent(
        remote_id=data["id"], start=start, end=end, summary=data.get("subject") or "",
        ical_uid=data.get("iCalUId"), etag=data.get("@odata.etag") or data.get("changeKey"),
        status="cancelled" if data.get("isCancelled") else "confirmed", description=description,
        location=((data.get("location") or {}).get("displayName")) or "", all_day=all_day, timezone=zone,
        recurrence=lines,
        recurring_event_id=data.get("seriesMasterId") if kind in {"occurrence", "exception"} else None,
        original_start=_local_date(original, zone) if all_day and original else original,
        organizer=_participant(organizer, organizer=True) if organizer else None,
        attendees=[_participant(a) for a in data.get("attendees") or []],
        transparent=data.get("showAs") in TRANSPARENT_SHOW_AS,
        video_url=((data.get("onlineMeeting") or {}).get("joinUrl")) or None,
        hub_marker=_marker(data) if kind in {"singleInstance", "seriesMaster"} else None,
        updated=parse_stamp(data.get("lastModifiedDateTime")),
    )


def _local_date(value: datetime, zone: str | None) -> date:
    """The day an all-day occurrence's ``originalStart`` (its local midnight, as UTC) falls on."""
    return value.astimezone(ZoneInfo(zone or "UTC")).date()


def _marker(data: dict) -> str | None:
    for prop in data.get("singleValueExtendedProperties") or []:
        if prop.get("id", "").lower() == MARKER_PROPERTY.lower():
            return prop.get("value")
    return data.get("transactionId") or None


def event_to_graph(change: EventChange, creating: bool) -> tuple[dict, list]:
    """(Graph event body, EXDATEs to cancel after creating) for a change's event."""
    event = change.event
    # a zone with no Windows equivalent is pushed as UTC: the instants stay right, the zone name is lost
    zone = event.timezone if zone_name(event.timezone) and windows_name(event.timezone) else "UTC"
    body: dict[str, Any] = {
        "subject": event.summary, "body": {"contentType": "text", "content": event.description or ""},
        "start": graph_time(event.start, zone), "end": graph_time(event.end, zone), "isAllDay": bool(event.all_day),
        "location": {"displayName": event.location or ""},
        "showAs": "free" if event.transparent else ("tentative" if event.status == "tentative" else "busy"),
    }
    if change.send_invites:
        # Graph invites every attendee of an event it stores and has no switch to suppress that, so an
        # event saved "without inviting" is stored without its attendee list
        body["attendees"] = [{"emailAddress": {"address": a.email, "name": a.name or a.email},
                              "type": "resource" if a.resource else ("optional" if a.optional else "required")}
                             for a in event.attendees if not a.organizer]
    if change.want_video:
        body.update(isOnlineMeeting=True, onlineMeetingProvider="teamsForBusiness")
    exdates: list = []
    if event.recurrence:
        local_start = event.start if event.all_day else event.start.astimezone(ZoneInfo(zone))
        body["recurrence"], exdates = recurrence.to_graph(event.recurrence, local_start, zone)
        body["recurrence"]["range"]["recurrenceTimeZone"] = windows_name(zone)
    if creating:
        body["transactionId"] = change.client_id
        body["singleValueExtendedProperties"] = [{"id": MARKER_PROPERTY, "value": change.client_id}]
    return body, exdates


# --- messages ----------------------------------------------------------------------------------------


def _address(item: dict | None) -> Address | None:
    if not item or not item.get("emailAddress"):
        return None
    email = item["emailAddress"]
    return Address(email=(email.get("address") or "").lower(), name=email.get("name") or "")


def _header(data: dict, name: str) -> str | None:
    for header in data.get("internetMessageHeaders") or []:
        if (header.get("name") or "").lower() == name.lower():
            return header.get("value")
    return None


def message_from_graph(data: dict, folder: str, attachments: list[dict] | None = None) -> RemoteMessage:
    """A RemoteMessage from a Graph message (``attachments`` = metadata listed without bytes)."""
    body = data.get("body") or {}
    content = body.get("content") or ""
    html = (body.get("contentType") or "").lower() == "html"
    references = (_header(data, "References") or "").split()
    return RemoteMessage(
        remote_id=data["id"], folder=folder, message_id=data.get("internetMessageId"),
        thread_id=data.get("conversationId"), in_reply_to=(_header(data, "In-Reply-To") or "").strip() or None,
        references=references, subject=data.get("subject") or "",
        sender=_address(data.get("from") or data.get("sender")),
        to=[a for a in map(_address, data.get("toRecipients") or []) if a],
        cc=[a for a in map(_address, data.get("ccRecipients") or []) if a],
        bcc=[a for a in map(_address, data.get("bccRecipients") or []) if a],
        date=parse_stamp(data.get("sentDateTime") or data.get("receivedDateTime")),
        text_body="" if html else content, html_body=content if html else "",
        attachments=[AttachmentInfo(filename=a.get("name") or "", content_type=a.get("contentType") or "",
                                    size=int(a.get("size") or 0), remote_id=a.get("id"))
                     for a in attachments or [] if not a.get("isInline")],
    )


def recipients(addresses: list[Address]) -> list[dict]:
    """Graph recipients for hub addresses."""
    return [{"emailAddress": {"address": a.email, "name": a.name or a.email}} for a in addresses]
