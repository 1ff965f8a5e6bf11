"""The Calendar API v3 calls the plugin makes, one method each (URLs, parameters, nothing else).

Calendar and event ids go into paths percent-encoded (``#`` and ``@`` appear in calendar ids).
Every modifying call sends ``conferenceDataVersion=1`` so Meet data is kept and can be created.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Iterator
from urllib.parse import quote

from hub_google.client import GoogleClient


def _q(value: str) -> str:
    return quote(value, safe="")


class CalendarAPI:
    """Google Calendar for one account."""

    def __init__(self, client: GoogleClient):
        self.client = client
        self.base = client.endpoints.calendar

    def _events(self, calendar_id: str, suffix: str = "") -> str:
        return f"{self.base}/calendars/{_q(calendar_id)}/events{suffix}"

    def calendar_list(self) -> Iterator[dict[str, Any]]:
        """Every calendarList entry, following pages."""
        params: dict[str, Any] = {"maxResults": 250}
        while True:
            page = self.client.call("GET", f"{self.base}/users/me/calendarList", "Google Calendar", params=params)
            yield from page.get("items", [])
            if not page.get("nextPageToken"):
                return
            params["pageToken"] = page["nextPageToken"]

    def list_events(self, calendar_id: str, params: dict[str, Any]) -> dict[str, Any]:
        """One events.list page."""
        return self.client.call("GET", self._events(calendar_id), "Google Calendar", params=params)

    def get_event(self, calendar_id: str, event_id: str) -> dict[str, Any]:
        """events.get."""
        return self.client.call("GET", self._events(calendar_id, f"/{_q(event_id)}"), "Google Calendar")

    def insert_event(self, calendar_id: str, body: dict[str, Any], send_updates: str) -> dict[str, Any]:
        """events.insert (the body may carry a client-generated id)."""
        return self.client.call("POST", self._events(calendar_id), "Google Calendar", json=body,
                                params={"conferenceDataVersion": 1, "sendUpdates": send_updates})

    def patch_event(self, calendar_id: str, event_id: str, body: dict[str, Any], etag: str | None,
                    send_updates: str) -> dict[str, Any]:
        """events.patch, with ``If-Match`` when an etag is known."""
        return self.client.call("PATCH", self._events(calendar_id, f"/{_q(event_id)}"), "Google Calendar",
                                json=body, headers={"If-Match": etag} if etag else {},
                                params={"conferenceDataVersion": 1, "sendUpdates": send_updates})

    def delete_event(self, calendar_id: str, event_id: str, etag: str | None, send_updates: str) -> None:
        """events.delete, with ``If-Match`` when an etag is known."""
        self.client.call("DELETE", self._events(calendar_id, f"/{_q(event_id)}"), "Google Calendar",
                         headers={"If-Match": etag} if etag else {}, params={"sendUpdates": send_updates})

    def free_busy(self, calendar_ids: list[str], start: datetime, end: datetime) -> dict[str, Any]:
        """freebusy.query for ``calendar_ids`` between ``start`` and ``end``."""
        body = {"timeMin": start.isoformat(), "timeMax": end.isoformat(), "items": [{"id": i} for i in calendar_ids]}
        return self.client.call("POST", f"{self.base}/freeBusy", "Google Calendar", json=body)

    def watch(self, calendar_id: str, channel_id: str, address: str, token: str) -> dict[str, Any]:
        """events.watch: a web_hook channel with our id and secret token."""
        body = {"id": channel_id, "type": "web_hook", "address": address, "token": token}
        return self.client.call("POST", self._events(calendar_id, "/watch"), "Google Calendar", json=body)

    def stop(self, channel_id: str, resource_id: str | None) -> None:
        """channels.stop."""
        self.client.call("POST", f"{self.base}/channels/stop", "Google Calendar",
                         json={"id": channel_id, "resourceId": resource_id})
