"""Outlook events as the sandbox stores, expands and renders them.

Stored events are single instances or series masters. Occurrences are computed from the master's
``patternedRecurrence`` (see :mod:`.recurrence`); editing one stores an exception override on the
master and deleting one stores a cancellation — the occurrence keeps its id either way, as in
Exchange. Rendering follows Graph's event resource: ``@odata.etag`` = ``W/"changeKey"``, times as
``dateTimeTimeZone`` in the zone the client asked for with ``Prefer: outlook.timezone``.
"""

from __future__ import annotations

import base64
import re
import secrets
import uuid
from datetime import date, datetime, time, timezone
from typing import Any

from hub_office365.sandbox import recurrence as rec
from hub_office365.sandbox import times
from hub_office365.sandbox.errors import GraphError, invalid_request, item_not_found, time_zone_not_supported
from hub_office365.sandbox.ids import new_change_key, new_id, now

SHOW_AS = {"free", "tentative", "busy", "oof", "workingElsewhere", "unknown"}
OCCURRENCE_PREFIX = "AAMkADOcc"
#: the properties and relationships of Graph v1.0's event resource: a body naming anything else is refused
EVENT_PROPERTIES = {
    "allowNewTimeProposals", "attendees", "body", "bodyPreview", "categories", "changeKey", "createdDateTime", "end",
    "hasAttachments", "hideAttendees", "iCalUId", "id", "importance", "isAllDay", "isCancelled", "isDraft",
    "isOnlineMeeting", "isOrganizer", "isReminderOn", "lastModifiedDateTime", "location", "locations",
    "onlineMeeting", "onlineMeetingProvider", "onlineMeetingUrl", "organizer", "originalEndTimeZone",
    "originalStart", "originalStartTimeZone", "recurrence", "reminderMinutesBeforeStart", "responseRequested",
    "responseStatus", "sensitivity", "seriesMasterId", "showAs", "start", "subject", "transactionId", "type",
    "webLink", "attachments", "calendar", "extensions", "instances", "multiValueExtendedProperties",
    "singleValueExtendedProperties",
}
#: fields an occurrence may override (Graph lets you edit any of these on one instance)
OVERRIDABLE = {"subject", "body", "location", "showAs", "start", "end", "attendees", "sensitivity", "categories"}


# --- ids -------------------------------------------------------------------------------------------


def occurrence_id(master_id: str, key: str) -> str:
    """The opaque id of one occurrence: stable, and resolvable back to its series and date."""
    raw = f"{master_id}|{key}".encode()
    return OCCURRENCE_PREFIX + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _split_occurrence_id(item_id: str) -> tuple[str, str] | None:
    if not item_id.startswith(OCCURRENCE_PREFIX):
        return None
    token = item_id[len(OCCURRENCE_PREFIX):]
    try:
        master_id, key = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode().split("|", 1)
    except (ValueError, UnicodeDecodeError):
        return None
    return master_id, key


def occurrence_key(original: datetime | date) -> str:
    """The key naming an occurrence by its original start (UTC, or the date when all-day)."""
    if isinstance(original, datetime):
        return times.stamp(original).replace("-", "").replace(":", "")
    return original.strftime("%Y%m%d")


# --- writing ---------------------------------------------------------------------------------------


def _parse_times(body: dict, current: dict | None) -> dict[str, Any]:
    """start/end/tz/isAllDay from a create or PATCH body, validated like Graph does."""
    all_day = bool(body.get("isAllDay", current["isAllDay"] if current else False))
    try:
        for part in ("start", "end"):
            if isinstance(body.get(part), dict):
                times.check_writable(body[part].get("timeZone"))
    except ValueError as exc:
        raise time_zone_not_supported(str(exc)) from exc
    try:
        start = times.parse(body["start"]) if "start" in body else None
        end = times.parse(body["end"]) if "end" in body else None
    except (ValueError, TypeError) as exc:
        raise invalid_request(f"Invalid start or end: {exc}") from exc
    if current is None and (start is None or end is None):
        raise invalid_request("An event needs both start and end.")
    tz_name = (body.get("start") or {}).get("timeZone") or (current or {}).get("tz") or "UTC"
    if start is None:
        start = current["start"]
    if end is None:
        end = current["end"]
    if all_day:
        if any(isinstance(v, datetime) and v.timetz().replace(tzinfo=None) != time() for v in (start, end)):
            raise GraphError(400, "ErrorInvalidRequest", "For an all-day event, start and end times must be set to "
                                                         "midnight and in the same time zone.")
        start = start.date() if isinstance(start, datetime) else start
        end = end.date() if isinstance(end, datetime) else end
    elif not isinstance(start, datetime) or not isinstance(end, datetime):
        raise invalid_request("A timed event needs start and end date-times.")
    if times.instant(end) < times.instant(start):
        raise invalid_request("The end of an event cannot be before its start.")
    return {"start": start, "end": end, "tz": tz_name, "isAllDay": all_day}


def _attendees(items: list[dict]) -> list[dict]:
    result = []
    for item in items or []:
        address = (item.get("emailAddress") or {}).get("address")
        if not address:
            raise invalid_request("Every attendee needs emailAddress.address.")
        result.append({
            "type": item.get("type") or "required",
            "status": item.get("status") or {"response": "none", "time": "0001-01-01T00:00:00Z"},
            "emailAddress": {"name": item["emailAddress"].get("name") or address, "address": address},
        })
    return result


def check_properties(body: dict) -> None:
    """Refuse a body with a property the event type does not have (annotations such as ``@odata.type`` pass)."""
    unknown = sorted(k for k in body if "@" not in k and k not in EVENT_PROPERTIES)
    if unknown:
        raise GraphError(400, "RequestBodyRead", f"The property '{unknown[0]}' does not exist on type "
                                                 "'microsoft.graph.event'. Make sure to only use property names "
                                                 "that are defined by the type or mark the type as open type.")


def _apply(event: dict, body: dict, calendar: dict, creating: bool) -> None:
    """Copy the writable fields of a create/PATCH body onto a stored event."""
    check_properties(body)
    if not creating and "transactionId" in body and body["transactionId"] != event.get("transactionId"):
        raise invalid_request("The transactionId of an event cannot be changed after it was created.")
    if any(k in body for k in ("start", "end", "isAllDay")) or creating:
        event.update(_parse_times(body, None if creating else event))
    for name in ("subject", "sensitivity", "categories", "importance"):
        if name in body:
            event[name] = body[name]
    if "body" in body:
        event["body"] = {"contentType": (body["body"] or {}).get("contentType", "text"),
                         "content": (body["body"] or {}).get("content", "")}
    if "location" in body:
        event["location"] = (body["location"] or {}).get("displayName", "")
    if "showAs" in body:
        if body["showAs"] not in SHOW_AS:
            raise invalid_request(f"showAs '{body['showAs']}' is invalid.")
        event["showAs"] = body["showAs"]
    if "attendees" in body:
        event["attendees"] = _attendees(body["attendees"])
    if "isOnlineMeeting" in body or "onlineMeetingProvider" in body:
        wanted = bool(body.get("isOnlineMeeting", event.get("isOnlineMeeting")))
        provider = body.get("onlineMeetingProvider") or calendar["defaultOnlineMeetingProvider"]
        event["isOnlineMeeting"] = wanted and provider in calendar["allowedOnlineMeetingProviders"]
        event["onlineMeetingProvider"] = provider if event["isOnlineMeeting"] else "unknown"
        if event["isOnlineMeeting"] and not event.get("onlineMeeting"):
            thread = secrets.token_hex(16)
            event["onlineMeeting"] = {"joinUrl": f"https://teams.microsoft.com/l/meetup-join/19%3ameeting_{thread}"
                                                 f"%40thread.v2/0?context=%7b%22Tid%22%3a%22sandbox%22%7d"}
        elif not event["isOnlineMeeting"]:
            event["onlineMeeting"] = None
    if "recurrence" in body:
        if body["recurrence"]:
            try:
                times.check_writable((body["recurrence"].get("range") or {}).get("recurrenceTimeZone"))
            except ValueError as exc:
                raise time_zone_not_supported(str(exc)) from exc
            try:
                rec.validate(body["recurrence"])
            except (ValueError, KeyError) as exc:
                raise invalid_request(str(exc)) from exc
            event["recurrence"] = body["recurrence"]
            event["type"] = "seriesMaster"
        elif not creating and event["type"] == "seriesMaster":
            raise invalid_request("A series cannot be turned into a single event; delete it instead.")
        event["exceptions"] = {}
    for prop in body.get("singleValueExtendedProperties") or []:
        event["extended"][prop["id"]] = prop.get("value")
    event["changeKey"] = new_change_key()
    event["lastModifiedDateTime"] = now()


def create(box, calendar_id: str, body: dict, dedupe: bool, by_owner: bool = False) -> dict:
    """Store a new event (POST /me/events); a known ``transactionId`` returns the existing one."""
    calendar = box.calendars.get(calendar_id)
    if calendar is None:
        raise item_not_found()
    if not calendar["canEdit"] and not by_owner:
        raise GraphError(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
    check_properties(body)
    txn = body.get("transactionId")
    if dedupe and txn:
        for existing in box.events.values():
            if existing.get("transactionId") == txn:
                return existing
    organizer = (body.get("organizer") or {}).get("emailAddress") or {"name": box.display_name, "address": box.email}
    event = {
        "id": new_id(), "calendar_id": calendar_id, "type": "singleInstance", "transactionId": txn,
        "createdDateTime": now(), "iCalUId": "040000008200E00074C5B7101A82E008" + uuid.uuid4().hex.upper(),
        "subject": "", "body": {"contentType": "text", "content": ""}, "location": "", "showAs": "busy",
        "sensitivity": "normal", "importance": "normal", "categories": [], "attendees": [],
        "organizer": {"emailAddress": organizer}, "isOrganizer": organizer["address"].lower() == box.email,
        "isOnlineMeeting": False, "onlineMeetingProvider": "unknown", "onlineMeeting": None, "recurrence": None,
        "extended": {}, "exceptions": {},
    }
    _apply(event, body, calendar, creating=True)
    box.events[event["id"]] = event
    return event


def update(box, item_id: str, changes: dict) -> tuple[str, str]:
    """PATCH an event, a series, or one occurrence (which then becomes an exception)."""
    master, key = _resolve(box, item_id)
    calendar = box.calendars[master["calendar_id"]]
    if not calendar["canEdit"]:
        raise GraphError(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
    if key is None:
        _apply(master, changes, calendar, creating=False)
        return master["calendar_id"], master["id"]
    unknown = set(changes) - OVERRIDABLE
    if unknown:
        raise invalid_request(f"These properties cannot be changed on one occurrence: {', '.join(sorted(unknown))}.")
    current = view(box, item_id)
    exception = master["exceptions"].setdefault(key, {"changes": {}})
    scratch = dict(current, extended={})
    _apply(scratch, changes, calendar, creating=False)
    for name in changes:
        if name in {"start", "end"}:
            exception["changes"].update(start=scratch["start"], end=scratch["end"])
        elif name in OVERRIDABLE:
            exception["changes"][name] = scratch[name]
    exception["changeKey"] = scratch["changeKey"]
    exception["lastModifiedDateTime"] = scratch["lastModifiedDateTime"]
    return master["calendar_id"], item_id


def delete(box, item_id: str) -> str:
    """DELETE an event or series; for an occurrence, cancel just that one."""
    master, key = _resolve(box, item_id)
    if key is None:
        del box.events[master["id"]]
    else:
        # only the occurrence goes; delta reports it as @removed and nothing else
        master["exceptions"][key] = {"cancelled": True}
    return master["calendar_id"]


# --- reading ---------------------------------------------------------------------------------------


def _resolve(box, item_id: str) -> tuple[dict, str | None]:
    """(stored event, occurrence key or None) for an id; 404 for unknown or cancelled ones."""
    if item_id in box.events:
        return box.events[item_id], None
    parts = _split_occurrence_id(item_id)
    if parts and parts[0] in box.events:
        master = box.events[parts[0]]
        if master["type"] == "seriesMaster" and not master["exceptions"].get(parts[1], {}).get("cancelled"):
            if any(occurrence_key(o) == parts[1] for o in _original_starts(master, _key_instant(parts[1]))):
                return master, parts[1]
    raise item_not_found()


def _key_instant(key: str) -> datetime:
    if "T" in key:
        return datetime.strptime(key, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    return times.instant(datetime.strptime(key, "%Y%m%d").date())


def _original_starts(master: dict, until: datetime) -> list[datetime | date]:
    return rec.original_starts(master["recurrence"], master["start"], times.zone(master["tz"]), until)


def find(box, item_id: str) -> dict:
    """The current view of any item id (event, series master, occurrence, exception)."""
    return view(box, item_id)


def view(box, item_id: str) -> dict:
    """The stored or computed item an id names, ready to render."""
    master, key = _resolve(box, item_id)
    if key is None:
        return dict(master, _diff=master["changeKey"])
    original = next(o for o in _original_starts(master, _key_instant(key)) if occurrence_key(o) == key)
    return _occurrence(master, key, original)


def _occurrence(master: dict, key: str, original: datetime | date) -> dict | None:
    exception = master["exceptions"].get(key) or {}
    if exception.get("cancelled"):
        return None
    duration = (master["end"] - master["start"])
    item = dict(master, id=occurrence_id(master["id"], key), type="occurrence", seriesMasterId=master["id"],
                originalStart=original, start=original, end=original + duration, recurrence=None, exceptions={},
                iCalUId=master["iCalUId"] + key, _diff=master["changeKey"])
    if exception.get("changes") is not None:
        item.update(exception["changes"])
        item.update(type="exception", changeKey=exception["changeKey"],
                    lastModifiedDateTime=exception["lastModifiedDateTime"],
                    _diff=master["changeKey"] + exception["changeKey"])
    return item


def instances(box, calendar_ids: list[str], start: datetime, end: datetime) -> list[dict]:
    """Everything a calendarView of ``[start, end)`` shows: single events, occurrences, exceptions."""
    result = []
    for event in list(box.events.values()):
        if event["calendar_id"] not in calendar_ids:
            continue
        if event["type"] != "seriesMaster":
            if times.instant(event["start"]) < end and times.instant(event["end"]) > start:
                result.append(dict(event, _diff=event["changeKey"]))
            continue
        for original in _original_starts(event, end):
            item = _occurrence(event, occurrence_key(original), original)
            if item and times.instant(item["start"]) < end and times.instant(item["end"]) > start:
                result.append(item)
    result.sort(key=lambda i: times.instant(i["start"]))
    return result


def matches_extended_filter(event: dict, expression: str) -> bool:
    """Evaluate Graph's ``singleValueExtendedProperties/Any(ep: ep/id eq '…' and ep/value eq '…')``."""
    match = re.fullmatch(r"\s*singleValueExtendedProperties/any\(\s*(\w+)\s*:\s*\1/id\s+eq\s+'([^']*)'"
                         r"\s+and\s+\1/value\s+eq\s+'([^']*)'\s*\)\s*", expression, re.IGNORECASE)
    if not match:
        raise GraphError(400, "ErrorInvalidUrlQueryFilter", "The query filter contains one or more invalid nodes.")
    prop_id, value = match.group(2), match.group(3)
    return any(k.lower() == prop_id.lower() and v == value for k, v in event["extended"].items())


def render(item: dict, zone_name: str | None, expand_ids: list[str] | None = None) -> dict:
    """The Graph JSON of a stored event or computed occurrence, times in ``zone_name`` (default UTC)."""
    zone_name = zone_name or "UTC"
    content = item["body"]["content"] or ""
    data = {
        "@odata.etag": f'W/"{item["changeKey"]}"', "id": item["id"],
        "createdDateTime": times.stamp(item["createdDateTime"]),
        "lastModifiedDateTime": times.stamp(item["lastModifiedDateTime"]),
        "changeKey": item["changeKey"], "categories": item["categories"], "transactionId": item["transactionId"],
        "originalStartTimeZone": item["tz"], "originalEndTimeZone": item["tz"], "iCalUId": item["iCalUId"],
        "reminderMinutesBeforeStart": 15, "isReminderOn": True, "hasAttachments": False,
        "subject": item["subject"], "bodyPreview": re.sub(r"<[^>]+>", "", content)[:255],
        "importance": item["importance"], "sensitivity": item["sensitivity"], "isAllDay": item["isAllDay"],
        "isCancelled": False, "isOrganizer": item["isOrganizer"], "responseRequested": True,
        "seriesMasterId": item.get("seriesMasterId"), "showAs": item["showAs"], "type": item["type"],
        "webLink": f"https://outlook.office365.com/owa/?itemid={item['id']}&exvsurl=1&path=/calendar/item",
        "onlineMeetingUrl": None, "isOnlineMeeting": item["isOnlineMeeting"],
        "onlineMeetingProvider": item["onlineMeetingProvider"], "allowNewTimeProposals": True, "isDraft": False,
        "hideAttendees": False,
        "responseStatus": {"response": "organizer" if item["isOrganizer"] else "notResponded",
                           "time": "0001-01-01T00:00:00Z"},
        "body": dict(item["body"]),
        "start": times.render(item["start"], zone_name), "end": times.render(item["end"], zone_name),
        "location": {"displayName": item["location"], "locationType": "default", "uniqueIdType": "unknown",
                     "address": {}, "coordinates": {}},
        "locations": [{"displayName": item["location"], "locationType": "default"}] if item["location"] else [],
        "recurrence": item["recurrence"], "attendees": [dict(a) for a in item["attendees"]],
        "organizer": item["organizer"], "onlineMeeting": item["onlineMeeting"],
    }
    original = item.get("originalStart")
    if original is not None:
        # a DateTimeOffset: for all-day series the midnight of that day in the series' zone
        if not isinstance(original, datetime):
            original = datetime.combine(original, time(), tzinfo=times.zone(item["tz"]))
        data["originalStart"] = times.stamp(original)
    if expand_ids is not None:
        data["singleValueExtendedProperties"] = [
            {"id": k, "value": v} for k, v in item["extended"].items() if k.lower() in {e.lower() for e in expand_ids}
        ]
    return data


def expansion_ids(expand: str | None) -> list[str] | None:
    """Property ids from ``$expand=singleValueExtendedProperties($filter=id eq '…')``."""
    if not expand or "singlevalueextendedproperties" not in expand.lower():
        return None
    return re.findall(r"id\s+eq\s+'([^']*)'", expand, re.IGNORECASE)
