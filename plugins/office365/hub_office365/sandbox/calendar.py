"""Graph calendar endpoints: calendars, calendarView (plain and delta), events, instances, getSchedule.

Handlers take ``(state, request, box, **route values)`` and return a Response or a JSON-able dict;
the server has already checked the bearer token, the on-premises mailbox case and injected faults.
"""

from __future__ import annotations

import json
from datetime import timedelta

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from hub_office365.sandbox import delta, times
from hub_office365.sandbox import events as store
from hub_office365.sandbox.errors import GraphError, invalid_request, item_not_found, time_zone_not_supported
from hub_office365.sandbox.odata import CONTEXT, action_body, page, prefer, read_json

EXTENDED = "singleValueExtendedProperties"
#: query options calendarView/delta refuses (Graph's delta-query-events guide: no $select, $filter, …)
UNSUPPORTED_ON_DELTA = {"$select", "$filter", "$orderby", "$expand", "$search", "$top", "$skip"}


def _zone(request: Request) -> str:
    return prefer(request).get("outlook.timezone") or "UTC"


def _calendar(box, calendar_id: str | None) -> dict:
    calendar = box.calendars.get(calendar_id or box.default_calendar_id)
    if calendar is None:
        raise item_not_found()
    return calendar


def _arg(request: Request, name: str) -> str | None:
    """A query parameter, its name matched without regard to case (Graph's docs spell both)."""
    return next((v for k, v in request.args.items() if k.lower() == name.lower()), None)


def _window(request: Request) -> tuple:
    start, end = _arg(request, "startDateTime"), _arg(request, "endDateTime")
    if not start or not end:
        raise GraphError(400, "ErrorInvalidParameter", "This request requires a time window specified by the query "
                                                        "string parameters StartDateTime and EndDateTime.")
    try:
        return times.parse_query(start), times.parse_query(end)
    except ValueError as exc:
        raise GraphError(400, "ErrorInvalidParameter", f"Invalid date-time in the time window: {exc}") from exc


def _check_if_match(request: Request, item: dict) -> None:
    expected = request.headers.get("If-Match")
    if expected and expected != "*" and expected.strip() != f'W/"{item["changeKey"]}"':
        raise GraphError(412, "ErrorIrresolvableConflict",
                         "The send or update operation could not be performed because the change key passed in the "
                         "request does not match the current change key for the item.")


# --- calendars -----------------------------------------------------------------------------------


def list_calendars(state, request: Request, box) -> dict:
    """GET /me/calendars."""
    with state.lock:
        items = [dict(c, **{"@odata.id": f"users/{box.user_id}/calendars/{c['id']}"}) for c in box.calendars.values()]
    return page(request, items, CONTEXT + f"users('{box.email}')/calendars")


def get_calendar(state, request: Request, box, calendar_id: str | None = None) -> dict:
    """GET /me/calendar (the default) or /me/calendars/{id}."""
    with state.lock:
        context = CONTEXT + f"users('{box.email}')/calendars/$entity"
        return dict(_calendar(box, calendar_id), **{"@odata.context": context})


# --- calendar views --------------------------------------------------------------------------------


def calendar_view_delta(state, request: Request, box, calendar_id: str | None = None) -> dict:
    """GET …/calendarView/delta: nextLink pages, then a deltaLink; changes and @removed after that."""
    zone = _zone(request)
    params = {}
    if "$deltatoken" not in request.args and "$skiptoken" not in request.args:
        refused = sorted(k for k in request.args if k.lower() in UNSUPPORTED_ON_DELTA)
        if refused:
            raise GraphError(400, "ErrorInvalidUrlQuery", "The following parameters are not supported with change "
                                                          f"tracking over the 'CalendarView' resource: "
                                                          f"'{', '.join(refused)}'.")
        start, end = _window(request)
        with state.lock:
            params = {"calendar": _calendar(box, calendar_id)["id"], "start": start, "end": end}

    def compute(p: dict) -> dict:
        """Current instances of the tracked calendar in the tracked window."""
        if p["calendar"] not in box.calendars:
            return {}
        rendered = {item["id"]: (item["_diff"], store.render(item, zone))
                    for item in store.instances(box, [p["calendar"]], p["start"], p["end"])}
        if state.knobs.delta_without_transaction_id:
            for _, data in rendered.values():
                data.pop("transactionId", None)
        return rendered

    return delta.serve(state, request, CONTEXT + "Collection(event)", params, compute,
                       state.knobs.default_event_page_size)


def calendar_view(state, request: Request, box, calendar_id: str | None = None) -> dict:
    """GET …/calendarView: every instance in the window (no sync state)."""
    start, end = _window(request)
    zone = _zone(request)
    with state.lock:
        calendar = _calendar(box, calendar_id)
        items = [store.render(i, zone) for i in store.instances(box, [calendar["id"]], start, end)]
    return page(request, items, CONTEXT + f"users('{box.email}')/calendarView")


# --- events --------------------------------------------------------------------------------------


def list_events(state, request: Request, box, calendar_id: str | None = None) -> dict:
    """GET /me/events (stored events and series masters), with the extended-property ``$filter``."""
    zone = _zone(request)
    expression = request.args.get("$filter")
    with state.lock:
        calendars = [_calendar(box, calendar_id)["id"]] if calendar_id else list(box.calendars)
        items = [e for e in box.events.values() if e["calendar_id"] in calendars]
        if expression:
            items = [e for e in items if store.matches_extended_filter(e, expression)]
        ids = store.expansion_ids(request.args.get("$expand"))
        rendered = [store.render(e, zone, ids) for e in items]
    return page(request, rendered, CONTEXT + f"users('{box.email}')/events")


def create_event(state, request: Request, box, calendar_id: str | None = None) -> Response:
    """POST /me/events or /me/calendars/{id}/events → 201 (an existing event for a known transactionId)."""
    body = read_json(request)
    with state.lock:
        calendar = _calendar(box, calendar_id)
    event = state.add_event(box.email, body, calendar["id"])
    data = store.render(dict(event), _zone(request), store.expansion_ids(request.args.get("$expand")))
    data["@odata.context"] = CONTEXT + f"users('{box.email}')/events/$entity"
    response = Response(json.dumps(data), status=201, content_type="application/json")
    response.headers["Location"] = f"{request.host_url}v1.0/users/{box.user_id}/events/{event['id']}"
    return response


def event_item(state, request: Request, box, event_id: str, calendar_id: str | None = None):
    """GET / PATCH / DELETE one event, series master, occurrence or exception (If-Match honoured)."""
    zone = _zone(request)
    with state.lock:
        current = store.view(box, event_id)
        if calendar_id and current["calendar_id"] != calendar_id:
            raise item_not_found()
        if request.method == "GET":
            return store.render(current, zone, store.expansion_ids(request.args.get("$expand")))
        _check_if_match(request, current)
    if request.method == "DELETE":
        state.delete_event(box.email, event_id)
        return Response(status=204)
    updated = state.update_event(box.email, event_id, read_json(request))
    return store.render(updated, zone)


def instances(state, request: Request, box, event_id: str) -> dict:
    """GET /me/events/{id}/instances: a series' occurrences and exceptions in the window."""
    start, end = _window(request)
    zone = _zone(request)
    with state.lock:
        master = store.view(box, event_id)
        if master["type"] != "seriesMaster":
            raise invalid_request("The instances of a non-recurring event cannot be listed.")
        items = [store.render(i, zone) for i in store.instances(box, [master["calendar_id"]], start, end)
                 if i.get("seriesMasterId") == event_id]
    return page(request, items, CONTEXT + "Collection(event)", default=100)


# --- free/busy ------------------------------------------------------------------------------------

#: getSchedule answers for at most 62 days (Graph's calendar-getschedule reference)
MAX_SCHEDULE_SPAN = timedelta(days=62)
AVAILABILITY = {"free": "0", "tentative": "1", "busy": "2", "oof": "3", "workingElsewhere": "4", "unknown": "2"}
RANK = {"0": 0, "4": 1, "1": 2, "2": 3, "3": 4}


def get_schedule(state, request: Request, box) -> dict:
    """POST /me/calendar/getSchedule: free/busy of mailboxes (scheduleItems and availabilityView)."""
    body = action_body(request, "schedules", "startTime", "endTime", "availabilityViewInterval")
    try:
        for part in ("startTime", "endTime"):
            times.check_writable((body.get(part) or {}).get("timeZone"))
    except ValueError as exc:
        raise time_zone_not_supported(str(exc)) from exc
    try:
        start, end = times.parse(body["startTime"]), times.parse(body["endTime"])
    except (KeyError, ValueError, TypeError) as exc:
        raise invalid_request("startTime and endTime are required dateTimeTimeZone values.") from exc
    if end - start > MAX_SCHEDULE_SPAN:
        raise GraphError(400, "ErrorTimeIntervalTooBig",
                         f"The time interval is too big; the maximum is {MAX_SCHEDULE_SPAN.days} days.")
    interval = int(body.get("availabilityViewInterval") or 30)
    if not 5 <= interval <= 1440:
        raise invalid_request("availabilityViewInterval must be between 5 and 1440 minutes.")
    zone = _zone(request)
    result = []
    with state.lock:
        for address in body.get("schedules") or []:
            other = state.mailboxes.get(address.lower())
            if other is None or other.on_premises:
                result.append({"scheduleId": address, "availabilityView": "", "scheduleItems": [],
                               "error": {"message": "The specified recipient is not found.",
                                         "responseCode": "ErrorMailRecipientNotFound"}})
                continue
            items = store.instances(other, [other.default_calendar_id], start, end)
            result.append({
                "scheduleId": address,
                "availabilityView": _availability(items, start, end, interval),
                "scheduleItems": [{"isPrivate": i["sensitivity"] == "private", "status": i["showAs"],
                                   "subject": i["subject"], "location": i["location"],
                                   "start": times.render(i["start"], zone), "end": times.render(i["end"], zone)}
                                  for i in items],
                "workingHours": {"daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"],
                                 "startTime": "08:00:00.0000000", "endTime": "17:00:00.0000000",
                                 "timeZone": {"name": "UTC"}},
            })
    return {"@odata.context": CONTEXT + "Collection(microsoft.graph.scheduleInformation)", "value": result}


def _availability(items: list[dict], start, end, interval: int) -> str:
    view, slot = [], start
    step = timedelta(minutes=interval)
    while slot < end:
        codes = [AVAILABILITY[i["showAs"]] for i in items
                 if times.instant(i["start"]) < slot + step and times.instant(i["end"]) > slot]
        view.append(max(codes, key=RANK.get) if codes else "0")
        slot += step
    return "".join(view)


def rules() -> list[Rule]:
    """URL rules for the calendar endpoints (paths already lower-cased by the server)."""
    r = []
    for prefix in ("/v1.0/me/calendar", "/v1.0/me/calendars/<calendar_id>"):
        r += [
            Rule(prefix + "/calendarview/delta", endpoint=calendar_view_delta),
            Rule(prefix + "/calendarview", endpoint=calendar_view),
            Rule(prefix + "/events", endpoint=list_events, methods=["GET"]),
            Rule(prefix + "/events", endpoint=create_event, methods=["POST"]),
            Rule(prefix + "/events/<event_id>", endpoint=event_item, methods=["GET", "PATCH", "DELETE"]),
        ]
    r += [
        Rule("/v1.0/me/calendars", endpoint=list_calendars),
        Rule("/v1.0/me/calendar", endpoint=get_calendar),
        Rule("/v1.0/me/calendars/<calendar_id>", endpoint=get_calendar),
        Rule("/v1.0/me/calendarview/delta", endpoint=calendar_view_delta),
        Rule("/v1.0/me/calendarview", endpoint=calendar_view),
        Rule("/v1.0/me/events", endpoint=list_events, methods=["GET"]),
        Rule("/v1.0/me/events", endpoint=create_event, methods=["POST"]),
        Rule("/v1.0/me/events/<event_id>", endpoint=event_item, methods=["GET", "PATCH", "DELETE"]),
        Rule("/v1.0/me/events/<event_id>/instances", endpoint=instances),
        Rule("/v1.0/me/calendar/getschedule", endpoint=get_schedule, methods=["POST"]),
    ]
    return r
