"""Sending events to the host CRM's endpoints: signed (Standard Webhooks), retried, and given up on.

Each endpoint's due deliveries go out oldest first, one HTTP POST each, signed with the endpoint's
secret by the ``standardwebhooks`` library (``webhook-id`` is the event id on every retry, so a
receiver that saw it already can ignore a repeat). A failure (no answer or not 2xx) is retried after
:data:`RETRY_DELAYS` for up to :data:`RETRY_WINDOW`; an endpoint whose every delivery has failed for
:data:`DISABLE_AFTER` is disabled with the reason shown to the administrator. Connections go through
the SSRF guard (:mod:`hub.ssrf_guard`): private hosts only for endpoints an administrator allowed them for.

Public API: :func:`deliver_endpoint`, :func:`deliver_due`, :func:`resend`, :func:`new_secret`,
:func:`check_url`, :func:`purge_old_events`.
"""

from __future__ import annotations

import base64
import http.client
import json
import secrets
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.orm import Session
from standardwebhooks.webhooks import Webhook

from hub import ssrf_guard
from hub.core import Hub
from hub.exceptions import HubError, ValidationError
from hub.models import Event, WebhookDelivery, WebhookEndpoint, utcnow

#: seconds before the 1st, 2nd … retry; the last value repeats until :data:`RETRY_WINDOW` has passed
RETRY_DELAYS: tuple[float, ...] = (5, 300, 1800, 7200, 18000, 36000)
RETRY_WINDOW = timedelta(days=3)
#: an endpoint failing without a single success for this long is disabled
DISABLE_AFTER = timedelta(days=5)
TIMEOUT = 15
#: how much of a refusing endpoint's answer the delivery log keeps
ANSWER_CHARS = 500


def new_secret() -> str:
    """A fresh signing secret in the ``whsec_<base64>`` form receivers' libraries expect."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def check_url(url: str, allow_private: bool) -> str:
    """``url`` if the hub may post to it: http(s), a host the SSRF guard accepts (https unless private)."""
    parts = urlsplit((url or "").strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError("The endpoint URL must start with https:// and name a host.", field="url")
    if parts.scheme == "http" and not allow_private:
        raise ValidationError("Public endpoints must use https://.", field="url")
    try:
        ssrf_guard.checked_addresses(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80), allow_private)
    except HubError as exc:  # refused or unknown host: a bad field of the form, not a provider failure
        raise ValidationError(exc.message, fix=exc.fix, field="url") from None
    return url.strip()


@dataclass
class _Attempt:
    delivery_id: int
    url: str
    secret: str
    allow_private: bool
    event_id: str
    body: str


def deliver_endpoint(hub: Hub, endpoint_id: int) -> float | None:
    """Send the endpoint's due deliveries; seconds until the next one is due, or None when none waits."""
    while True:
        with hub.db.session(write_lock=True) as s:
            attempt, wait = _next_attempt(s, endpoint_id)
        if attempt is None:
            return wait
        status, error = _post(attempt)
        with hub.db.session(write_lock=True) as s:
            retry_in = _record(s, attempt.delivery_id, status, error)
        if retry_in is not None:  # the endpoint is failing: leave the rest for the retry
            return retry_in


def _next_attempt(s: Session, endpoint_id: int) -> tuple[_Attempt | None, float | None]:
    endpoint = s.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or not endpoint.enabled:
        return None, None
    delivery = s.scalars(sa.select(WebhookDelivery).where(
        WebhookDelivery.endpoint_id == endpoint_id, WebhookDelivery.delivered_at.is_(None),
        WebhookDelivery.failed_at.is_(None)).order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(1)).first()
    if delivery is None:
        return None, None
    now = utcnow()
    if delivery.next_attempt_at and delivery.next_attempt_at > now:
        return None, (delivery.next_attempt_at - now).total_seconds()
    event = delivery.event
    return _Attempt(delivery.id, endpoint.url, endpoint.secret["secret"], endpoint.allow_private, event.event_id,
                    json.dumps(event.payload, separators=(",", ":"))), None


def _post(attempt: _Attempt) -> tuple[int | None, str | None]:
    """POST the signed event; (HTTP status, None) or (status or None, what went wrong)."""
    parts = urlsplit(attempt.url)
    https = parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    now = utcnow()
    headers = {
        "Content-Type": "application/json", "User-Agent": "crm-hub-webhooks/1",
        "webhook-id": attempt.event_id, "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(attempt.secret).sign(attempt.event_id, now, attempt.body),
    }
    try:
        sock = ssrf_guard.create_connection(parts.hostname, port, TIMEOUT, attempt.allow_private)
        connection = _Connection(parts.hostname, port, sock, https)
        try:
            path = parts.path or "/"
            connection.request("POST", path + (f"?{parts.query}" if parts.query else ""), attempt.body.encode(),
                               headers)
            response = connection.getresponse()
            answer = response.read(ANSWER_CHARS).decode("utf-8", "replace")
        finally:
            connection.close()
    except HubError as exc:
        return None, exc.message
    except (OSError, http.client.HTTPException) as exc:
        return None, f"{type(exc).__name__}: {exc}"
    if 200 <= response.status < 300:
        return response.status, None
    return response.status, f"HTTP {response.status}: {answer.strip()[:ANSWER_CHARS]}"


class _Connection(http.client.HTTPConnection):
    """http.client on a socket the SSRF guard already connected (TLS wrapped with the URL's host name)."""

    def __init__(self, host: str, port: int, sock, https: bool):
        super().__init__(host, port, timeout=TIMEOUT)
        self.sock = ssl.create_default_context().wrap_socket(sock, server_hostname=host) if https else sock

    def connect(self):  # the socket is already connected
        pass


def _record(s: Session, delivery_id: int, status: int | None, error: str | None) -> float | None:
    """Store an attempt's outcome; seconds until the retry when it failed and one is left."""
    delivery = s.get(WebhookDelivery, delivery_id)
    endpoint = delivery.endpoint
    now = utcnow()
    delivery.attempts += 1
    delivery.last_attempt_at, delivery.last_status, delivery.last_error = now, status, error
    if error is None:
        delivery.delivered_at = now
        endpoint.failing_since = None
        return None
    endpoint.failing_since = endpoint.failing_since or now
    if now - endpoint.failing_since >= DISABLE_AFTER:
        endpoint.enabled = False
        endpoint.disabled_reason = (f"Disabled on {now:%Y-%m-%d %H:%M} UTC: every delivery since "
                                    f"{endpoint.failing_since:%Y-%m-%d %H:%M} UTC failed (last: {error}).")
    if now - delivery.event.created_at >= RETRY_WINDOW or not endpoint.enabled:
        delivery.failed_at = now  # given up: the next delivery (if any) is tried at once
        return None
    delay = RETRY_DELAYS[min(delivery.attempts - 1, len(RETRY_DELAYS) - 1)]
    delivery.next_attempt_at = now + timedelta(seconds=delay)
    return float(delay)


def resend(s: Session, delivery_id: int) -> WebhookDelivery:
    """Send a delivery again now (delivered, failed or waiting), with the same event id."""
    delivery = s.get(WebhookDelivery, delivery_id)
    delivery.delivered_at = delivery.failed_at = None
    delivery.next_attempt_at = utcnow()
    return delivery


def deliver_due(hub: Hub) -> list[int]:
    """Periodic: enqueue delivery for every enabled endpoint with a due delivery (after a crash, a restart)."""
    from hub.work import enqueue_webhooks

    with hub.db.session() as s:
        ids = s.scalars(sa.select(WebhookDelivery.endpoint_id).distinct().join(WebhookEndpoint).where(
            WebhookEndpoint.enabled.is_(True), WebhookDelivery.delivered_at.is_(None),
            WebhookDelivery.failed_at.is_(None), WebhookDelivery.next_attempt_at <= utcnow())).all()
    for endpoint_id in ids:
        enqueue_webhooks(hub, endpoint_id)
    return list(ids)


def purge_old_events(hub: Hub, now: datetime | None = None) -> int:
    """Delete events (and their deliveries) older than the retention setting. Returns how many."""
    cutoff = (now or utcnow()) - timedelta(days=hub.settings.event_retention_days)
    with hub.db.session(write_lock=True) as s:
        old = sa.select(Event.id).where(Event.created_at < cutoff)
        s.execute(sa.delete(WebhookDelivery).where(WebhookDelivery.event_id.in_(old)))
        deleted = s.execute(sa.delete(Event).where(Event.created_at < cutoff))
        return deleted.rowcount  # type: ignore[attr-defined]  # a DELETE's result is a CursorResult
