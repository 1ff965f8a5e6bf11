"""Push channels (``events.watch`` / ``channels.stop``) and the thread that delivers notifications.

A notification is a POST with an empty body and the ``X-Goog-*`` headers to the channel's address:
``sync`` right after the channel is made, then ``exists`` whenever the watched calendar changes.
Deliveries run in one background thread (so an API answer never waits on the hub's webhook), and
every attempt is recorded for tests.
"""

from __future__ import annotations

import hashlib
import queue
import threading
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from urllib.parse import urlsplit

import requests

from hub.ssrf_guard import is_loopback_url

#: Google's default lifetime of a Calendar channel when the client asks for none
DEFAULT_TTL = 7 * 24 * 3600
#: the longest lifetime the sandbox grants (longer requests are cut down, as Google does)
MAX_TTL = 30 * 24 * 3600


@dataclass
class Channel:
    """One push channel on a calendar's events."""
    id: str
    resource_id: str
    resource_uri: str
    address: str
    token: str | None
    expiration: int  # ms since the epoch
    calendar_id: str
    owner: str
    messages: int = 0
    stopped: bool = False

    @property
    def expired(self) -> bool:
        """Whether the channel's expiration has passed."""
        return self.expiration <= time.time() * 1000

    def as_json(self) -> dict:
        """The Channel resource Google answers events.watch with."""
        body = {"kind": "api#channel", "id": self.id, "resourceId": self.resource_id,
                "resourceUri": self.resource_uri, "expiration": str(self.expiration)}
        if self.token is not None:
            body["token"] = self.token
        return body


@dataclass
class Delivery:
    """One notification attempt, for tests to inspect."""

    channel_id: str
    state: str
    headers: dict[str, str]
    status: int | None = None
    error: str | None = None


def address_allowed(address: str, loopback_http: bool) -> bool:
    """Whether Google takes ``address`` for a channel: https only; http to loopback when the sandbox's
    documented exception (``SandboxState.loopback_http_push``) is on."""
    scheme = urlsplit(address).scheme
    return scheme == "https" or (loopback_http and scheme == "http" and is_loopback_url(address))


def resource_id(calendar_id: str, owner: str) -> str:
    """Google's opaque id of the watched resource: the same for every channel on it."""
    return hashlib.sha256(f"{owner}/{calendar_id}/events".encode()).hexdigest()[:27]


class Notifier:
    """Delivers notifications in a background thread."""

    def __init__(self, timeout: float = 5.0):
        self.timeout = timeout
        self.deliveries: list[Delivery] = []
        self._queue: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self._session = requests.Session()
        self._idle = threading.Condition()
        self._pending = 0

    def start(self) -> None:
        """Start the delivery thread."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="google-sandbox-push", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Deliver what is queued, then stop the thread."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=self.timeout + 1)
            self._thread = None
        self._session.close()

    def notify(self, channel: Channel, state: str) -> None:
        """Queue a notification of ``state`` (``sync``, ``exists``, ``not_exists``) on ``channel``."""
        if channel.stopped or channel.expired:
            return
        channel.messages += 1
        headers = {
            "X-Goog-Channel-ID": channel.id,
            "X-Goog-Channel-Expiration": formatdate(channel.expiration / 1000, usegmt=True),
            "X-Goog-Resource-ID": channel.resource_id,
            "X-Goog-Resource-URI": channel.resource_uri,
            "X-Goog-Resource-State": state,
            "X-Goog-Message-Number": str(channel.messages),
        }
        if channel.token is not None:
            headers["X-Goog-Channel-Token"] = channel.token
        with self._idle:
            self._pending += 1
        self._queue.put((channel, Delivery(channel.id, state, headers)))

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until every queued notification was attempted; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout=timeout)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            channel, delivery = item
            try:
                response = self._session.post(channel.address, data=b"", headers=delivery.headers,
                                              timeout=self.timeout)
                delivery.status = response.status_code
            except requests.RequestException as exc:
                delivery.error = type(exc).__name__
            self.deliveries.append(delivery)
            with self._idle:
                self._pending -= 1
                self._idle.notify_all()


@dataclass
class ChannelRegistry:
    """Live channels by id."""

    channels: dict[str, Channel] = field(default_factory=dict)

    def on_calendar(self, calendar_id: str) -> list[Channel]:
        """Live channels watching ``calendar_id``."""
        return [c for c in self.channels.values()
                if c.calendar_id == calendar_id and not c.stopped and not c.expired]
