"""Graph change notifications: ``/subscriptions`` (create with the validation handshake, renew, delete)
and the :class:`Notifier` that POSTs change and lifecycle notifications to subscribers.

Creating a subscription works like Graph: before answering 201 the sandbox POSTs
``notificationUrl?validationToken=…`` (and the lifecycle URL, when given) and requires a 200
``text/plain`` answer whose body is exactly the token, within 10 seconds.
"""

from __future__ import annotations

import json
import queue
import re
import secrets
import threading
import time
import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import requests
from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from hub.ssrf_guard import is_loopback_url

from hub_office365.sandbox import times
from hub_office365.sandbox.errors import GraphError
from hub_office365.sandbox.ids import now
from hub_office365.sandbox.odata import CONTEXT, read_json

CHANGE_TYPES = {"created", "updated", "deleted"}
LIFECYCLE_EVENTS = {"reauthorizationRequired", "subscriptionRemoved", "missed"}
VALIDATION_TIMEOUT = 10
#: the TLS versions a subscription may say its endpoint supports (subscription resource, latestSupportedTlsVersion)
TLS_VERSIONS = {"v1_0", "v1_1", "v1_2", "v1_3"}


def _address_allowed(address: str, loopback_http: bool) -> bool:
    """https only; http to a loopback address when the sandbox's documented exception is on."""
    scheme = urlsplit(address).scheme
    return scheme == "https" or (loopback_http and scheme == "http" and is_loopback_url(address))


def parse_resource(box, resource: str) -> tuple[str, str | None]:
    """(kind, container id) for a subscribable resource, e.g. ``me/calendars/{id}/events``."""
    path = re.sub(r"\('([^']*)'\)", r"/\1", resource.strip().strip("/"))
    parts = path.split("/")
    if len(parts) > 1 and parts[0].lower() == "users" and parts[1].lower() in {box.user_id, box.email}:
        parts = parts[2:]
    elif parts[:1] and parts[0].lower() == "me":
        parts = parts[1:]
    lowered = [p.lower() for p in parts]
    if lowered == ["events"]:
        return "event", None
    if len(parts) == 3 and lowered[0] == "calendars" and lowered[2] == "events" and parts[1] in box.calendars:
        return "event", parts[1]
    if lowered == ["messages"]:
        return "message", None
    if len(parts) == 3 and lowered[0] == "mailfolders" and lowered[2] == "messages" and box.folder_id(parts[1]):
        return "message", box.folder_id(parts[1])
    raise GraphError(400, "InvalidRequest", f"Resource '{resource}' is not supported for change notifications.")


def _expiry(state, value: str | None) -> datetime:
    try:
        expires = times.parse_query(value or "")
    except ValueError as exc:
        raise GraphError(400, "InvalidRequest", "expirationDateTime is required and must be a date-time.") from exc
    limit = state.knobs.max_subscription_minutes
    if expires <= now():
        raise GraphError(400, "InvalidRequest", "Subscription expiration must be in the future.")
    if expires > now() + timedelta(minutes=limit):
        raise GraphError(400, "InvalidRequest", f"Subscription expiration can only be {limit} minutes in the future.")
    return expires


def _handshake(url: str) -> None:
    """POST ``url?validationToken=…`` and insist on Graph's exact echo."""
    token = f"Validation: Testing client application reachability for subscription Request-Id: {uuid.uuid4()}"
    try:
        answer = requests.post(url, params={"validationToken": token}, data=b"",
                               headers={"Content-Type": "text/plain; charset=utf-8"}, timeout=VALIDATION_TIMEOUT)
    except requests.RequestException as exc:
        raise GraphError(400, "ValidationError", f"Subscription validation request failed. Notification endpoint "
                                                  f"must respond with 200 OK to validation request. ({exc})") from exc
    if answer.status_code != 200:
        raise GraphError(400, "ValidationError", "Subscription validation request failed. Notification endpoint "
                                                 "must respond with 200 OK to validation request "
                                                 f"(got {answer.status_code}).")
    if not answer.headers.get("Content-Type", "").startswith("text/plain") or answer.text != token:
        raise GraphError(400, "ValidationError", "Subscription validation request failed. Response must exactly "
                                                 "match validationToken query parameter.")


def _render(sub: dict) -> dict:
    data = {k: v for k, v in sub.items() if not k.startswith("_")}
    data["expirationDateTime"] = times.stamp(sub["expirationDateTime"])
    data["@odata.context"] = CONTEXT + "subscriptions/$entity"
    return data


def create(state, request: Request, box) -> Response:
    """POST /subscriptions → validation handshake(s), then 201 with the subscription."""
    body = read_json(request)
    change_types = {c.strip() for c in (body.get("changeType") or "").split(",") if c.strip()}
    if not change_types or change_types - CHANGE_TYPES:
        raise GraphError(400, "InvalidRequest", "changeType must be a comma list of created, updated, deleted.")
    url, lifecycle_url = body.get("notificationUrl"), body.get("lifecycleNotificationUrl")
    if not url:
        raise GraphError(400, "InvalidRequest", "notificationUrl is required.")
    for value in filter(None, (url, lifecycle_url)):
        if not _address_allowed(value, state.knobs.loopback_http_push):
            raise GraphError(400, "InvalidRequest", "The notification URL must use https.")
    tls = body.get("latestSupportedTlsVersion", "v1_2")
    if tls not in TLS_VERSIONS:
        raise GraphError(400, "InvalidRequest", f"Invalid latestSupportedTlsVersion '{tls}'; expected one of "
                                                f"{', '.join(sorted(TLS_VERSIONS))}.")
    if len(body.get("clientState") or "") > 128:
        raise GraphError(400, "InvalidRequest", "clientState must be at most 128 characters.")
    with state.lock:
        kind, container = parse_resource(box, body.get("resource") or "")
        expires = _expiry(state, body.get("expirationDateTime"))
    _handshake(url)
    if lifecycle_url and lifecycle_url != url:
        _handshake(lifecycle_url)
    sub = {
        "id": str(uuid.uuid4()), "resource": body["resource"], "applicationId": str(uuid.uuid4()),
        "changeType": ",".join(sorted(change_types)), "clientState": body.get("clientState"),
        "notificationUrl": url, "lifecycleNotificationUrl": lifecycle_url, "expirationDateTime": expires,
        "creatorId": box.user_id, "latestSupportedTlsVersion": tls,
        "notificationContentType": None, "includeResourceData": False,
        "_mailbox": box.email, "_kind": kind, "_container": container,
    }
    with state.lock:
        state.subscriptions[sub["id"]] = sub
    return Response(json.dumps(_render(sub)), status=201, content_type="application/json")


def _own(state, box, subscription_id: str) -> dict:
    sub = state.subscriptions.get(subscription_id)
    if sub is None or sub["_mailbox"] != box.email:
        raise GraphError(404, "ResourceNotFound", f"The object '{subscription_id}' was not found.")
    return sub


def item(state, request: Request, box, subscription_id: str):
    """GET, PATCH (renew: only expirationDateTime) or DELETE (204) one subscription."""
    with state.lock:
        sub = _own(state, box, subscription_id)
        if request.method == "GET":
            return _render(sub)
        if request.method == "DELETE":
            del state.subscriptions[subscription_id]
            return Response(status=204)
        body = read_json(request)
        sub["expirationDateTime"] = _expiry(state, body.get("expirationDateTime"))
        return _render(sub)


def list_all(state, request: Request, box) -> dict:
    """GET /subscriptions: this user's live subscriptions."""
    with state.lock:
        items = [_render(s) for s in state.subscriptions.values() if s["_mailbox"] == box.email]
    return {"@odata.context": CONTEXT + "subscriptions", "value": items}


def rules() -> list[Rule]:
    """URL rules of /subscriptions."""
    return [
        Rule("/v1.0/subscriptions", endpoint=create, methods=["POST"]),
        Rule("/v1.0/subscriptions", endpoint=list_all, methods=["GET"]),
        Rule("/v1.0/subscriptions/<subscription_id>", endpoint=item, methods=["GET", "PATCH", "DELETE"]),
    ]


class Notifier:
    """Delivers notifications from a background thread, like Graph does, and records each delivery.

    Graph batches: one POST may carry several ``value[]`` items, from every subscription sharing a
    notification URL. Inside :meth:`batched` the sandbox holds what it would send and then POSTs it
    as one batch per URL. A delivery answered with anything but 2xx (or not answered) is retried,
    up to ``knobs.notification_attempts`` times, as Graph retries failed deliveries.
    """

    def __init__(self, state):
        self.state = state
        self.queue: queue.Queue = queue.Queue()
        self.thread = threading.Thread(target=self._run, name="graph-sandbox-notifier", daemon=True)
        self.stopped = False
        self._hold = threading.Lock()
        self._held = 0
        self._waiting: dict[str, list[dict]] = {}
        state.notifier = self

    def start(self) -> None:
        """Start the delivery thread."""
        self.thread.start()

    def stop(self) -> None:
        """Stop the delivery thread after what is queued."""
        self.stopped = True
        self.queue.put(None)
        self.thread.join(timeout=15)
        self.state.notifier = None

    @contextmanager
    def batched(self):
        """Hold notifications inside the block; then POST them as one batch per notification URL."""
        with self._hold:
            self._held += 1
        try:
            yield
        finally:
            with self._hold:
                self._held -= 1
                waiting = self._waiting if not self._held else {}
                if not self._held:
                    self._waiting = {}
            for url, items in waiting.items():
                self.queue.put((url, {"value": items}, 1))

    def _send(self, url: str, item: dict) -> None:
        with self._hold:
            if self._held:
                self._waiting.setdefault(url, []).append(item)
                return
        self.queue.put((url, {"value": [item]}, 1))

    def changed(self, box, kind: str, container_id: str, item_id: str, change_type: str) -> None:
        """Queue a change notification for every live subscription watching this item."""
        with self.state.lock:
            for sub in list(self.state.subscriptions.values()):
                if (sub["_mailbox"] != box.email or sub["_kind"] != kind or sub["expirationDateTime"] <= now()
                        or change_type not in sub["changeType"].split(",")
                        or sub["_container"] not in (None, container_id)):
                    continue
                noun = "Events" if kind == "event" else "Messages"
                resource = f"Users/{box.user_id}/{noun}/{item_id}"
                item = {
                    "subscriptionId": sub["id"],
                    "subscriptionExpirationDateTime": times.stamp(sub["expirationDateTime"]),
                    "changeType": change_type, "resource": resource, "clientState": sub["clientState"],
                    "tenantId": self.state.tenant_id,
                    "resourceData": {"@odata.type": f"#Microsoft.Graph.{noun[:-1]}", "@odata.id": resource,
                                     "@odata.etag": f'W/"{secrets.token_hex(6)}"', "id": item_id},
                }
                copies = 2 if self.state.knobs.duplicate_notifications else 1
                for _ in range(copies):
                    self._send(sub["notificationUrl"], item)

    def lifecycle(self, subscription_id: str, event: str) -> None:
        """Queue a lifecycle notification; ``subscriptionRemoved`` also drops the subscription."""
        if event not in LIFECYCLE_EVENTS:
            raise ValueError(f"unknown lifecycle event {event!r}")
        with self.state.lock:
            sub = self.state.subscriptions[subscription_id]
            item = {"subscriptionId": sub["id"],
                    "subscriptionExpirationDateTime": times.stamp(sub["expirationDateTime"]),
                    "tenantId": self.state.tenant_id, "clientState": sub["clientState"], "lifecycleEvent": event}
            if event == "subscriptionRemoved":
                del self.state.subscriptions[subscription_id]
        self._send(sub["lifecycleNotificationUrl"] or sub["notificationUrl"], item)

    def drain(self, timeout: float) -> None:
        """Wait until the queue is empty (every queued POST made, retries included)."""
        deadline = time.monotonic() + timeout
        with self.queue.all_tasks_done:
            while self.queue.unfinished_tasks:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError("notifications still pending")
                self.queue.all_tasks_done.wait(remaining)

    def _run(self) -> None:
        while True:
            entry = self.queue.get()
            try:
                if entry is None:
                    return
                url, payload, attempt = entry
                try:
                    answer = requests.post(url, json=payload, timeout=10)
                    outcome: Any = answer.status_code
                except requests.RequestException as exc:
                    outcome = f"error: {exc}"
                with self.state.lock:
                    self.state.deliveries.append((url, payload, outcome))
                knobs = self.state.knobs
                if not (isinstance(outcome, int) and 200 <= outcome < 300) and attempt < knobs.notification_attempts \
                        and not self.stopped:
                    # Graph backs off between attempts (for hours); the sandbox keeps the pauses short
                    time.sleep(knobs.notification_retry_delay * 2 ** (attempt - 1))
                    self.queue.put((url, payload, attempt + 1))
            finally:
                self.queue.task_done()
