"""API: integration tokens (administrators), webhook endpoints with their delivery log, the event feed."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, g, jsonify

from hub import work
from hub.core import current_hub
from hub.events import delivery as webhooks
from hub.exceptions import PermissionDenied
from hub.models import Event, IntegrationToken, WebhookDelivery, WebhookEndpoint, utcnow
from hub.models.base import MAX_ROW_ID
from hub.permissions import Permission
from web.access import api_access, hash_token
from web.api import bp
from web.api.integration_access import integration_access, new_token, organization_id


def _iso(value):
    return value.isoformat() if value else None


def token_json(t: IntegrationToken) -> dict:
    return {"id": t.id, "name": t.name, "scopes": list(t.scopes or []), "created_at": _iso(t.created_at),
            "last_used_at": _iso(t.last_used_at), "revoked_at": _iso(t.revoked_at)}


def create_token(s, organization: int, name: str, scopes: list[str], user_id: int | None) -> tuple[IntegrationToken, str]:
    """A new integration token; the plain token is returned once and never stored."""
    token = new_token()
    row = IntegrationToken(organization_id=organization, name=name.strip(), scopes=sorted(set(scopes)),
                           token_hash=hash_token(token), created_by_user_id=user_id)
    s.add(row)
    s.flush()
    return row, token


@bp.get("/integration-tokens")
@api_access(Permission.ADMIN)
def list_integration_tokens():
    with current_hub().db.session() as s:
        rows = s.scalars(sa.select(IntegrationToken).where(IntegrationToken.organization_id == organization_id())
                         .order_by(IntegrationToken.id))
        return jsonify([token_json(t) for t in rows])


@bp.post("/integration-tokens")
@api_access(Permission.ADMIN)
def create_integration_token():
    with current_hub().db.session() as s:
        row, token = create_token(s, organization_id(), g.body["name"], g.body["scopes"], g.actor.id)
        return jsonify({**token_json(row), "token": token}), 201


def revoke_token(s, organization: int, token_id: int) -> None:
    row = s.scalar(sa.select(IntegrationToken).where(IntegrationToken.id == token_id,
                                                     IntegrationToken.organization_id == organization))
    if row is None:
        abort(404)
    row.revoked_at = row.revoked_at or utcnow()


@bp.delete("/integration-tokens/<int:token_id>")
@api_access(Permission.ADMIN)
def revoke_integration_token(token_id: int):
    with current_hub().db.session() as s:
        revoke_token(s, organization_id(), token_id)
    return "", 204


# --- webhook endpoints -----------------------------------------------------------------------------


def endpoint_json(e: WebhookEndpoint, secret: bool = False) -> dict:
    out = {"id": e.id, "url": e.url, "description": e.description, "event_types": list(e.event_types or []),
           "enabled": e.enabled, "disabled_reason": e.disabled_reason, "allow_private": e.allow_private,
           "failing_since": _iso(e.failing_since), "created_at": _iso(e.created_at)}
    if secret:
        out["secret"] = e.secret["secret"]
    return out


def delivery_json(d: WebhookDelivery) -> dict:
    return {"id": d.id, "event_id": d.event.event_id, "event_type": d.event.type, "attempts": d.attempts,
            "last_status": d.last_status, "last_error": d.last_error, "last_attempt_at": _iso(d.last_attempt_at),
            "next_attempt_at": _iso(d.next_attempt_at), "delivered_at": _iso(d.delivered_at),
            "failed_at": _iso(d.failed_at)}


def save_endpoint(s, organization: int, endpoint: WebhookEndpoint | None, data: dict, may_allow_private: bool):
    """Create (``endpoint`` None) or change an endpoint; the URL passes the SSRF guard first."""
    if data.get("allow_private") and not may_allow_private:
        raise PermissionDenied("Only an administrator may allow private hosts for an endpoint.")
    if endpoint is None:
        endpoint = WebhookEndpoint(organization_id=organization, secret={"secret": webhooks.new_secret()},
                                   allow_private=False, enabled=True)
        s.add(endpoint)
    if "allow_private" in data:
        endpoint.allow_private = bool(data["allow_private"])
    if "url" in data or "allow_private" in data:
        endpoint.url = webhooks.check_url(data.get("url", endpoint.url), endpoint.allow_private)
    if "url" not in data and endpoint.url is None:
        from hub.exceptions import ValidationError

        raise ValidationError("url is required.", field="url")
    for name in ("description", "event_types"):
        if name in data:
            setattr(endpoint, name, data[name])
    if data.get("enabled") is True and not endpoint.enabled:  # re-enabled: a fresh start
        endpoint.enabled, endpoint.disabled_reason, endpoint.failing_since = True, None, None
    elif data.get("enabled") is False:
        endpoint.enabled = False
    s.flush()
    return endpoint


def _may_allow_private() -> bool:
    """Administrators (users) may allow private hosts; integration tokens may not."""
    return g.get("organization_id") is None and g.actor.can(Permission.ADMIN)


def find_endpoint(s, endpoint_id: int) -> WebhookEndpoint:
    """The caller's organization's endpoint, or 404."""
    row = s.scalar(sa.select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id,
                                                    WebhookEndpoint.organization_id == organization_id()))
    if row is None:
        abort(404)
    return row


@bp.get("/webhook-endpoints")
@integration_access(Permission.ADMIN, "webhooks_admin")
def list_webhook_endpoints():
    with current_hub().db.session() as s:
        rows = s.scalars(sa.select(WebhookEndpoint).where(WebhookEndpoint.organization_id == organization_id())
                         .order_by(WebhookEndpoint.id))
        return jsonify([endpoint_json(e) for e in rows])


@bp.post("/webhook-endpoints")
@integration_access(Permission.ADMIN, "webhooks_admin")
def create_webhook_endpoint():
    with current_hub().db.session() as s:
        endpoint = save_endpoint(s, organization_id(), None, g.body, _may_allow_private())
        return jsonify(endpoint_json(endpoint, secret=True)), 201


@bp.get("/webhook-endpoints/<int:endpoint_id>")
@integration_access(Permission.ADMIN, "webhooks_admin")
def get_webhook_endpoint(endpoint_id: int):
    with current_hub().db.session() as s:
        return jsonify(endpoint_json(find_endpoint(s, endpoint_id)))


@bp.patch("/webhook-endpoints/<int:endpoint_id>")
@integration_access(Permission.ADMIN, "webhooks_admin")
def update_webhook_endpoint(endpoint_id: int):
    with current_hub().db.session() as s:
        endpoint = save_endpoint(s, organization_id(), find_endpoint(s, endpoint_id), g.body, _may_allow_private())
        return jsonify(endpoint_json(endpoint))


@bp.delete("/webhook-endpoints/<int:endpoint_id>")
@integration_access(Permission.ADMIN, "webhooks_admin")
def delete_webhook_endpoint(endpoint_id: int):
    with current_hub().db.session() as s:
        s.delete(find_endpoint(s, endpoint_id))
    return "", 204


@bp.get("/webhook-endpoints/<int:endpoint_id>/deliveries")
@integration_access(Permission.ADMIN, "webhooks_admin")
def list_webhook_deliveries(endpoint_id: int):
    with current_hub().db.session() as s:
        return jsonify([delivery_json(d) for d in deliveries(s, find_endpoint(s, endpoint_id).id,
                                                             g.params.get("limit", 100))])


def deliveries(s, endpoint_id: int, limit: int = 100) -> list[WebhookDelivery]:
    """An endpoint's delivery log, newest first."""
    return list(s.scalars(sa.select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
                          .order_by(WebhookDelivery.id.desc()).limit(limit)))


@bp.post("/webhook-endpoints/<int:endpoint_id>/deliveries/<int:delivery_id>/resend")
@integration_access(Permission.ADMIN, "webhooks_admin")
def resend_webhook_delivery(endpoint_id: int, delivery_id: int):
    return jsonify(delivery_json(resend(endpoint_id, delivery_id))), 202


def resend(endpoint_id: int, delivery_id: int) -> WebhookDelivery:
    """Send one of the organization's deliveries again (404 for anyone else's), and queue the sending."""
    hub = current_hub()
    with hub.db.session() as s:
        endpoint = find_endpoint(s, endpoint_id)
        found = s.scalar(sa.select(WebhookDelivery.id).where(WebhookDelivery.id == delivery_id,
                                                             WebhookDelivery.endpoint_id == endpoint.id))
        if found is None:
            abort(404)
        delivery = webhooks.resend(s, delivery_id)
        delivery_json(delivery)  # loads what the answer shows while the session is open
        s.expunge(delivery)
    work.enqueue_webhooks(hub, endpoint_id)
    return delivery


# --- the event feed --------------------------------------------------------------------------------


def event_json(e: Event) -> dict:
    return {"id": e.event_id, "cursor": str(e.id), "type": e.type, "timestamp": e.payload.get("timestamp"),
            "data": e.payload.get("data", {})}


@bp.get("/events")
@integration_access(Permission.ADMIN, "read")
def list_events():
    """Events after the cursor, oldest first; ``next_cursor`` is the cursor to ask with next (even when empty)."""
    after = min(int(g.params.get("after") or 0), MAX_ROW_ID)
    with current_hub().db.session() as s:
        query = sa.select(Event).where(Event.organization_id == organization_id(), Event.id > after)
        if "type" in g.params:
            query = query.where(Event.type == g.params["type"])
        rows = list(s.scalars(query.order_by(Event.id).limit(g.params.get("limit", 100))))
        return jsonify(events=[event_json(e) for e in rows], next_cursor=str(rows[-1].id if rows else after))
