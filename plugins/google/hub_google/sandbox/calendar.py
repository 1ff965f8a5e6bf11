"""Calendar API v3 endpoints of the sandbox (``/calendar/v3/…``).

calendarList.list, events list/get/instances/insert/patch/update/delete/watch, channels.stop and
freeBusy, with the parameter rules Google enforces (docs/provider-notes.md): ``syncToken`` only
without restricting parameters, ``nextPageToken`` xor ``nextSyncToken``, 410 for an expired sync
token, 409 for a taken event id, 412 for a stale ``If-Match``.
"""

from __future__ import annotations

import secrets
import time
from datetime import datetime, timedelta, timezone

from hub_google.sandbox import events as ev
from hub_google.sandbox.calendar_store import CalendarStore, busy_json
from hub_google.sandbox.channels import DEFAULT_TTL, MAX_TTL, Channel, address_allowed, resource_id
from hub_google.sandbox.errors import GoogleError, bad_request, not_found
from hub_google.sandbox.recurrence import edt_value, rfc3339
from hub_google.sandbox.routing import (
    CALENDAR,
    CALENDAR_RO,
    CALENDARLIST,
    CALENDARLIST_RO,
    EVENTS,
    EVENTS_RO,
    FREEBUSY,
    Call,
    Route,
    paginate,
)

BASE = "/calendar/v3"
READ_EVENTS = (CALENDAR, CALENDAR_RO, EVENTS, EVENTS_RO)
WRITE_EVENTS = (CALENDAR, EVENTS)
#: parameters Google refuses next to a syncToken
SYNC_RESTRICTED = ("iCalUID", "orderBy", "privateExtendedProperty", "q", "sharedExtendedProperty", "timeMin",
                   "timeMax", "updatedMin")
ROLES = ["freeBusyReader", "reader", "writer", "owner"]
COLORS = {str(i): c for i, c in enumerate(
    ["#ac725e", "#d06b64", "#f83a22", "#fa573c", "#ff7537", "#ffad46", "#42d692", "#16a765", "#7bd148",
     "#b3dc6c", "#fbe983", "#fad165", "#92e1c0", "#9fe1e7", "#9fc6e7", "#4986e7", "#9a9cff", "#b99aff",
     "#c2c2c2", "#cabdbf", "#cca6ac", "#f691b2", "#cd74e6", "#a47ae2"], start=1)}


# --- calendarList --------------------------------------------------------------------------------


def calendar_list(call: Call):
    """calendarList.list."""
    state, user = call.state, call.user
    min_role = call.arg("minAccessRole")
    if min_role and min_role not in ROLES:
        raise bad_request("Invalid value for: minAccessRole", location="minAccessRole")

    def entries():
        out = []
        for cal_id, entry in user.calendar_list.items():
            if min_role and ROLES.index(entry["accessRole"]) < ROLES.index(min_role):
                continue
            if entry.get("hidden") and not call.arg_bool("showHidden"):
                continue
            out.append(_list_entry(state.calendars[cal_id], entry))
        return out, {}

    items, next_token, _ = paginate(call, state.pages, call.arg_int("maxResults", 100, 1, 250), entries,
                                    ("calendarList", user.email, min_role))
    body = {"kind": "calendar#calendarList", "etag": ev.new_etag(), "items": items}
    if next_token:
        body["nextPageToken"] = next_token
    else:
        # the sandbox keeps no calendarList change log: a sync token just lists everything again
        body["nextSyncToken"] = "L" + secrets.token_urlsafe(12)
    return body


def _list_entry(store: CalendarStore, entry: dict) -> dict:
    color = entry.get("colorId", "1")
    out = {
        "kind": "calendar#calendarListEntry", "etag": store.etag, "id": store.id, "summary": store.summary,
        "timeZone": store.time_zone, "colorId": color, "backgroundColor": COLORS.get(color, "#9fc6e7"),
        "foregroundColor": "#000000", "selected": entry.get("selected", True), "accessRole": entry["accessRole"],
        "defaultReminders": [{"method": "popup", "minutes": 10}] if entry["accessRole"] in ("owner", "writer") else [],
        "conferenceProperties": {"allowedConferenceSolutionTypes": ["hangoutsMeet"]},
    }
    if store.description:
        out["description"] = store.description
    if entry.get("primary"):
        out["primary"] = True
    if entry.get("hidden"):
        out["hidden"] = True
    return out


# --- events ----------------------------------------------------------------------------------------


def _store(call: Call, calendar_id: str, role: str) -> CalendarStore:
    return call.state.calendar(call.user, calendar_id, role)


def events_list(call: Call, calendar_id: str):
    """events.list: full, incremental (syncToken) and paged."""
    store = _store(call, calendar_id, "reader")
    sync_token = call.arg("syncToken")
    single = call.arg_bool("singleEvents")
    order_by = call.arg("orderBy")
    if sync_token:
        used = [name for name in SYNC_RESTRICTED if call.arg(name) is not None]
        if used:
            raise bad_request("Sync token cannot be used with other request restrictions.",
                              reason="syncTokenWithRequestRestrictions", location=used[0])
        if call.arg("showDeleted", "").lower() == "false":
            raise bad_request("showDeleted cannot be false with a sync token.", location="showDeleted")
        since = store.sync_version(sync_token)  # 410 fullSyncRequired here — also on later pages
    if order_by not in (None, "startTime", "updated"):
        raise bad_request("Invalid value for: orderBy", location="orderBy")
    if order_by == "startTime" and not single:
        raise bad_request("The requested ordering is not available for the particular query.",
                          reason="badRequest", location="orderBy")
    lo, hi = call.arg_time("timeMin"), call.arg_time("timeMax")
    if lo and hi and lo >= hi:
        raise bad_request("The specified time range is empty.", reason="timeRangeEmpty", location="timeMax")

    def items():
        version = store.version
        if sync_token:
            found = store.list_changes(since, single)
        else:
            found = store.list_full(lo, hi, single, call.arg_bool("showDeleted"), call.arg_time("updatedMin"))
            found = _filter(call, found)
        if order_by == "startTime":
            found.sort(key=lambda e: _start_key(e, store))
        elif order_by == "updated":
            found.sort(key=lambda e: e.get("updated", ""))
        return found, {"version": version}

    key = ("events", call.user.email, store.id, sync_token, single, lo, hi, order_by)
    page, next_token, extra = paginate(call, call.state.pages, call.arg_int("maxResults", 250, 1, 2500), items, key)
    entry = call.user.calendar_list[store.id]
    body = {"kind": "calendar#events", "etag": store.etag, "summary": store.summary, "updated": ev.now(),
            "timeZone": call.arg("timeZone") or store.time_zone, "accessRole": entry["accessRole"],
            "defaultReminders": _list_entry(store, entry)["defaultReminders"], "items": page}
    if store.description:
        body["description"] = store.description
    if next_token:
        body["nextPageToken"] = next_token
    elif not (order_by or call.arg("q")):  # Google gives no sync token for an ordered or searched list
        body["nextSyncToken"] = store.issue_sync_token(extra["version"])
    return body


def _filter(call: Call, found: list[dict]) -> list[dict]:
    """iCalUID, q and extended-property filters of a full list."""
    uid = call.arg("iCalUID")
    query = (call.arg("q") or "").lower()
    private = [p.split("=", 1) for p in call.arg_list("privateExtendedProperty") if "=" in p]
    shared = [p.split("=", 1) for p in call.arg_list("sharedExtendedProperty") if "=" in p]

    def keep(event: dict) -> bool:
        props = event.get("extendedProperties", {})
        return ((not uid or event.get("iCalUID") == uid)
                and (not query or query in " ".join(str(event.get(k, "")) for k in
                                                    ("summary", "description", "location")).lower())
                and all(props.get("private", {}).get(k) == v for k, v in private)
                and all(props.get("shared", {}).get(k) == v for k, v in shared))

    return [e for e in found if keep(e)]


def _start_key(event: dict, store: CalendarStore) -> str:
    if "start" not in event:
        return ""
    value = edt_value(event["start"], store.time_zone)
    return rfc3339(value) if isinstance(value, datetime) else value.isoformat()


def events_instances(call: Call, calendar_id: str, event_id: str):
    """events.instances of a recurring series."""
    store = _store(call, calendar_id, "reader")
    master = store.events.get(event_id)
    if master is None or master["status"] == "cancelled" or not master.get("recurrence"):
        raise not_found()
    found = store.instances(master, call.arg_time("timeMin"), call.arg_time("timeMax"),
                            call.arg_bool("showDeleted"))
    page, next_token, _ = paginate(call, call.state.pages, call.arg_int("maxResults", 250, 1, 2500),
                                   lambda: (found, {}), ("instances", store.id, event_id))
    body = {"kind": "calendar#events", "etag": store.etag, "summary": store.summary, "updated": ev.now(),
            "timeZone": store.time_zone, "accessRole": call.user.calendar_list[store.id]["accessRole"],
            "defaultReminders": [], "items": page}
    if next_token:
        body["nextPageToken"] = next_token
    return body


def events_get(call: Call, calendar_id: str, event_id: str):
    """events.get."""
    return _store(call, calendar_id, "reader").get(event_id)


def _conference(call: Call) -> bool:
    return call.arg_int("conferenceDataVersion", 0, 0, 1) == 1


def events_insert(call: Call, calendar_id: str):
    """events.insert."""
    store = _store(call, calendar_id, "writer")
    body, mode = call.json(), _send_mode(call)
    event = store.insert(body, event_id=body.get("id"), conference=_conference(call))
    _invite(call, mode, store, event, "created")
    return event


def events_patch(call: Call, calendar_id: str, event_id: str, replace: bool = False):
    """events.patch (and, with ``replace``, events.update)."""
    store = _store(call, calendar_id, "writer")
    mode = _send_mode(call)
    event = store.patch(event_id, call.json(), if_match=call.request.headers.get("If-Match"), replace=replace,
                        conference=_conference(call))
    _invite(call, mode, store, event, "cancelled" if event["status"] == "cancelled" else "updated")
    return ev.render(event, True)


def events_update(call: Call, calendar_id: str, event_id: str):
    """events.update."""
    return events_patch(call, calendar_id, event_id, replace=True)


def events_delete(call: Call, calendar_id: str, event_id: str):
    """events.delete."""
    store = _store(call, calendar_id, "writer")
    mode = _send_mode(call)
    event = store.delete(event_id, if_match=call.request.headers.get("If-Match"))
    _invite(call, mode, store, event, "cancelled")
    return None


def _send_mode(call: Call) -> str:
    mode = call.arg("sendUpdates")
    if mode is None and call.arg("sendNotifications") is not None:  # the deprecated flag
        mode = "all" if call.arg_bool("sendNotifications") else "none"
    if mode not in (None, "all", "externalOnly", "none"):
        raise bad_request("Invalid value for: sendUpdates", location="sendUpdates")
    return mode or "none"


def _invite(call: Call, mode: str, store: CalendarStore, event: dict, method: str) -> None:
    """Record the mails Google would send for ``sendUpdates`` (the default sends none)."""
    if mode == "none":
        return
    domain = store.owner_email.rsplit("@", 1)[-1].lower()
    recipients = [a["email"] for a in event.get("attendees", []) if not a.get("self")
                  and (mode == "all" or a["email"].rsplit("@", 1)[-1].lower() != domain)]
    if recipients:
        call.state.invitations.append({"calendar_id": store.id, "event_id": event["id"], "method": method,
                                       "recipients": recipients, "summary": event.get("summary", "")})


# --- push channels ---------------------------------------------------------------------------------


def events_watch(call: Call, calendar_id: str):
    """events.watch: make a channel and send its ``sync`` message."""
    store = _store(call, calendar_id, "reader")
    body = call.json()
    channel_id, address = body.get("id"), body.get("address") or ""
    if not channel_id or len(channel_id) > 64:
        raise bad_request("Channel id is required and can be at most 64 characters long.", reason="required")
    if body.get("type") not in ("web_hook", "webhook"):
        raise bad_request(f"Unknown channel type: {body.get('type')!r}.", reason="invalid")
    if not address_allowed(address, call.state.loopback_http_push):
        raise bad_request(f"WebHook callback must be HTTPS: {address}", reason="push.webhookUrlNotHttps")
    if channel_id in call.state.channels.channels:
        raise bad_request(f"Channel id {channel_id} not unique", reason="channelIdNotUnique")
    now_ms = int(time.time() * 1000)
    wanted = int(body.get("expiration") or now_ms + DEFAULT_TTL * 1000)
    expiration = max(now_ms + 1000, min(wanted, now_ms + MAX_TTL * 1000))
    channel = Channel(
        id=channel_id, resource_id=resource_id(store.id, call.user.email),
        resource_uri=f"{call.state.base_url}{BASE}/calendars/{store.id}/events?alt=json",
        address=address, token=body.get("token"), expiration=expiration, calendar_id=store.id,
        owner=call.user.email,
    )
    call.state.channels.channels[channel_id] = channel
    call.state.notifier.notify(channel, "sync")
    return channel.as_json()


def channels_stop(call: Call):
    """channels.stop."""
    body = call.json()
    channel = call.state.channels.channels.get(body.get("id") or "")
    if channel is None or channel.stopped or channel.resource_id != body.get("resourceId") \
            or channel.owner != call.user.email:
        raise not_found(f"Channel '{body.get('id')}' not found for project 'sandbox'")
    channel.stopped = True
    return None


# --- freeBusy ----------------------------------------------------------------------------------------

#: Google refuses longer free/busy ranges with "The requested time range is too long" (not in the
#: discovery document; the limit is the one other integrators report, the reason name is a guess)
FREEBUSY_MAX_SPAN = timedelta(days=90)


def free_busy(call: Call):
    """freebusy.query."""
    body = call.json()
    try:
        lo = datetime.fromisoformat(body["timeMin"].replace("z", "Z"))
        hi = datetime.fromisoformat(body["timeMax"].replace("z", "Z"))
    except (KeyError, ValueError, AttributeError):
        raise bad_request("Missing or invalid timeMin / timeMax.", reason="required") from None
    if lo.tzinfo is None or hi.tzinfo is None:
        raise bad_request("timeMin and timeMax need a time zone offset.")
    if lo >= hi:
        raise bad_request("The specified time range is empty.", reason="timeRangeEmpty")
    if hi - lo > FREEBUSY_MAX_SPAN:
        raise bad_request("The requested time range is too long.", reason="timeRangeTooLong", location="timeMax")
    calendars = {}
    for item in body.get("items") or []:
        cal_id = item.get("id", "")
        try:
            store = call.state.calendar(call.user, cal_id, "freeBusyReader")
        except GoogleError:
            calendars[cal_id] = {"errors": [{"domain": "global", "reason": "notFound"}], "busy": []}
            continue
        calendars[cal_id] = {"busy": busy_json(store.busy(lo, hi, call.user.email))}
    return {"kind": "calendar#freeBusy", "timeMin": rfc3339(lo.astimezone(timezone.utc)),
            "timeMax": rfc3339(hi.astimezone(timezone.utc)), "calendars": calendars}


ROUTES = [
    Route(f"{BASE}/users/me/calendarList", ("GET",), calendar_list, "calendar.calendarList.list",
          (CALENDAR, CALENDAR_RO, CALENDARLIST, CALENDARLIST_RO)),
    Route(f"{BASE}/calendars/<calendar_id>/events", ("GET",), events_list, "calendar.events.list", READ_EVENTS),
    Route(f"{BASE}/calendars/<calendar_id>/events", ("POST",), events_insert, "calendar.events.insert",
          WRITE_EVENTS),
    Route(f"{BASE}/calendars/<calendar_id>/events/watch", ("POST",), events_watch, "calendar.events.watch",
          READ_EVENTS),
    Route(f"{BASE}/calendars/<calendar_id>/events/<event_id>", ("GET",), events_get, "calendar.events.get",
          READ_EVENTS),
    Route(f"{BASE}/calendars/<calendar_id>/events/<event_id>/instances", ("GET",), events_instances,
          "calendar.events.instances", READ_EVENTS),
    Route(f"{BASE}/calendars/<calendar_id>/events/<event_id>", ("PATCH",), events_patch, "calendar.events.patch",
          WRITE_EVENTS),
    Route(f"{BASE}/calendars/<calendar_id>/events/<event_id>", ("PUT",), events_update, "calendar.events.update",
          WRITE_EVENTS),
    Route(f"{BASE}/calendars/<calendar_id>/events/<event_id>", ("DELETE",), events_delete,
          "calendar.events.delete", WRITE_EVENTS),
    Route(f"{BASE}/channels/stop", ("POST",), channels_stop, "calendar.channels.stop", READ_EVENTS),
    Route(f"{BASE}/freeBusy", ("POST",), free_busy, "calendar.freebusy.query", READ_EVENTS + (FREEBUSY,)),
]
