"""Outlook calendars through Graph: list, delta fetch, push, free/busy.

**Fetch** follows ``/me/calendars/{id}/calendarView/delta``: the first request carries the window,
then ``@odata.nextLink`` pages end in an ``@odata.deltaLink`` that is the next sync's start. A
calendarView lists single events, occurrences and exceptions — never series masters — so the plugin
turns occurrences back into their series: for every series touched on a page it reads the master
(``GET /me/events/{id}``, giving the recurrence) and its instances in the window (cancelled
occurrences become EXDATEs). A cancelled occurrence shows in the delta only as ``@removed`` with an
id that names no series, so the cursor also remembers the series seen so far and re-reads them when
anything is removed. Items may repeat within and across pages (Graph says so): the last word on an
id wins, and upserts are idempotent anyway.

The cursor is JSON ``{"link": nextLink|deltaLink, "series": [...], "read": [...]}``; the core stores
it opaquely.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from hub.exceptions import (
    AuthExpired,
    CursorExpired,
    HubError,
    NotFound,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
)
from hub.timezones import iana_name
from hub.types import AccountHandle, BusyInterval, EventChange, EventPage, FreeBusy, PushResult, RemoteCalendar, Window

from hub_office365 import mapping, recurrence
from hub_office365.graph import AccessDenied, GraphClient
from hub_office365.zones import UTC_NAMES

PAGE_SIZE = 50
UTC_VIEW = {"Prefer": f'odata.maxpagesize={PAGE_SIZE}, outlook.timezone="UTC"'}
#: errors that stop a whole batch / free-busy query: the core retries or reconnects
BATCH_ERRORS = (AuthExpired, RateLimited, ProviderUnavailable)


def _stamp(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- calendars ---------------------------------------------------------------------------------------


def list_calendars(account: AccountHandle) -> list[RemoteCalendar]:
    """Every calendar of the mailbox; ``canEdit`` and the owner decide the access role.

    A Graph calendar has no zone of its own: the user's own calendars take the mailbox's
    (:func:`mailbox_zone`); a calendar another mailbox shares is left without one (the owner's profile
    zone then applies in the hub).
    """
    client = GraphClient(account)
    result = []
    items = client.collect("/me/calendars")
    zone = mailbox_zone(client) if items else None
    for item in items:
        owner = ((item.get("owner") or {}).get("address") or "").lower()
        if not item.get("canEdit"):
            role = "reader"
        elif owner and owner != account.email.lower():
            role = "writer"
        else:
            role = "owner"
        result.append(RemoteCalendar(remote_id=item["id"], name=item.get("name") or "", access_role=role,
                                     is_primary=bool(item.get("isDefaultCalendar")),
                                     timezone=zone if not owner or owner == account.email.lower() else None,
                                     color=item.get("hexColor") or None))
    return result


def mailbox_zone(client: GraphClient) -> str | None:
    """The IANA name of the mailbox's time zone (``mailboxSettings.timeZone``, a Windows or IANA name).

    ``None`` when it cannot say: a grant from before the hub asked for ``MailboxSettings.Read`` (403
    until the user reconnects), an unknown name, or UTC — which Exchange also reports for a user who
    never chose a zone, so the owner's profile zone is the better guess then.
    """
    try:
        name = client.get("/me/mailboxSettings").get("timeZone")
    except AccessDenied:
        return None
    if not isinstance(name, str) or name.strip().lower() in UTC_NAMES:
        return None
    return iana_name(name)


# --- fetching ------------------------------------------------------------------------------------------


def _load(cursor: str | None) -> dict:
    """The cursor's parts; one this plugin did not write means starting over."""
    if not cursor:
        return {"link": None, "series": [], "read": []}
    try:
        state = json.loads(cursor)
        if isinstance(state, dict) and isinstance(state.get("link"), str):
            return {"link": state["link"], "series": list(state.get("series") or []),
                    "read": list(state.get("read") or [])}
    except ValueError:
        pass
    raise CursorExpired("The stored Microsoft 365 sync position is unreadable; a full sync follows.")


def fetch_events(account: AccountHandle, calendar_id: str, cursor: str | None, window: Window) -> EventPage:
    """One delta page of ``calendar_id``, with series folded back into masters (see the module doc)."""
    client = GraphClient(account)
    state = _load(cursor)
    if state["link"]:
        data = client.get(state["link"], headers=UTC_VIEW)
    else:
        data = client.get(f"/me/calendars/{calendar_id}/calendarView/delta", headers=UTC_VIEW,
                          params={"startDateTime": _stamp(window.start), "endDateTime": _stamp(window.end)})
    upserts: dict[str, dict | None] = {}  # id -> Graph item, or None once removed (last word wins)
    touched: set[str] = set()
    removed_any = False
    for item in data.get("value") or []:
        if "@removed" in item:
            upserts[item["id"]] = None
            removed_any = True
            continue
        kind = item.get("type") or "singleInstance"
        if kind in {"occurrence", "exception"} and item.get("seriesMasterId"):
            touched.add(item["seriesMasterId"])
        if kind == "seriesMaster":
            touched.add(item["id"])
        elif kind != "occurrence":
            upserts[item["id"]] = item
    series, already_read = set(state["series"]), set(state["read"])
    if removed_any:
        touched |= series  # a bare @removed may be a cancelled occurrence of any series we know
    events, deleted = [], [i for i, item in upserts.items() if item is None]
    events += [mapping.event_from_graph(_with_marker(client, item)) for item in upserts.values() if item is not None]
    for master_id in sorted(touched - (already_read if not removed_any else set())):
        master = _read_series(client, master_id, window)
        if master is None:  # deleted, or no occurrence left in the window
            deleted.append(master_id)
            series.discard(master_id)
        else:
            events.append(master)
            series.add(master_id)
            already_read.add(master_id)
    done = "@odata.deltaLink" in data
    link = data.get("@odata.deltaLink") if done else data.get("@odata.nextLink")
    if not link:
        raise ProviderError("Microsoft Graph answered a delta page without a nextLink or deltaLink.")
    next_cursor = json.dumps({"link": link, "series": sorted(series), "read": [] if done else sorted(already_read)})
    return EventPage(events=events, deleted=sorted(set(deleted)), next_cursor=next_cursor, done=done)


def _with_marker(client: GraphClient, item: dict) -> dict:
    """The delta item, with the hub's marker property read separately when the item lacks ``transactionId``.

    Graph returns ``transactionId`` in delta items, which is how the hub recognises its own events,
    but documents only the property, not its presence there: should an item come without the field,
    the marker is read the documented way (the extended property, ``$expand``-ed on the event).
    """
    if "transactionId" in item or item.get("type", "singleInstance") not in {"singleInstance", "seriesMaster"}:
        return item  # occurrences and exceptions carry no marker of their own
    expand = f"singleValueExtendedProperties($filter=id eq '{mapping.MARKER_PROPERTY}')"
    try:
        extra = client.get(f"/me/events/{item['id']}", headers=UTC_VIEW, params={"$expand": expand})
    except NotFound:
        return item
    return {**item, "singleValueExtendedProperties": extra.get("singleValueExtendedProperties") or []}


def _read_series(client: GraphClient, master_id: str, window: Window):
    """The series master as a RemoteEvent with EXDATEs for occurrences cancelled in the window.

    None when the series is gone or none of its occurrences is in the window any more.
    """
    try:
        master = client.get(f"/me/events/{master_id}", headers=UTC_VIEW)
        instances = client.collect(f"/me/events/{master_id}/instances", headers=UTC_VIEW,
                                   params={"startDateTime": _stamp(window.start), "endDateTime": _stamp(window.end)})
    except NotFound:
        return None
    if not instances:
        return None
    event = mapping.event_from_graph(master)
    if not event.recurrence:
        return event
    series_zone = mapping.zone_name(master["recurrence"]["range"].get("recurrenceTimeZone"))
    zone = ZoneInfo(series_zone or event.timezone or "UTC")
    expected = recurrence.starts_between(event.recurrence[0], event.start, zone, window.start, window.end)
    present = set()
    for item in instances:
        original = mapping.parse_stamp(item.get("originalStart"))
        if original is not None:
            present.add(original.astimezone(zone).date() if event.all_day else original)
    cancelled = [s for s in expected if s not in present]
    return event.replace(recurrence=event.recurrence + recurrence.exdate_lines(cancelled))


# --- pushing ---------------------------------------------------------------------------------------------


def push_events(account: AccountHandle, calendar_id: str, changes: list[EventChange]) -> list[PushResult]:
    """Apply the hub's changes in order; a transient failure stops the batch for the remaining ones."""
    client = GraphClient(account)
    results: list[PushResult] = []
    stopped: HubError | None = None
    for change in changes:
        if stopped is not None:
            results.append(PushResult(client_id=change.client_id, error=stopped))
            continue
        try:
            results.append(_apply(client, calendar_id, change))
        except BATCH_ERRORS as exc:
            if not results:
                raise  # nothing applied yet: the whole batch is retried
            stopped = exc
            results.append(PushResult(client_id=change.client_id, error=exc))
        except HubError as exc:
            results.append(PushResult(client_id=change.client_id, error=exc))
    return results


def _result(change: EventChange, data: dict) -> PushResult:
    return PushResult(client_id=change.client_id, remote_id=data["id"], etag=data.get("@odata.etag"),
                      ical_uid=data.get("iCalUId"), video_url=(data.get("onlineMeeting") or {}).get("joinUrl"))


def _if_match(change: EventChange) -> dict:
    return {**UTC_VIEW, "If-Match": change.etag} if change.etag else dict(UTC_VIEW)


def _apply(client: GraphClient, calendar_id: str, change: EventChange) -> PushResult:
    if change.op == "delete":
        try:
            client.request("DELETE", f"/me/events/{change.remote_id}", headers=_if_match(change))
        except NotFound:
            pass  # already gone: a retried delete succeeds
        return PushResult(client_id=change.client_id, remote_id=change.remote_id)
    if change.op == "update":
        body, exdates = mapping.event_to_graph(change, creating=False)
        data = client.request("PATCH", f"/me/events/{change.remote_id}", json=body, headers=_if_match(change)).json()
        if exdates:
            _cancel_occurrences(client, data["id"], exdates, change.event.timezone)
            data = client.get(f"/me/events/{data['id']}", headers=UTC_VIEW)
        return _result(change, data)
    existing = _find_created(client, calendar_id, change.client_id)
    if existing is not None:
        return _result(change, existing)
    body, exdates = mapping.event_to_graph(change, creating=True)
    data = client.post(f"/me/calendars/{calendar_id}/events", body, headers=UTC_VIEW).json()
    if exdates:
        _cancel_occurrences(client, data["id"], exdates, change.event.timezone)
        data = client.get(f"/me/events/{data['id']}", headers=UTC_VIEW)
    return _result(change, data)


def _find_created(client: GraphClient, calendar_id: str, client_id: str) -> dict | None:
    """An event this client id already created (the first attempt may have succeeded unseen)."""
    value = client_id.replace("'", "''")
    found = client.get(f"/me/calendars/{calendar_id}/events", headers=UTC_VIEW, params={
        "$filter": f"singleValueExtendedProperties/Any(ep: ep/id eq '{mapping.MARKER_PROPERTY}' "
                   f"and ep/value eq '{value}')"}).get("value") or []
    return found[0] if found else None


def _cancel_occurrences(client: GraphClient, master_id: str, exdates: list, zone_name: str | None) -> None:
    """Outlook has no EXDATE: delete the occurrences the hub's series excludes."""
    zone = ZoneInfo(mapping.zone_name(zone_name) or "UTC")
    wanted = {d if not isinstance(d, datetime) else d.astimezone(timezone.utc) for d in exdates}
    first = min(datetime.combine(d, datetime.min.time(), timezone.utc) if not isinstance(d, datetime) else d
                for d in wanted)
    last = max(datetime.combine(d, datetime.min.time(), timezone.utc) if not isinstance(d, datetime) else d
               for d in wanted)
    for item in client.collect(f"/me/events/{master_id}/instances", headers=UTC_VIEW, params={
            "startDateTime": _stamp(first - timedelta(days=1)), "endDateTime": _stamp(last + timedelta(days=2))}):
        original = mapping.parse_stamp(item.get("originalStart"))
        if original is not None and (original in wanted or original.astimezone(zone).date() in wanted):
            client.request("DELETE", f"/me/events/{item['id']}")


# --- free/busy ---------------------------------------------------------------------------------------------


#: getSchedule refuses more than 62 days (ErrorTimeIntervalTooBig); longer ranges are asked in spans
SCHEDULE_SPAN = timedelta(days=60)


def free_busy(account: AccountHandle, calendar_ids: list[str], start: datetime, end: datetime) -> FreeBusy:
    """Busy time per calendar: getSchedule for the default calendar, calendarView for the others.

    getSchedule answers for a mailbox (its default calendar), not for other calendars, so those are
    read as a calendarView. ``showAs`` free and workingElsewhere never block.
    """
    client = GraphClient(account)
    answer = FreeBusy()
    default_id = client.get("/me/calendar", params={"$select": "id"})["id"]
    for calendar_id in calendar_ids:
        try:
            if calendar_id == default_id:
                for lo, hi in FreeBusy.spans(start, end, SCHEDULE_SPAN):
                    answer.add(calendar_id, _schedule(client, account.email, lo, hi), span_start=lo)
            else:
                answer.add(calendar_id, _view_busy(client, calendar_id, start, end))
        except BATCH_ERRORS:
            raise
        except HubError as exc:
            answer.fail(calendar_id, exc.message)
    return answer


def _schedule(client: GraphClient, email: str, start: datetime, end: datetime) -> list[BusyInterval]:
    body = {"schedules": [email], "availabilityViewInterval": 15,
            "startTime": mapping.graph_time(start, "UTC"), "endTime": mapping.graph_time(end, "UTC")}
    data = client.post("/me/calendar/getSchedule", body, headers={"Prefer": 'outlook.timezone="UTC"'}).json()
    info = next(iter(data.get("value") or []), None)
    if info is None or info.get("error"):
        raise ProviderError(((info or {}).get("error") or {}).get("message") or "getSchedule returned nothing.")
    busy = [BusyInterval(mapping.parse_time(i["start"]), mapping.parse_time(i["end"]))
            for i in info.get("scheduleItems") or [] if i.get("status") not in mapping.TRANSPARENT_SHOW_AS]
    return sorted(busy, key=lambda b: b.start)


def _view_busy(client: GraphClient, calendar_id: str, start: datetime, end: datetime) -> list[BusyInterval]:
    items = client.collect(f"/me/calendars/{calendar_id}/calendarView", headers=UTC_VIEW, params={
        "startDateTime": _stamp(start), "endDateTime": _stamp(end), "$select": "showAs,start,end,isAllDay,isCancelled"})
    busy = [BusyInterval(mapping.parse_time(i["start"]), mapping.parse_time(i["end"])) for i in items
            if i.get("showAs") not in mapping.TRANSPARENT_SHOW_AS and not i.get("isCancelled")]
    return sorted(busy, key=lambda b: b.start)
