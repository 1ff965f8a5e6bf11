"""Test tooling for the calendar-feed provider, registered for every test suite through ``pytest11``.

* ``feed_server`` — a feed on a free loopback port (``.url``), served with an ETag and answering 304
  to a matching ``If-None-Match``; ``.require(user, password)`` turns on basic auth,
  ``.answer_next(status)`` makes the next request fail, ``.requests`` records (status, If-None-Match);
* :class:`FeedRemote` — the conformance suite's ``Remote``: events added, edited and removed "by the
  calendar that publishes the feed", written with the ``icalendar`` library by
  :func:`hub_caldav.testing.event_ics`, never by the plugin under test.
"""

from __future__ import annotations

import hashlib
import secrets
import threading

import icalendar
import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from hub.testing.conformance import Remote
from hub.types import RemoteEvent

from hub_caldav.testing import event_ics


class FeedServer:
    """One published calendar, served as a feed."""

    def __init__(self, name: str = "Team holidays"):
        self.name = name
        self.objects: dict[str, str] = {}  # UID -> VCALENDAR text of one UID
        self.login: tuple[str, str] | None = None
        self.failures: list[int] = []
        self.requests: list[tuple[int, str | None]] = []
        self.lock = threading.Lock()
        self.server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}/calendar.ics"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def body(self) -> bytes:
        """The whole feed: every UID's components in one VCALENDAR."""
        feed = icalendar.Calendar()
        feed.add("PRODID", "-//hub tests//publisher//EN")
        feed.add("VERSION", "2.0")
        feed.add("X-WR-CALNAME", self.name)
        seen_zones: set[str] = set()
        for text in self.objects.values():
            for component in icalendar.Calendar.from_ical(text).subcomponents:
                if component.name == "VTIMEZONE":
                    if str(component["TZID"]) in seen_zones:
                        continue
                    seen_zones.add(str(component["TZID"]))
                feed.add_component(component)
        return feed.to_ical()

    def require(self, user: str, password: str) -> None:
        self.login = (user, password)

    def answer_next(self, status: int) -> None:
        self.failures.append(status)

    def _app(self, environ, start_response):
        request = Request(environ)
        with self.lock:
            if self.failures:
                status = self.failures.pop(0)
                self.requests.append((status, request.headers.get("If-None-Match")))
                return Response(f"error {status}", status=status)(environ, start_response)
            if self.login and request.authorization is None or self.login and (
                    request.authorization.username, request.authorization.password) != self.login:
                self.requests.append((401, request.headers.get("If-None-Match")))
                return Response("login", status=401,
                                headers={"WWW-Authenticate": 'Basic realm="feed"'})(environ, start_response)
            body = self.body()
        etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
        if request.headers.get("If-None-Match") == etag:
            self.requests.append((304, request.headers.get("If-None-Match")))
            return Response(status=304, headers={"ETag": etag})(environ, start_response)
        self.requests.append((200, request.headers.get("If-None-Match")))
        return Response(body, content_type="text/calendar; charset=utf-8",
                        headers={"ETag": etag})(environ, start_response)

    def __enter__(self) -> "FeedServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()


@pytest.fixture
def feed_server():
    """A published calendar feed on a free 127.0.0.1 port; stopped afterwards."""
    with FeedServer() as server:
        yield server


class FeedRemote(Remote):
    """Edits made by whatever publishes the feed."""

    def __init__(self, server: FeedServer):
        self.server = server

    def create_event(self, calendar_id: str, event: RemoteEvent) -> str:
        uid = event.remote_id or f"{secrets.token_hex(8)}@publisher.test"
        with self.server.lock:
            self.server.objects[uid] = event_ics(event, uid)
        return uid

    def update_event(self, calendar_id: str, event: RemoteEvent) -> None:
        with self.server.lock:
            self.server.objects[event.remote_id] = event_ics(event, event.remote_id)

    def delete_event(self, calendar_id: str, remote_id: str) -> None:
        with self.server.lock:
            del self.server.objects[remote_id]
