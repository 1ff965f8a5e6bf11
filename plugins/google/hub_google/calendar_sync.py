"""Calendar hooks' behaviour: list calendars, fetch pages of changes, push changes, free/busy.

Fetching follows Google's sync guide: a full sync lists the window (``singleEvents=false``, so
recurring masters come with their exceptions and cancelled occurrences), following
``nextPageToken``; the last page's ``nextSyncToken`` starts the incremental syncs, which repeat
the token on every page; 410 means the token expired (CursorExpired → the core full-syncs).

Pushing uses client-generated event ids, so a retried create meets 409 and reads back the event it
made the first time; updates and deletes send the last known etag as ``If-Match``.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from hub.exceptions import (
    AlreadyExists,
    AuthExpired,
    HubError,
    NotFound,
    ProviderUnavailable,
    RateLimited,
    ValidationError,
    WrongEtag,
)
from hub.types import BusyInterval, EventChange, EventPage, FreeBusy, PushResult, RemoteCalendar, Window

from hub_google import cursor as cursors
from hub_google.calendar_api import CalendarAPI
from hub_google.mapping import event_id_for, parse_time, to_google, to_remote, video_url

#: Google's freeBusy answers at most this many calendars per query
FREEBUSY_BATCH = 50
#: Google refuses free/busy ranges over about 90 days (undocumented; reported by other integrators):
#: longer ranges are asked in spans of this length, well inside the limit
FREEBUSY_SPAN = timedelta(days=60)
#: errors that concern the whole account, not one change
ACCOUNT_ERRORS = (AuthExpired, RateLimited, ProviderUnavailable)


def list_calendars(api: CalendarAPI) -> list[RemoteCalendar]:
    """The account's calendarList as RemoteCalendars (deleted entries left out)."""
    out = []
    for entry in api.calendar_list():
        if entry.get("deleted"):
            continue
        role = entry.get("accessRole", "reader")
        out.append(RemoteCalendar(
            remote_id=entry["id"],
            name=entry.get("summaryOverride") or entry.get("summary") or entry["id"],
            access_role=role if role in ("owner", "writer", "reader", "freeBusyReader") else "reader",
            is_primary=bool(entry.get("primary")),
            timezone=entry.get("timeZone"),
            color=entry.get("backgroundColor"),
        ))
    return out


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def fetch_events(api: CalendarAPI, calendar_id: str, cursor: str | None, window: Window) -> EventPage:
    """One page of a full or incremental sync (see the module docstring)."""
    state = cursors.decode(cursor) or {"mode": "full", "min": _rfc3339(window.start), "max": _rfc3339(window.end)}
    params: dict[str, Any] = {"maxResults": api.client.endpoints.page_size, "singleEvents": "false"}
    if state["mode"] == "sync":
        params["syncToken"] = state["sync"]
    else:
        params.update(timeMin=state["min"], timeMax=state["max"])
    if state.get("page"):
        params["pageToken"] = state["page"]
    body = api.list_events(calendar_id, params)
    page = EventPage()
    calendar_tz = body.get("timeZone")
    for item in body.get("items", []):
        event = to_remote(item, calendar_tz)
        if event is None:
            page.deleted.append(item["id"])
        elif state["mode"] == "sync" and _left_window(event, window):
            page.deleted.append(event.remote_id)
        else:
            page.events.append(event)
    if body.get("nextPageToken"):
        page.next_cursor = cursors.encode(**{**state, "page": body["nextPageToken"]})
        page.done = False
    else:
        page.next_cursor = cursors.encode(mode="sync", sync=body["nextSyncToken"])
        page.done = True
    return page


def _left_window(event, window: Window) -> bool:
    """A single event that changed to (or outside) the window's edges, seen in an incremental sync."""
    if event.recurrence or event.recurring_event_id:
        return False  # series are kept whole; their occurrences may fall anywhere
    start, end = event.start, event.end
    if not isinstance(start, datetime):
        start = datetime.combine(start, datetime.min.time(), timezone.utc)
        end = datetime.combine(end, datetime.min.time(), timezone.utc)
    return end <= window.start or start >= window.end


# --- push -------------------------------------------------------------------------------------------


def push_events(api: CalendarAPI, calendar_id: str, changes: list[EventChange]) -> list[PushResult]:
    """Apply ``changes`` in order; see the hook's docstring for how errors are reported."""
    results: list[PushResult] = []
    for index, change in enumerate(changes):
        try:
            results.append(_apply(api, calendar_id, change))
        except ACCOUNT_ERRORS as error:
            if index == 0:
                raise  # nothing was applied: the whole batch is retried
            # some changes are applied: report them, and this error on the ones not attempted
            results.extend(PushResult(c.client_id, error=error) for c in changes[index:])
            break
        except HubError as error:
            results.append(PushResult(change.client_id, error=error))
    return results


def _result(change: EventChange, item: dict[str, Any]) -> PushResult:
    return PushResult(change.client_id, remote_id=item.get("id"), etag=item.get("etag"),
                      ical_uid=item.get("iCalUID"), video_url=video_url(item))


def _apply(api: CalendarAPI, calendar_id: str, change: EventChange) -> PushResult:
    send_updates = "all" if change.send_invites else "none"
    if change.op == "create":
        if change.event is None:
            raise ValidationError("A create needs an event.")
        event_id = event_id_for(change.client_id)
        body = to_google(change.event, change.client_id, change.want_video) | {"id": event_id}
        try:
            item = api.insert_event(calendar_id, body, send_updates)
        except AlreadyExists:  # our earlier attempt got through: read back what it made
            item = api.get_event(calendar_id, event_id)
            if item.get("status") == "cancelled":  # … and someone deleted it since: do not resurrect it
                raise AlreadyExists(
                    f"The event for {change.client_id} was created and then deleted in Google.") from None
        return _result(change, _with_meet(api, calendar_id, item, change.want_video))
    event_id = change.remote_id or event_id_for(change.client_id)
    if change.op == "update":
        if change.event is None:
            raise ValidationError("An update needs an event.")
        item = api.patch_event(calendar_id, event_id, to_google(change.event, change.client_id, change.want_video),
                               change.etag, send_updates)
        return _result(change, _with_meet(api, calendar_id, item, change.want_video))
    if change.op == "delete":
        try:
            api.delete_event(calendar_id, event_id, change.etag, send_updates)
        except NotFound:
            pass  # already gone: the delete is done
        except WrongEtag:
            if not _is_deleted(api, calendar_id, event_id):
                raise  # someone else changed it; a retried delete of our own finds it cancelled
        return PushResult(change.client_id, remote_id=event_id)
    raise ValidationError(f"Unknown change {change.op!r}.")


def _with_meet(api: CalendarAPI, calendar_id: str, item: dict[str, Any], want_video: bool) -> dict[str, Any]:
    """Google may answer a Meet request as "pending"; the link is there when the event is read again."""
    status = ((item.get("conferenceData") or {}).get("createRequest") or {}).get("status", {}).get("statusCode")
    if want_video and not video_url(item) and status == "pending":
        return api.get_event(calendar_id, item["id"])
    return item


def _is_deleted(api: CalendarAPI, calendar_id: str, event_id: str) -> bool:
    try:
        return api.get_event(calendar_id, event_id).get("status") == "cancelled"
    except NotFound:
        return True


# --- free/busy ----------------------------------------------------------------------------------------


def free_busy(api: CalendarAPI, calendar_ids: list[str], start: datetime, end: datetime) -> FreeBusy:
    """Busy intervals per calendar via freebusy.query; unreadable calendars go into ``errors``.

    Google refuses ranges longer than about 90 days ("The requested time range is too long"), so
    longer ones are asked in spans of :data:`FREEBUSY_SPAN`.
    """
    answer = FreeBusy()
    for offset in range(0, len(calendar_ids), FREEBUSY_BATCH):
        chunk = calendar_ids[offset:offset + FREEBUSY_BATCH]
        for lo, hi in FreeBusy.spans(start, end, FREEBUSY_SPAN):
            body = api.free_busy(chunk, lo, hi)
            for cal_id in chunk:
                entry = (body.get("calendars") or {}).get(cal_id)
                if entry is None:
                    answer.fail(cal_id, "Google did not answer for this calendar.")
                elif entry.get("errors"):
                    answer.fail(cal_id, ", ".join(e.get("reason", "error") for e in entry["errors"]))
                else:
                    answer.add(cal_id, [BusyInterval(parse_time(b["start"]), parse_time(b["end"]))
                                        for b in entry.get("busy", [])], span_start=lo)
    return answer
