"""Writing the hub's changes to a CalDAV calendar with preconditions (``hub_push_events``).

* create: ``PUT <calendar>/<name from client_id>.ics`` with ``If-None-Match: *``. The resource
  name comes from the change's client id, so a create that is retried after a crash hits the same
  resource: a 412 whose resource carries our marker is the earlier success, returned again; any
  other 412 is :class:`AlreadyExists`.
* update: ``GET`` the resource, check its etag against the one the hub last saw, merge the hub's
  fields into the server's VEVENT (alarms and other apps' properties survive; so do the
  overrides of a series that stays recurring) and ``PUT`` with ``If-Match``.
* delete: ``DELETE`` with ``If-Match``; an event already gone counts as deleted.
* one occurrence of a series (remote id ``<href>#<key>``, or a create with ``recurring_event_id``):
  the series resource is rewritten with the override added or replaced; cancelling or deleting
  an occurrence adds an EXDATE.

A 412 anywhere is :class:`WrongEtag` for the engine to resolve. Every VEVENT written carries the
marker (:data:`hub_caldav.ical.MARKER`) and the calendar text is checked to round-trip through
``icalendar`` before it is sent.

Public API: :func:`push_events`, :func:`resource_name`.
"""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import date, datetime, timezone

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
from hub.types import EventChange, PushResult

from hub_caldav.compose import calendar_for, serialize, vevent_for
from hub_caldav.connection import CalDAVConnection
from hub_caldav.ical import (
    MARKER,
    CalendarObject,
    MalformedObject,
    exception_id,
    occurrence_key,
    parse_key,
    split_id,
)

log = logging.getLogger(__name__)

#: errors that concern the connection, not one change: the batch stops there
_BATCH_ERRORS = (AuthExpired, RateLimited, ProviderUnavailable)
_SAFE_NAME = re.compile(r"[A-Za-z0-9_.-]{1,120}")


def resource_name(client_id: str) -> str:
    """The resource file name for a client id: the id itself when URL-safe, else its hash."""
    if _SAFE_NAME.fullmatch(client_id) and not client_id.startswith("."):
        return f"{client_id}.ics"
    return hashlib.sha256(client_id.encode()).hexdigest()[:40] + ".ics"


def push_events(connection: CalDAVConnection, calendar_href: str, changes: list[EventChange]) -> list[PushResult]:
    """Apply ``changes`` in order; one result per change.

    A failure of one change is returned in its result. A connection-level failure (expired
    password, rate limit, server down) is raised when nothing was written yet, so the job retries
    the batch; after a success it is returned for the remaining changes instead, so the successes
    still count.
    """
    writer = _Writer(connection, calendar_href if calendar_href.endswith("/") else calendar_href + "/")
    results: list[PushResult] = []
    for change in changes:
        try:
            results.append(writer.apply(change))
        except _BATCH_ERRORS as exc:
            if not any(r.error is None for r in results):
                raise
            results.append(PushResult(change.client_id, error=exc))
        except HubError as exc:
            log.info("push of %s failed: %s", change.client_id, exc)
            results.append(PushResult(change.client_id, error=exc))
        except ValueError as exc:  # icalendar could not build this event (e.g. a line break in an address)
            log.info("push of %s failed: the event could not be written as iCalendar", change.client_id)
            results.append(PushResult(change.client_id, error=ValidationError(
                "This meeting could not be written as an iCalendar event.",
                fix=f"Correct the meeting's details ({type(exc).__name__}: {str(exc)[:200]}).")))
    return results


def _same_etag(a: str | None, b: str | None) -> bool:
    def norm(value: str | None) -> str:
        return (value or "").removeprefix("W/").strip('"')
    return norm(a) == norm(b)


class _Writer:
    def __init__(self, connection: CalDAVConnection, calendar_href: str):
        self.connection = connection
        self.calendar_href = calendar_href

    def apply(self, change: EventChange) -> PushResult:
        if change.op == "create":
            event = self._event(change)
            if event.recurring_event_id:
                return self._occurrence(change, split_id(event.recurring_event_id)[0], event.original_start)
            return self._create(change)
        if not change.remote_id:
            raise ValidationError(f"A {change.op} needs the event's remote id.")
        href, key = split_id(change.remote_id)
        if change.op == "update":
            self._event(change)
            if key:
                return self._occurrence(change, href, None, key)
            return self._update(change, href)
        if change.op == "delete":
            if key:
                return self._occurrence(change, href, None, key, cancel=True)
            return self._delete(change, href)
        raise ValidationError(f"Unknown change {change.op!r}.")

    @staticmethod
    def _event(change: EventChange):
        if change.event is None:
            raise ValidationError(f"A {change.op} needs the event.")
        return change.event

    # --- whole resources ---------------------------------------------------------------------------

    def _create(self, change: EventChange) -> PushResult:
        event = change.event
        href = self.calendar_href + resource_name(change.client_id)
        uid = event.ical_uid or change.client_id
        data = serialize(calendar_for([vevent_for(event, uid, change.client_id, send_invites=change.send_invites)]))
        try:
            etag = self._put(href, data, {"If-None-Match": "*"})
        except WrongEtag:
            existing = self._get(href)
            obj = self._parse(existing[0], href, existing[1])
            if obj is None or obj.master is None or str(obj.master.get(MARKER, "")) != change.client_id:
                raise AlreadyExists("An event already exists where the hub wanted to create this one.") from None
            return PushResult(change.client_id, remote_id=href, etag=existing[1], ical_uid=obj.uid)
        return PushResult(change.client_id, remote_id=href, etag=etag, ical_uid=uid)

    def _update(self, change: EventChange, href: str) -> PushResult:
        data, etag = self._get(href)
        self._check_etag(change, etag)
        obj = self._parse(data, href, etag)
        base = obj.master if obj else None
        uid = obj.uid if obj else (change.event.ical_uid or change.client_id)
        vevents = [vevent_for(change.event, uid, change.client_id, base=base, send_invites=change.send_invites)]
        if obj and change.event.recurrence:  # the series stays: keep its overrides
            vevents.extend(obj.overrides.values())
        new_etag = self._put(href, serialize(calendar_for(vevents)), {"If-Match": etag})
        return PushResult(change.client_id, remote_id=href, etag=new_etag, ical_uid=uid)

    def _delete(self, change: EventChange, href: str) -> PushResult:
        headers = {"If-Match": change.etag} if change.etag else {}
        try:
            self.connection.request("DELETE", href, headers=headers, ok=(200, 204))
        except NotFound:
            pass  # already gone: the delete is done
        return PushResult(change.client_id, remote_id=href)

    # --- one occurrence of a series ----------------------------------------------------------------

    def _occurrence(self, change: EventChange, href: str, original: date | datetime | None,
                    key: str | None = None, cancel: bool = False) -> PushResult:
        data, etag = self._get(href)
        self._check_etag(change, etag)
        obj = self._parse(data, href, etag)
        if obj is None or obj.master is None:
            raise NotFound("The recurring event this occurrence belongs to is gone or unreadable.")
        recurrence_id, key = self._recurrence_id(obj, original, key)
        overrides = dict(obj.overrides)
        base = overrides.pop(key, None)
        cancel = cancel or (change.event is not None and change.event.status == "cancelled")
        if cancel:
            if key not in obj.exception_keys() - set(obj.overrides):  # a retried cancel adds no second EXDATE
                obj.master.add("EXDATE", recurrence_id)
        else:
            overrides[key] = vevent_for(change.event, obj.uid, change.client_id, base=base,
                                        send_invites=change.send_invites, recurrence_id=recurrence_id)
        new_etag = self._put(href, serialize(calendar_for([obj.master, *overrides.values()])), {"If-Match": etag})
        return PushResult(change.client_id, remote_id=exception_id(href, key), etag=new_etag, ical_uid=obj.uid)

    @staticmethod
    def _recurrence_id(obj: CalendarObject, original: date | datetime | None,
                       key: str | None) -> tuple[date | datetime, str]:
        """The RECURRENCE-ID value in the form of the master's DTSTART, and its occurrence key."""
        start = obj.master.decoded("DTSTART")
        if original is None:
            original = parse_key(key)
        if not isinstance(start, datetime):
            value = original.date() if isinstance(original, datetime) else original
            return value, occurrence_key(value)
        if not isinstance(original, datetime):
            raise ValidationError("The occurrence's original start needs a time, like its series.")
        if start.tzinfo is None and obj.default_zone is None:  # floating, and the calendar names no zone:
            local = original.astimezone(timezone.utc).replace(tzinfo=None) if original.tzinfo else original
            return local, occurrence_key(local)  # the hub kept these times naive, as read
        if original.tzinfo is None:
            original = original.replace(tzinfo=obj.default_zone or start.tzinfo)
        if start.tzinfo is None:  # a floating series names its occurrences in floating time
            return original.astimezone(obj.default_zone).replace(tzinfo=None), occurrence_key(original)
        return original.astimezone(start.tzinfo), occurrence_key(original)

    # --- HTTP --------------------------------------------------------------------------------------

    def _check_etag(self, change: EventChange, etag: str) -> None:
        if change.etag and not _same_etag(change.etag, etag):
            raise WrongEtag("The event changed on the server since the hub last read it.")

    def _get(self, href: str) -> tuple[str, str]:
        response = self.connection.request("GET", href, ok=(200,))
        return response.raw, response.headers.get("ETag", "")

    def _put(self, href: str, data: bytes, headers: dict[str, str]) -> str:
        headers = {"Content-Type": "text/calendar; charset=utf-8", **headers}
        response = self.connection.request("PUT", href, data, headers, ok=(200, 201, 204))
        etag = response.headers.get("ETag")
        if not etag:  # some servers leave the etag out when they altered the data: ask for it
            results = self.connection.propfind(href, ["{DAV:}getetag"])
            etag = str(results[0].properties.get("{DAV:}getetag") or "") if results else ""
        return etag

    @staticmethod
    def _parse(data: str, href: str, etag: str) -> CalendarObject | None:
        try:
            return CalendarObject.parse(data, href, etag)
        except MalformedObject as exc:
            log.warning("the calendar object %s is unreadable (%s); the hub's version replaces it", href, exc)
            return None

