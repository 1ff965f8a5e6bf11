"""One calendar of the sandbox: its events, their change versions, sync tokens and free/busy.

Every change bumps the calendar's version and stamps the event with it; a sync token remembers the
version it was issued at, so an incremental list returns exactly the events stamped later
(deletions included). ``expire_sync_tokens`` moves the calendar to a new epoch: every older token
then answers 410 ``fullSyncRequired``, as Google does when a token expired.
"""

from __future__ import annotations

import copy
import secrets
from datetime import datetime, timezone
from typing import Callable

from hub_google.sandbox import events as ev
from hub_google.sandbox.errors import GoogleError, not_found
from hub_google.sandbox.recurrence import (
    HORIZON,
    as_instant,
    edt_for,
    edt_value,
    expand,
    instance_id,
    overlaps,
    rfc3339,
)


class CalendarStore:
    """A calendar (shared by every user who has it in their calendar list)."""

    def __init__(self, calendar_id: str, summary: str, time_zone: str = "UTC", description: str = "",
                 owner_email: str = "", owner_name: str = ""):
        self.id = calendar_id
        self.summary = summary
        self.time_zone = time_zone
        self.description = description
        self.owner_email = owner_email or calendar_id
        self.owner_name = owner_name
        self.etag = ev.new_etag()
        self.events: dict[str, dict] = {}  # id → full resource, deleted ones included
        self.versions: dict[str, int] = {}
        self.version = 0
        self.epoch = 0
        self.sync_tokens: dict[str, tuple[int, int]] = {}  # token → (version, epoch)
        #: called with this store after every change (push notifications)
        self.on_change: Callable[["CalendarStore"], None] = lambda store: None
        #: Meet requests stay "pending" on the first answer (to exercise clients that re-read)
        self.meet_pending = False

    # --- writes ----------------------------------------------------------------------------------

    def _touch(self, resource: dict, notify: bool = True) -> dict:
        self.version += 1
        resource["etag"] = ev.new_etag()
        resource["updated"] = ev.now()
        self.versions[resource["id"]] = self.version
        self.events[resource["id"]] = resource
        self.etag = ev.new_etag()
        if notify:
            self.on_change(self)
        return resource

    def insert(self, body: dict, event_id: str | None = None, conference: bool = False) -> dict:
        """events.insert: 409 ``duplicate`` when the client-supplied id is taken (even by a deleted event)."""
        ev.check_fields(body)
        if event_id is not None:
            if not ev.EVENT_ID.match(event_id):
                raise GoogleError(400, "invalid", "Invalid resource id value.")
            if event_id in self.events or self._occurrence_of(event_id):
                raise GoogleError(409, "duplicate", "The requested identifier already exists.")
        resource = ev.build(body, event_id=event_id or ev.new_event_id(), calendar_id=self.id,
                            owner_email=self.owner_email, owner_name=self.owner_name)
        ev.validate(resource, self.time_zone)
        if conference:
            ev.add_conference(resource, body, self.meet_pending)
        return self._touch(resource)

    def patch(self, event_id: str, body: dict, if_match: str | None = None, replace: bool = False,
              conference: bool = False) -> dict:
        """events.patch (``replace=False``) and events.update (``replace=True``)."""
        ev.check_fields(body)
        current = self.events.get(event_id) or self._materialise(event_id)
        if current is None:
            raise not_found()
        ev.check_etag(current, if_match)
        if current["status"] == "cancelled" and body.get("status", "cancelled") == "cancelled":
            raise GoogleError(410, "deleted", "Resource has been deleted")
        if replace:  # PUT: writable fields come from the body alone; identity and read-only ones stay
            keep = ("iCalUID", "recurringEventId", "originalStartTime", "conferenceData", "hangoutLink")
            updated = {k: v for k, v in current.items() if k not in ev.WRITABLE or k in keep}
            updated.update({k: copy.deepcopy(v) for k, v in body.items() if k in ev.WRITABLE and v is not None})
            updated.setdefault("status", "confirmed")
            updated.setdefault("reminders", {"useDefault": True})
            updated.setdefault("eventType", "default")
        else:
            updated = ev.merge(current, body)
        ev.normalise_attendees(updated, self.id)
        ev.validate(updated, self.time_zone)
        if any(updated.get(k) != current.get(k) for k in ("start", "end", "recurrence", "location")):
            updated["sequence"] = current.get("sequence", 0) + 1
        if conference:
            ev.add_conference(updated, body, self.meet_pending)
        return self._touch(updated)

    def delete(self, event_id: str, if_match: str | None = None) -> dict:
        """events.delete: 410 ``deleted`` for an event that is already gone, 404 for one never seen."""
        current = self.events.get(event_id) or self._materialise(event_id)
        if current is None:
            raise not_found()
        ev.check_etag(current, if_match)
        if current["status"] == "cancelled":
            raise GoogleError(410, "deleted", "Resource has been deleted")
        current = copy.deepcopy(current)
        current["status"] = "cancelled"
        if current.get("recurrence"):  # a deleted series takes its exceptions with it
            for other in list(self.events.values()):
                if other.get("recurringEventId") == event_id and other["status"] != "cancelled":
                    self._touch(dict(other, status="cancelled"), notify=False)
        return self._touch(current)

    def get(self, event_id: str) -> dict:
        """events.get's answer (a pending Meet request completes on read)."""
        resource = self.events.get(event_id)
        if resource is None:
            occurrence = self._occurrence_of(event_id)
            if occurrence is None:
                raise not_found()
            return occurrence
        if resource.get("conferenceData", {}).get("createRequest", {}).get("status", {}).get("statusCode") == "pending":
            ev.complete_conference(resource["conferenceData"])  # Meet is ready by the time anyone re-reads
            resource["hangoutLink"] = resource["conferenceData"]["entryPoints"][0]["uri"]
        return ev.render(resource, self._master_live(resource))

    # --- occurrences of recurring series ------------------------------------------------------------

    def _master_live(self, resource: dict) -> bool:
        master = self.events.get(resource.get("recurringEventId") or "")
        return master is not None and master["status"] != "cancelled"

    def _occurrence_of(self, event_id: str) -> dict | None:
        """The unmodified occurrence ``{masterId}_{time}`` of a live series, or None."""
        master_id, sep, _ = event_id.rpartition("_")
        master = self.events.get(master_id) if sep else None
        if master is None or master["status"] == "cancelled" or not master.get("recurrence"):
            return None
        start = as_instant(edt_value(master["start"], self.time_zone), self.time_zone)
        for occ in expand(master, self.time_zone, start + HORIZON):
            if instance_id(master_id, occ.original_start) == event_id:
                return self._instance(master, occ)
        return None

    def _materialise(self, event_id: str) -> dict | None:
        """Turn an occurrence into a stored exception, so it can be patched or cancelled."""
        occurrence = self._occurrence_of(event_id)
        if occurrence is not None:
            occurrence["created"] = ev.now()
        return occurrence

    def _instance(self, master: dict, occ) -> dict:
        tz_name = master["start"].get("timeZone")
        out = copy.deepcopy(master)
        out.pop("recurrence", None)
        out.update(id=instance_id(master["id"], occ.original_start), recurringEventId=master["id"],
                   originalStartTime=edt_for(occ.original_start, tz_name),
                   start=edt_for(occ.start, tz_name), end=edt_for(occ.end, master["end"].get("timeZone")))
        return out

    def _exceptions(self, master_id: str) -> dict[str, dict]:
        return {e["id"]: e for e in self.events.values() if e.get("recurringEventId") == master_id}

    def instances(self, master: dict, lo: datetime | None, hi: datetime | None, show_deleted: bool) -> list[dict]:
        """singleEvents expansion of one series: occurrences with their exceptions applied."""
        exceptions = self._exceptions(master["id"])
        start = as_instant(edt_value(master["start"], self.time_zone), self.time_zone)
        until = hi or max(start, datetime.now(timezone.utc)) + HORIZON
        out = []
        for occ in expand(master, self.time_zone, until):
            item = exceptions.get(instance_id(master["id"], occ.original_start)) or self._instance(master, occ)
            if item["status"] == "cancelled":
                if show_deleted:
                    out.append(ev.render(item, True))
                continue
            if self._in_window(item, lo, hi):
                out.append(copy.deepcopy(item))
        return out

    # --- reads -----------------------------------------------------------------------------------

    def _bounds(self, resource: dict) -> tuple[datetime, datetime]:
        start = as_instant(edt_value(resource["start"], self.time_zone), self.time_zone)
        end = as_instant(edt_value(resource["end"], self.time_zone), self.time_zone)
        return start, end

    def _in_window(self, resource: dict, lo: datetime | None, hi: datetime | None) -> bool:
        if "start" not in resource:
            return False
        if resource.get("recurrence"):
            return any(self._in_window(self._instance(resource, occ), lo, hi)
                       for occ in expand(resource, self.time_zone,
                                         hi or datetime.now(timezone.utc) + HORIZON))
        return overlaps(*self._bounds(resource), lo, hi)

    def list_full(self, lo: datetime | None, hi: datetime | None, single_events: bool, show_deleted: bool,
                  updated_min: datetime | None = None) -> list[dict]:
        """The items of a full (non-incremental) events.list."""
        out = []
        for resource in self.events.values():
            if updated_min and datetime.fromisoformat(resource["updated"]) < updated_min:
                continue
            cancelled = resource["status"] == "cancelled"
            if resource.get("recurringEventId"):
                if single_events or not self._master_live(resource):
                    continue  # expanded with the master / gone with it
                # cancelled occurrences of live series come back unless singleEvents (see showDeleted docs)
                if cancelled or self._in_window(resource, lo, hi):
                    out.append(ev.render(resource, True))
            elif cancelled:
                if show_deleted or updated_min:
                    out.append(ev.render(resource))
            elif resource.get("recurrence") and single_events:
                out.extend(self.instances(resource, lo, hi, show_deleted))
            elif self._in_window(resource, lo, hi):
                out.append(copy.deepcopy(resource))
        return out

    def list_changes(self, since: int, single_events: bool) -> list[dict]:
        """The items of an incremental events.list: everything stamped after ``since``."""
        changed = sorted((v, i) for i, v in self.versions.items() if v > since)
        out = []
        for _, event_id in changed:
            resource = self.events[event_id]
            if single_events and resource.get("recurrence") and resource["status"] != "cancelled":
                out.extend(self.instances(resource, None, None, show_deleted=True))
            else:
                out.append(ev.render(resource, self._master_live(resource)))
        return out

    # --- sync tokens -----------------------------------------------------------------------------

    def issue_sync_token(self, version: int) -> str:
        """A new sync token for changes after ``version``."""
        token = "C" + secrets.token_urlsafe(24)
        self.sync_tokens[token] = (version, self.epoch)
        return token

    def sync_version(self, token: str) -> int:
        """The version a sync token was issued at; 410 ``fullSyncRequired`` when it expired."""
        version, epoch = self.sync_tokens.get(token, (None, None))
        if version is None:
            raise GoogleError(400, "invalid", "Invalid sync token value.", location="syncToken")
        if epoch != self.epoch:
            raise GoogleError(410, "fullSyncRequired", "Sync token is no longer valid, a full sync is required.")
        return version

    def expire_sync_tokens(self) -> None:
        """Make every sync token issued so far answer 410."""
        self.epoch += 1

    # --- free/busy ---------------------------------------------------------------------------------

    def busy(self, lo: datetime, hi: datetime, self_email: str) -> list[tuple[datetime, datetime]]:
        """Merged busy periods in [lo, hi): opaque, not cancelled, not declined by the owner."""
        periods = []
        for resource in self.events.values():
            if resource["status"] == "cancelled" or resource.get("recurringEventId"):
                continue
            items = self.instances(resource, lo, hi, False) if resource.get("recurrence") else [resource]
            for item in items:
                if item.get("transparency") == "transparent" or _declined(item, self_email):
                    continue
                start, end = self._bounds(item)
                if overlaps(start, end, lo, hi):
                    periods.append((max(start, lo), min(end, hi)))
        for resource in self.events.values():  # exceptions of series that started before lo
            if resource.get("recurringEventId") and resource["status"] != "cancelled" \
                    and self._master_live(resource) and resource.get("transparency") != "transparent":
                start, end = self._bounds(resource)
                if overlaps(start, end, lo, hi):
                    periods.append((max(start, lo), min(end, hi)))
        merged: list[tuple[datetime, datetime]] = []
        for start, end in sorted(periods):
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], end))
            else:
                merged.append((start, end))
        return merged


def _declined(resource: dict, email: str) -> bool:
    return any(a.get("email", "").lower() == email.lower() and a.get("responseStatus") == "declined"
               for a in resource.get("attendees", []))


def busy_json(periods: list[tuple[datetime, datetime]]) -> list[dict]:
    """Busy periods as Google's TimePeriod objects."""
    return [{"start": rfc3339(s), "end": rfc3339(e)} for s, e in periods]

