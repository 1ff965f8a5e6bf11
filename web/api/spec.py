"""The OpenAPI 3.1 document of the JSON API, and looking up the operation a request is for.

Every API route has an operation here (the permission tests and schemathesis enumerate both sides);
:mod:`web.api.validation` validates each request's parameters and body against it.
"""

from __future__ import annotations

import re
from typing import Any

from web.api.schemas import DATETIME, SCHEMAS, SLUG

PREFIX = "/api/v1"
ERRORS = {400: "Invalid input", 401: "No or bad API token", 403: "The role does not allow this",
          404: "Not found (or not yours)", 409: "The slot is no longer available", 410: "The booking link is not active",
          413: "The request body is too large", 429: "Too many requests: wait for Retry-After seconds",
          502: "The provider refused or failed"}


def _schema(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict) -> dict:
    return {"content": {"application/json": {"schema": schema}}}


def _param(name: str, where: str, schema: dict, required: bool = False, description: str = "") -> dict:
    return {"name": name, "in": where, "required": required or where == "path", "schema": schema,
            **({"description": description} if description else {})}


def _op(summary: str, tag: str, *, ok: int = 200, returns: dict | None = None, body: str | None = None,
        params: tuple = (), errors: tuple[int, ...] = (), public: bool = False) -> dict:
    codes = set(errors) | ({400} if body or params else set()) | (set() if public else {401, 403})
    responses: dict[str, Any] = {str(ok): {"description": "OK", **(_json(returns) if returns else {})}}
    for code in sorted(codes):
        responses[str(code)] = {"description": ERRORS[code], **_json(_schema("Error"))}
    operation = {"summary": summary, "tags": [tag], "operationId": re.sub(r"\W+", "_", summary.lower()).strip("_"),
                 "parameters": list(params), "responses": responses}
    if body:
        operation["requestBody"] = {"required": True, **_json(_schema(body))}
    if public:
        operation["security"] = []
    return operation


def _list(name: str) -> dict:
    return {"type": "array", "items": _schema(name)}


#: ids are 32-bit integers in the database (PostgreSQL INTEGER)
ROW_ID = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
ACCOUNT = _param("account_id", "path", ROW_ID)
CALENDAR = _param("calendar_id", "path", ROW_ID)
MEETING = _param("meeting_id", "path", ROW_ID)
CONTACT = _param("contact_id", "path", ROW_ID)
RANGE = (_param("start", "query", DATETIME, description="Range start (default: now)."),
         _param("end", "query", DATETIME, description="Range end (default: a week after the start)."))

PATHS: dict[str, dict[str, dict]] = {
    "/me": {"get": _op("The signed-in user", "users", returns=_schema("Me"))},
    "/accounts": {
        "get": _op("List my accounts", "accounts", returns=_list("Account")),
        "post": _op("Connect an IMAP or iCloud account", "accounts", ok=201, returns=_schema("Account"),
                    body="AccountConnect", errors=(502,)),
    },
    "/accounts/{account_id}": {
        "get": _op("Account status", "accounts", returns=_schema("Account"), params=(ACCOUNT,), errors=(404,)),
        "delete": _op("Disconnect an account", "accounts", ok=204, params=(ACCOUNT,), errors=(404,)),
    },
    "/accounts/{account_id}/errors": {
        "get": _op("Account error log", "accounts", returns=_list("AccountError"), params=(ACCOUNT,), errors=(404,)),
    },
    "/accounts/{account_id}/sync-status": {
        "get": _op("Sync progress of an account", "accounts", returns=_schema("SyncStatus"), params=(ACCOUNT,),
                   errors=(404,)),
    },
    "/accounts/{account_id}/sync": {
        "post": _op("Sync an account now", "sync", ok=202, returns=_schema("Queued"), params=(ACCOUNT,), errors=(404,)),
    },
    "/accounts/{account_id}/check": {
        "post": _op("Test an account's connection", "sync", ok=202, returns=_schema("Queued"), params=(ACCOUNT,),
                    errors=(404,)),
    },
    "/sync": {"post": _op("Sync all my accounts now", "sync", ok=202, returns=_schema("SyncAllQueued"))},
    "/calendars": {"get": _op("List my calendars", "calendars", returns=_list("Calendar"))},
    "/calendars/{calendar_id}": {
        "patch": _op("Set default, conflict and sync preferences of a calendar", "calendars",
                     returns=_schema("Calendar"), body="CalendarUpdate", params=(CALENDAR,), errors=(404,)),
    },
    "/meetings": {
        "get": _op("List my meetings", "meetings", returns=_list("Meeting"), params=RANGE),
        "post": _op("Create a meeting", "meetings", ok=201, returns=_schema("Meeting"), body="MeetingCreate"),
    },
    "/meetings/{meeting_id}": {
        "get": _op("A meeting", "meetings", returns=_schema("Meeting"), params=(MEETING,), errors=(404,)),
        "patch": _op("Update a meeting", "meetings", returns=_schema("Meeting"), body="MeetingUpdate",
                     params=(MEETING,), errors=(404,)),
        "delete": _op("Cancel a meeting", "meetings", ok=204, errors=(404,), params=(
            MEETING, _param("send_invites", "query", {"type": "boolean"}, description="Notify attendees (default true)."))),
    },
    "/meeting-types": {
        "get": _op("List my meeting types", "meetings", returns=_list("MeetingType")),
        "post": _op("Create a meeting type", "meetings", ok=201, returns=_schema("MeetingType"),
                    body="MeetingTypeCreate"),
    },
    "/meeting-types/{slug}/availability": {
        "get": _op("Free slots of a booking link", "booking", returns=_schema("Availability"), public=True,
                   errors=(404, 410, 429), params=(
                       _param("slug", "path", SLUG), *RANGE,
                       _param("tz", "query", {"type": "string", "minLength": 1, "maxLength": 64},
                              description="IANA zone for the slots' local times (default UTC)."))),
    },
    "/bookings": {
        "post": _op("Book a slot", "booking", ok=201, returns=_schema("Booking"), body="BookingCreate", public=True,
                    errors=(404, 409, 410, 413, 429)),
    },
    "/contacts": {
        "get": _op("Search contacts", "contacts", returns=_list("Contact"), params=(
            _param("q", "query", {"type": "string", "maxLength": 200}, description="Name or email contains."),)),
    },
    "/contacts/{contact_id}": {
        "get": _op("A contact", "contacts", returns=_schema("Contact"), params=(CONTACT,), errors=(404,)),
    },
    "/contacts/{contact_id}/messages": {
        "get": _op("Logged mail with a contact, by thread", "contacts", returns=_list("Thread"), params=(CONTACT,),
                   errors=(404,)),
    },
}


def document(server_url: str = PREFIX) -> dict:
    """The whole OpenAPI document."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "CRM integration hub API", "version": "1.0.0",
                 "description": "Accounts, calendars, meetings, availability, bookings and logged mail. "
                                "Authenticate with `Authorization: Bearer <token>` (Settings → API token)."},
        "servers": [{"url": server_url}],
        "security": [{"bearerAuth": []}],
        "paths": PATHS,
        "components": {"schemas": SCHEMAS,
                       "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
    }


_ARG = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def openapi_path(rule: str) -> str:
    """``/api/v1/accounts/<int:account_id>`` → ``/accounts/{account_id}``."""
    return _ARG.sub(r"{\1}", rule.removeprefix(PREFIX)) or "/"


def operation_for(rule: str, method: str) -> dict | None:
    """The operation documenting a Flask rule and method, or None."""
    return PATHS.get(openapi_path(rule), {}).get(method.lower())


# the host CRM's records, integration tokens, webhooks and events (kept in their own module)
from web.api import crm_spec  # noqa: E402

PATHS.update(crm_spec.PATHS)
SCHEMAS.update(crm_spec.SCHEMAS)
