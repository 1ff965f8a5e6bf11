"""The OpenAPI 3.1 document of the JSON API, and looking up the operation a request is for.

Every API route has an operation here (the permission tests and schemathesis enumerate both sides);
:mod:`web.api.validation` validates each request's parameters and body against it.
"""

from __future__ import annotations

import re

from web.api import crm_spec
from web.api.operations import PREFIX, ROW_ID, array_of, operation, param
from web.api.schemas import DATETIME, SCHEMAS, SLUG, ref

ACCOUNT = param("account_id", "path", ROW_ID)
CALENDAR = param("calendar_id", "path", ROW_ID)
MEETING = param("meeting_id", "path", ROW_ID)
CONTACT = param("contact_id", "path", ROW_ID)
MEETING_TYPE = param("type_id", "path", ROW_ID)
BOOKING = param("booking_id", "path", ROW_ID)
RANGE = (param("start", "query", DATETIME, description="Range start (default: now)."),
         param("end", "query", DATETIME, description="Range end (default: a week after the start)."))

PATHS: dict[str, dict[str, dict]] = {
    "/me": {"get": operation("The signed-in user", "users", returns=ref("Me"))},
    "/accounts": {
        "get": operation("List my accounts", "accounts", returns=array_of("Account")),
        "post": operation("Connect an IMAP or iCloud account", "accounts", ok=201, returns=ref("Account"),
                    body="AccountConnect", errors=(502,)),
    },
    "/accounts/{account_id}": {
        "get": operation("Account status", "accounts", returns=ref("Account"), params=(ACCOUNT,), errors=(404,)),
        "delete": operation("Disconnect an account", "accounts", ok=204, params=(ACCOUNT,), errors=(404,)),
    },
    "/accounts/{account_id}/errors": {
        "get": operation("Account error log", "accounts", returns=array_of("AccountError"), params=(ACCOUNT,),
                         errors=(404,)),
    },
    "/accounts/{account_id}/sync-status": {
        "get": operation("Sync progress of an account", "accounts", returns=ref("SyncStatus"), params=(ACCOUNT,),
                   errors=(404,)),
    },
    "/accounts/{account_id}/sync": {
        "post": operation("Sync an account now", "sync", ok=202, returns=ref("Queued"), params=(ACCOUNT,), errors=(404,)),
    },
    "/accounts/{account_id}/check": {
        "post": operation("Test an account's connection", "sync", ok=202, returns=ref("Queued"), params=(ACCOUNT,),
                    errors=(404,)),
    },
    "/sync": {"post": operation("Sync all my accounts now", "sync", ok=202, returns=ref("SyncAllQueued"))},
    "/calendars": {"get": operation("List my calendars", "calendars", returns=array_of("Calendar"))},
    "/calendars/{calendar_id}": {
        "patch": operation("Set default, conflict and sync preferences of a calendar", "calendars",
                     returns=ref("Calendar"), body="CalendarUpdate", params=(CALENDAR,), errors=(404,)),
    },
    "/meetings": {
        "get": operation("List my meetings", "meetings", returns=array_of("Meeting"), params=RANGE),
        "post": operation("Create a meeting", "meetings", ok=201, returns=ref("Meeting"), body="MeetingCreate"),
    },
    "/meetings/{meeting_id}": {
        "get": operation("A meeting", "meetings", returns=ref("Meeting"), params=(MEETING,), errors=(404,)),
        "patch": operation("Update a meeting", "meetings", returns=ref("Meeting"), body="MeetingUpdate",
                     params=(MEETING,), errors=(404,)),
        "delete": operation("Cancel a meeting", "meetings", ok=204, errors=(404,), params=(
            MEETING, param("send_invites", "query", {"type": "boolean"}, description="Notify attendees (default true)."))),
    },
    "/meeting-types": {
        "get": operation("List my meeting types", "meetings", returns=array_of("MeetingType")),
        "post": operation("Create a meeting type", "meetings", ok=201, returns=ref("MeetingType"),
                    body="MeetingTypeCreate"),
    },
    "/meeting-types/{type_id}": {
        "patch": operation("Update a meeting type (team, questions, limits …)", "meetings", returns=ref("MeetingType"),
                     body="MeetingTypeUpdate", params=(MEETING_TYPE,), errors=(404,)),
    },
    "/meeting-types/{slug}/availability": {
        "get": operation("Free slots of a booking link", "booking", returns=ref("Availability"), public=True,
                   errors=(404, 410, 429), params=(
                       param("slug", "path", SLUG), *RANGE,
                       param("tz", "query", {"type": "string", "minLength": 1, "maxLength": 64},
                              description="IANA zone for the slots' local times (default UTC)."))),
    },
    "/bookings": {
        "post": operation("Book a slot", "booking", ok=201, returns=ref("Booking"), body="BookingCreate", public=True,
                    errors=(404, 409, 410, 413, 429)),
    },
    "/bookings/{booking_id}": {
        "get": operation("One of my bookings", "booking", returns=ref("Booking"), params=(BOOKING,), errors=(404,)),
    },
    "/bookings/{booking_id}/reschedule": {
        "post": operation("Reschedule one of my bookings", "booking", returns=ref("Booking"), body="BookingReschedule",
                          params=(BOOKING,), errors=(404, 409, 410, 413)),
    },
    "/bookings/{booking_id}/cancel": {
        "post": operation("Cancel one of my bookings", "booking", returns=ref("Booking"), body="BookingCancel",
                          params=(BOOKING,), errors=(404, 410, 413)),
    },
    "/contacts": {
        "get": operation("Search contacts", "contacts", returns=array_of("Contact"), params=(
            param("q", "query", {"type": "string", "maxLength": 200}, description="Name or email contains."),)),
    },
    "/contacts/{contact_id}": {
        "get": operation("A contact", "contacts", returns=ref("Contact"), params=(CONTACT,), errors=(404,)),
    },
    "/contacts/{contact_id}/messages": {
        "get": operation("Logged mail with a contact, by thread", "contacts", returns=array_of("Thread"), params=(CONTACT,),
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

PATHS.update(crm_spec.PATHS)
SCHEMAS.update(crm_spec.SCHEMAS)
