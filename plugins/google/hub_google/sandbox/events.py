"""Event resources of the sandbox: building them from request bodies, validating, rendering.

The store keeps full resources, also of deleted events; :func:`render` cuts a cancelled event
down to what Google guarantees (only ``id`` for a deletion; ``id``, ``recurringEventId`` and
``originalStartTime`` for a cancelled occurrence of a live series).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import itertools
import re
import secrets
import time
from datetime import datetime, timezone

from hub_google.sandbox.errors import GoogleError, bad_request
from hub_google.sandbox.recurrence import edt_value, rfc3339

#: Google's rule for client-supplied event ids: base32hex characters, 5 to 1024 of them
EVENT_ID = re.compile(r"^[a-v0-9]{5,1024}$")

#: every property of the discovery document's Event schema; anything else in a request is an error
EVENT_FIELDS = frozenset({
    "anyoneCanAddSelf", "attachments", "attendees", "attendeesOmitted", "birthdayProperties", "colorId",
    "conferenceData", "created", "creator", "description", "end", "endTimeUnspecified", "etag",
    "eventLabelId", "eventType", "extendedProperties", "focusTimeProperties", "gadget",
    "guestsCanInviteOthers", "guestsCanModify", "guestsCanSeeOtherGuests", "hangoutLink", "htmlLink",
    "iCalUID", "id", "kind", "location", "locked", "organizer", "originalStartTime", "outOfOfficeProperties",
    "privateCopy", "recurrence", "recurringEventId", "reminders", "sequence", "source", "start", "status",
    "summary", "transparency", "updated", "visibility", "workingLocationProperties",
})
#: what a client may set (the rest is read-only and silently ignored, as Google does)
WRITABLE = frozenset({
    "anyoneCanAddSelf", "attachments", "attendees", "colorId", "description", "end", "extendedProperties",
    "guestsCanInviteOthers", "guestsCanModify", "guestsCanSeeOtherGuests", "location", "recurrence",
    "reminders", "source", "start", "status", "summary", "transparency", "visibility", "iCalUID",
    "originalStartTime", "recurringEventId", "eventType", "endTimeUnspecified",
})
STATUSES = ("confirmed", "tentative", "cancelled")
RESPONSES = ("needsAction", "declined", "tentative", "accepted")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

_etags = itertools.count(time.time_ns() // 1000)


def new_etag() -> str:
    """A fresh, globally unique etag in Google's quoted-number shape."""
    return f'"{next(_etags)}"'


def new_event_id() -> str:
    """A random base32hex event id, as Google makes."""
    return base64.b32hexencode(secrets.token_bytes(16)).decode().rstrip("=").lower()


def now() -> str:
    """The current time as Google writes it."""
    return rfc3339(datetime.now(timezone.utc))


def check_fields(body: dict) -> None:
    """400 for a body that is not an object or names a property Google's Event does not have."""
    if not isinstance(body, dict):
        raise bad_request("Invalid JSON payload received: the event must be an object.", reason="parseError")
    unknown = sorted(set(body) - EVENT_FIELDS)
    if unknown:
        raise bad_request(f"Invalid JSON payload received. Unknown name \"{unknown[0]}\" at 'resource'.",
                          reason="invalid")


def validate(resource: dict, cal_tz: str) -> None:
    """Google's checks on an event about to be stored; 400 with Google's reasons."""
    if resource.get("status", "confirmed") not in STATUSES:
        raise bad_request("Invalid value for: status", reason="invalid")
    if resource.get("status") == "cancelled":
        return
    for key in ("start", "end"):
        edt = resource.get(key)
        if not isinstance(edt, dict) or not ("date" in edt or "dateTime" in edt):
            raise bad_request(f"Missing {key} time.", reason="required")
        if "date" in edt and "dateTime" in edt:
            raise bad_request(f"Invalid {key} time: both date and dateTime.", reason="invalid")
        if "dateTime" in edt and not edt.get("timeZone") and not re.search(r"(Z|[+-]\d\d:\d\d)$", edt["dateTime"]):
            raise bad_request(f"Missing time zone definition for {key} time.", reason="required")
    if ("date" in resource["start"]) != ("date" in resource["end"]):
        raise bad_request("Start and end must both be dates or both be date-times.", reason="invalid")
    if resource.get("recurrence") and "dateTime" in resource["start"] and not resource["start"].get("timeZone"):
        raise bad_request("Missing time zone definition for start time.", reason="required")
    try:
        start, end = edt_value(resource["start"], cal_tz), edt_value(resource["end"], cal_tz)
    except ValueError:
        raise bad_request("Invalid start or end time.", reason="invalid") from None
    if end < start:
        raise bad_request("The specified time range is empty.", reason="timeRangeEmpty")
    for line in resource.get("recurrence", []):
        if not isinstance(line, str) or line.split(":")[0].split(";")[0].upper() not in (
                "RRULE", "EXRULE", "RDATE", "EXDATE"):
            raise bad_request("Invalid recurrence rule.", reason="invalid")
    for attendee in resource.get("attendees", []):
        if not EMAIL.match(attendee.get("email") or ""):
            raise bad_request("Invalid attendee email.", reason="invalid")
        if attendee.get("responseStatus", "needsAction") not in RESPONSES:
            raise bad_request("Invalid attendee responseStatus.", reason="invalid")
    if resource.get("transparency", "opaque") not in ("opaque", "transparent"):
        raise bad_request("Invalid value for: transparency", reason="invalid")


def build(body: dict, *, event_id: str, calendar_id: str, owner_email: str, owner_name: str) -> dict:
    """A new resource from an insert body (read-only fields dropped, defaults filled in)."""
    resource = {k: copy.deepcopy(v) for k, v in body.items() if k in WRITABLE}
    stamp = now()
    resource.update(
        kind="calendar#event",
        etag=new_etag(),
        id=event_id,
        status=resource.get("status", "confirmed"),
        htmlLink="https://www.google.com/calendar/event?eid="
                 + base64.urlsafe_b64encode(f"{event_id} {calendar_id}".encode()).decode().rstrip("="),
        created=stamp,
        updated=stamp,
        creator={"email": owner_email, "self": True},
        organizer={"email": calendar_id, "self": True} | ({"displayName": owner_name} if owner_name else {}),
        sequence=0,
        eventType=resource.get("eventType", "default"),
    )
    resource.setdefault("iCalUID", f"{event_id}@google.com")
    resource.setdefault("reminders", {"useDefault": True})
    normalise_attendees(resource, calendar_id)
    return resource


def normalise_attendees(resource: dict, calendar_id: str) -> None:
    """Attendees get Google's defaults and the organizer / self flags for the calendar's owner."""
    for attendee in resource.get("attendees", []):
        attendee.setdefault("responseStatus", "needsAction")
        if attendee.get("email", "").lower() == calendar_id.lower():
            attendee["organizer"] = True
            attendee["self"] = True
            attendee["responseStatus"] = "accepted" if attendee["responseStatus"] == "needsAction" else \
                attendee["responseStatus"]


def merge(resource: dict, patch: dict) -> dict:
    """PATCH semantics: objects merge member by member, arrays and scalars replace, null deletes."""
    out = copy.deepcopy(resource)
    for key, value in patch.items():
        if key not in WRITABLE:
            continue
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict) and key not in ("start", "end"):
            out[key] = merge_object(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def merge_object(base: dict, patch: dict) -> dict:
    """Merge-patch one nested object."""
    out = copy.deepcopy(base)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_object(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def check_etag(resource: dict, if_match: str | None) -> None:
    """``If-Match`` precondition: 412 when the stored etag differs."""
    if not if_match or if_match.strip() == "*":
        return
    wanted = {tag.strip().removeprefix("W/") for tag in if_match.split(",")}
    if resource["etag"] not in wanted:
        raise GoogleError(412, "conditionNotMet", "Precondition Failed", location="If-Match")


def add_conference(resource: dict, body: dict, pending: bool) -> None:
    """Handle ``conferenceData.createRequest`` (only with ``conferenceDataVersion=1``).

    The Meet code derives from the requestId, so a retried request gets the same link (Google dedupes
    create requests by requestId the same way).
    """
    request = (body.get("conferenceData") or {}).get("createRequest")
    if not request:
        if "conferenceData" in body and body["conferenceData"] is None:
            resource.pop("conferenceData", None)
            resource.pop("hangoutLink", None)
        return
    kind = (request.get("conferenceSolutionKey") or {}).get("type")
    if not request.get("requestId"):
        raise bad_request("Invalid conference request: requestId is required.", reason="invalid")
    if kind != "hangoutsMeet":
        raise bad_request("Invalid conference type value.", reason="invalidConferenceType")
    digest = hashlib.sha256(request["requestId"].encode()).digest()
    letters = "".join("abcdefghijklmnopqrstuvwxyz"[b % 26] for b in digest[:10])
    code = f"{letters[:3]}-{letters[3:7]}-{letters[7:10]}"
    data = {
        "createRequest": {"requestId": request["requestId"], "conferenceSolutionKey": {"type": kind},
                          "status": {"statusCode": "pending" if pending else "success"}},
        "conferenceSolution": {"key": {"type": kind}, "name": "Google Meet",
                               "iconUri": "https://fonts.gstatic.com/s/i/productlogos/meet_2020q4/v6/web-512dp/"
                                          "logo_meet_2020q4_color_2x_web_512dp.png"},
        "conferenceId": code,
    }
    if not pending:
        complete_conference(data)
        resource["hangoutLink"] = f"https://meet.google.com/{code}"
    resource["conferenceData"] = data


def complete_conference(data: dict) -> None:
    """Turn a pending Meet request into a ready one (entry points appear)."""
    code = data["conferenceId"]
    data["createRequest"]["status"]["statusCode"] = "success"
    data["entryPoints"] = [
        {"entryPointType": "video", "uri": f"https://meet.google.com/{code}", "label": f"meet.google.com/{code}"},
    ]


def render(resource: dict, master_live: bool = False) -> dict:
    """What a list or get returns for ``resource``; cancelled events are cut down."""
    if resource.get("status") != "cancelled":
        return copy.deepcopy(resource)
    minimal = {"kind": "calendar#event", "etag": resource["etag"], "id": resource["id"], "status": "cancelled"}
    if resource.get("recurringEventId") and master_live:
        minimal["recurringEventId"] = resource["recurringEventId"]
        minimal["originalStartTime"] = copy.deepcopy(resource["originalStartTime"])
    return minimal
