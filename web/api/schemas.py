"""JSON Schemas of the API's bodies (OpenAPI 3.1 ``components.schemas``).

The same schemas document the API (``/api/v1/openapi.json``) and validate what arrives
(:mod:`web.api.validation`), so the document cannot promise what the code does not check.
"""

from __future__ import annotations

from typing import Any

from hub.models import AccountStatus, SyncDirection


def _nullable(kind: str | dict, **extra: Any) -> dict:
    if isinstance(kind, dict):
        return {"anyOf": [kind, {"type": "null"}], **extra}
    return {"type": [kind, "null"], **extra}


INT = {"type": "integer"}
STR = {"type": "string"}
BOOL = {"type": "boolean"}
DATETIME = {"type": "string", "format": "date-time"}
ID = {"type": "integer", "minimum": 1}
SLUG = {"type": "string", "pattern": "^[a-z0-9](?:[a-z0-9-]{0,98}[a-z0-9])?$"}
EMAIL = {"type": "string", "format": "email", "minLength": 3, "maxLength": 320, "pattern": "^[^@\\s]+@[^@\\s]+$"}
HHMM = {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$"}
DAY_HOURS = {"type": "array", "items": {"type": "array", "items": HHMM, "minItems": 2, "maxItems": 2}}


def ref(name: str) -> dict:
    """A reference to a component schema."""
    return {"$ref": f"#/components/schemas/{name}"}


def _object(properties: dict, required: tuple[str, ...] = (), closed: bool = True, **extra: Any) -> dict:
    schema = {"type": "object", "properties": properties, "required": list(required), **extra}
    if closed:
        schema["additionalProperties"] = False
    return schema


SCHEMAS: dict[str, dict] = {
    "Error": _object({"error": STR, "message": STR, "fix": _nullable("string"), "field": _nullable("string")},
                     ("error", "message"), closed=False),
    "Me": _object({"id": INT, "email": STR, "name": STR, "role": STR,
                   "permissions": {"type": "array", "items": STR}}, ("id", "email", "role", "permissions")),
    "Account": _object({
        "id": INT, "provider": STR, "email": STR,
        "status": {"type": "string", "enum": [s.value for s in AccountStatus]},
        "last_error": _nullable("string"), "fix": _nullable("string"), "needs_reconnect": BOOL,
        "mail_enabled": BOOL, "calendar_enabled": BOOL, "last_synced_at": _nullable(DATETIME),
    }, ("id", "provider", "email", "status")),
    "AccountConnect": {
        "type": "object",
        "description": "The provider's connect-form fields (IMAP: email, password, preset, imap_host …; "
                       "iCloud: email, password). OAuth providers connect in the web UI only.",
        "properties": {"provider": {"type": "string", "minLength": 1, "maxLength": 64}},
        "required": ["provider"],
        "additionalProperties": {"type": ["string", "integer", "boolean"]},
    },
    "AccountError": _object({"at": DATETIME, "area": STR, "error": STR, "message": STR, "fix": _nullable("string")},
                            ("at", "area", "error", "message")),
    "Queued": _object({"queued": BOOL, "job_id": _nullable("string")}, ("queued",)),
    "SyncAllQueued": _object({"queued": {"type": "array", "items": INT}}, ("queued",)),
    "FolderProgress": _object({"folder": STR, "done": INT, "total": _nullable("integer"), "finished": BOOL,
                               "percent": INT}, ("folder", "done", "finished", "percent")),
    "SyncStatus": _object({
        "account_id": INT, "status": STR, "mail_enabled": BOOL, "finished": BOOL,
        "folders": {"type": "array", "items": ref("FolderProgress")},
        "calendars": {"type": "array", "items": _object({"id": INT, "name": STR, "synced": BOOL},
                                                        ("id", "name", "synced"))},
    }, ("account_id", "status", "finished", "folders", "calendars")),
    "Calendar": _object({
        "id": INT, "account_id": INT, "name": STR, "access_role": STR, "is_primary": BOOL, "is_default": BOOL,
        "is_conflict": BOOL, "sync_enabled": BOOL,
        "sync_direction": {"type": "string", "enum": [d.value for d in SyncDirection]},
        "propagate_deletions": BOOL, "import_meetings": BOOL, "appointment_type": _nullable("string"),
        "readable": BOOL,
    }, ("id", "account_id", "name", "is_default", "is_conflict", "sync_direction")),
    "CalendarUpdate": _object({
        "is_default": {"type": "boolean", "enum": [True], "description": "Make this the default calendar."},
        "is_conflict": BOOL, "sync_enabled": BOOL,
        "sync_direction": {"type": "string", "enum": [d.value for d in SyncDirection]},
        "propagate_deletions": BOOL, "import_meetings": BOOL,
        "appointment_type": _nullable({"type": "string", "maxLength": 64}),
    }, minProperties=1),
    "Attendee": _object({"email": STR, "name": STR, "response": STR, "organizer": BOOL,
                         "contact_id": _nullable("integer")}, ("email",)),
    "Meeting": _object({
        "id": INT, "title": STR, "description": STR, "location": STR, "start": _nullable(DATETIME),
        "end": _nullable(DATETIME), "all_day": BOOL, "timezone": STR, "appointment_type": _nullable("string"),
        "video_url": _nullable("string"), "origin": STR, "cancelled": BOOL,
        "attendees": {"type": "array", "items": ref("Attendee")},
    }, ("id", "title", "start", "end", "cancelled", "attendees")),
}

_MEETING_FIELDS = {
    "title": {"type": "string", "minLength": 1, "maxLength": 500, "pattern": "\\S"},
    "start": DATETIME, "end": DATETIME,
    "attendees": {"type": "array", "maxItems": 200, "items": EMAIL},
    "description": {"type": "string", "maxLength": 20000},
    "location": {"type": "string", "maxLength": 500},
    "timezone": {"type": "string", "minLength": 1, "maxLength": 64},
    "want_video": BOOL,
    "appointment_type": _nullable({"type": "string", "maxLength": 64}),
    "send_invites": {"type": "boolean", "description": "false = \"Save without inviting\"."},
}
SCHEMAS["MeetingCreate"] = _object(_MEETING_FIELDS, ("title", "start", "end"))
SCHEMAS["MeetingUpdate"] = _object(_MEETING_FIELDS, minProperties=1)

_TYPE_FIELDS = {
    "name": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "\\S"},
    "slug": SLUG,
    "duration_minutes": {"type": "integer", "minimum": 5, "maximum": 1440},
    "buffer_before_minutes": {"type": "integer", "minimum": 0, "maximum": 240},
    "buffer_after_minutes": {"type": "integer", "minimum": 0, "maximum": 240},
    "min_notice_minutes": {"type": "integer", "minimum": 0, "maximum": 43200},
    "horizon_days": {"type": "integer", "minimum": 1, "maximum": 365},
    "slot_step_minutes": {"type": "integer", "minimum": 5, "maximum": 240},
    "timezone": {"type": "string", "minLength": 1, "maxLength": 64},
    "weekly_hours": _object({d: DAY_HOURS for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}),
    "want_video": BOOL, "is_primary": BOOL,
    "kind": {"type": "string", "enum": ["single", "round_robin", "collective"],
             "description": "single: you host; round_robin: one free member; collective: every member."},
    "max_per_day": _nullable({"type": "integer", "minimum": 1, "maximum": 100},
                             description="At most this many bookings of this type per host and day (null: no limit)."),
    "reminder_minutes": _nullable({"type": "array", "maxItems": 5,
                                   "items": {"type": "integer", "minimum": 5, "maximum": 40320}},
                                  description="Reminders to guest and host, minutes before the start "
                                              "(null: 24 h and 1 h; []: none)."),
    "date_overrides": {"type": "object", "maxProperties": 366, "additionalProperties": False,
                       "patternProperties": {"^[0-9]{4}-[0-9]{2}-[0-9]{2}$": DAY_HOURS},
                       "description": "Other hours on a date; an empty list is a day off."},
    "questions": {"type": "array", "maxItems": 20, "items": _object({
        "label": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "\\S"},
        "kind": {"type": "string", "enum": ["text", "choice", "phone"]}, "required": BOOL,
        "choices": {"type": "array", "maxItems": 50, "items": {"type": "string", "minLength": 1, "maxLength": 200}},
        "key": {"type": "string", "readOnly": True},
    }, ("label",))},
    "members": {"type": "array", "maxItems": 50, "description": "Users of your organization hosting a team type.",
                "items": _object({"user_id": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
                                  "weight": {"type": "integer", "minimum": 1, "maximum": 100},
                                  "weekly_hours": _nullable(_object({d: DAY_HOURS for d in (
                                      "mon", "tue", "wed", "thu", "fri", "sat", "sun")}))}, ("user_id",))},
}
SCHEMAS["MeetingTypeCreate"] = _object(_TYPE_FIELDS, ("name",))
SCHEMAS["MeetingTypeUpdate"] = _object(_TYPE_FIELDS, minProperties=1)
SCHEMAS["MeetingType"] = _object({
    **{k: v for k, v in _TYPE_FIELDS.items() if k != "slug"}, "slug": STR, "name": STR, "id": INT, "active": BOOL,
    "booking_url": STR, "weekly_hours": {"type": "object"}, "timezone": STR, "date_overrides": {"type": "object"},
    "questions": {"type": "array", "items": {"type": "object"}},
    "members": {"type": "array", "items": {"type": "object"}},
}, ("id", "name", "slug", "active", "booking_url"))
SCHEMAS["Slot"] = _object({"start": DATETIME, "local": DATETIME}, ("start", "local"))
SCHEMAS["Availability"] = _object({
    "slug": STR, "timezone": STR, "duration_minutes": INT, "limited": BOOL,
    "unreadable_calendars": {"type": "array", "items": STR},
    "slots": {"type": "array", "items": ref("Slot")},
}, ("slug", "timezone", "duration_minutes", "limited", "slots"))
SCHEMAS["BookingCreate"] = _object({
    "slug": SLUG, "start": DATETIME,
    "guest_name": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "\\S"},
    "guest_email": EMAIL, "guest_timezone": {"type": "string", "minLength": 1, "maxLength": 64},
    "answers": {"type": "object", "maxProperties": 20, "description": "Answers to the type's questions, by key.",
                "additionalProperties": {"type": "string", "maxLength": 1000}},
}, ("slug", "start", "guest_name", "guest_email"))
SCHEMAS["Booking"] = _object({
    "id": INT, "slug": STR, "start": DATETIME, "end": DATETIME, "status": STR, "meeting_id": _nullable("integer"),
    "video_url": _nullable("string"), "guest_email": STR,
    "host_user_id": {"type": "integer", "description": "Who hosts (a round-robin booking's member)."},
    "answers": {"type": "array", "items": _object({"key": STR, "label": STR, "answer": STR})},
    "version": {"type": "integer", "description": "1 when booked, +1 per reschedule and on the cancel (.ics SEQUENCE + 1)."},
    "cancel_reason": _nullable("string"),
}, ("id", "slug", "start", "end", "status"))
SCHEMAS["BookingReschedule"] = _object({"start": DATETIME}, ("start",))
SCHEMAS["BookingCancel"] = _object({"reason": {"type": "string", "maxLength": 2000}})
SCHEMAS["Contact"] = _object({
    "id": INT, "name": STR, "emails": {"type": "array", "items": STR}, "company_id": _nullable("integer"),
    "is_lead": BOOL, "source": STR,
}, ("id", "name", "emails"))
SCHEMAS["Message"] = _object({
    "id": INT, "thread_id": _nullable("integer"), "subject": STR, "from": _nullable("string"), "from_name": STR,
    "direction": STR, "date": _nullable(DATETIME), "text": STR, "owner_user_id": INT,
    "attachments": {"type": "array", "items": _object({"filename": _nullable("string"),
                                                       "size": _nullable("integer")})},
}, ("id", "subject", "direction", "date"))
SCHEMAS["Thread"] = _object({
    "thread_id": _nullable("integer"), "subject": STR, "last_at": _nullable(DATETIME),
    "messages": {"type": "array", "items": ref("Message")},
}, ("subject", "messages"))
