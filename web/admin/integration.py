"""Admin → Host CRM: integration tokens, webhook endpoints with their delivery log, and CSV import.

The same functions as the API (:mod:`web.api.integration`, :mod:`hub.crm.csv_import`), scoped to the
administrator's organization.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for

from hub.core import current_hub
from hub.crm import csv_import as imports
from hub.events import EVENT_TYPES
from hub.exceptions import ValidationError
from hub.models import IntegrationToken, WebhookEndpoint
from hub.permissions import Permission
from web.access import actor, requires
from web.admin import bp
from web.api.integration import (
    create_token,
    deliveries,
    find_endpoint,
    resend,
    revoke_token,
    save_endpoint,
)
from web.api.integration_access import SCOPES, organization_id


def _page(new_token: str | None = None, new_secret: str | None = None):
    with current_hub().db.session() as s:
        org = organization_id()
        tokens = s.scalars(sa.select(IntegrationToken).where(IntegrationToken.organization_id == org)
                           .order_by(IntegrationToken.id)).all()
        endpoints = s.scalars(sa.select(WebhookEndpoint).where(WebhookEndpoint.organization_id == org)
                              .order_by(WebhookEndpoint.id)).all()
        return render_template("admin/integration.html", tokens=tokens, endpoints=endpoints, scopes=SCOPES,
                               event_types=EVENT_TYPES, new_token=new_token, new_secret=new_secret)


@bp.route("/integration")
@requires(Permission.ADMIN)
def integration():
    return _page()


@bp.route("/integration/tokens", methods=["POST"])
@requires(Permission.ADMIN)
def create_integration_token():
    name = request.form.get("name", "").strip()
    scopes = [s for s in request.form.getlist("scopes") if s in SCOPES]
    if not name or len(name) > 200:
        raise ValidationError("Give the token a name (up to 200 characters).", field="name")
    if not scopes:
        raise ValidationError("Choose at least one scope.", field="scopes")
    with current_hub().db.session() as s:
        _row, token = create_token(s, organization_id(), name, scopes, actor().id)
    return _page(new_token=token)


@bp.route("/integration/tokens/<int:token_id>/revoke", methods=["POST"])
@requires(Permission.ADMIN)
def revoke_integration_token(token_id: int):
    with current_hub().db.session() as s:
        revoke_token(s, organization_id(), token_id)
    flash("Token revoked: it stops working now.", "success")
    return redirect(url_for("admin.integration"))


@bp.route("/integration/endpoints", methods=["POST"])
@requires(Permission.ADMIN)
def create_endpoint():
    data = {"url": request.form.get("url", "").strip(), "description": request.form.get("description", "")[:200],
            "event_types": [t for t in request.form.getlist("event_types") if t in EVENT_TYPES],
            "allow_private": request.form.get("allow_private") == "on"}
    with current_hub().db.session() as s:
        endpoint = save_endpoint(s, organization_id(), None, data, may_allow_private=True)
        secret = endpoint.secret["secret"]
    return _page(new_secret=secret)


@bp.route("/integration/endpoints/<int:endpoint_id>")
@requires(Permission.ADMIN)
def endpoint(endpoint_id: int):
    with current_hub().db.session() as s:
        row = find_endpoint(s, endpoint_id)
        return render_template("admin/webhook_endpoint.html", endpoint=row, deliveries=deliveries(s, row.id, 200))


@bp.route("/integration/endpoints/<int:endpoint_id>/enabled", methods=["POST"])
@requires(Permission.ADMIN)
def set_endpoint_enabled(endpoint_id: int):
    with current_hub().db.session() as s:
        save_endpoint(s, organization_id(), find_endpoint(s, endpoint_id),
                      {"enabled": request.form.get("enabled") == "yes"}, may_allow_private=True)
    return redirect(url_for("admin.endpoint", endpoint_id=endpoint_id))


@bp.route("/integration/endpoints/<int:endpoint_id>/delete", methods=["POST"])
@requires(Permission.ADMIN)
def delete_endpoint(endpoint_id: int):
    with current_hub().db.session() as s:
        s.delete(find_endpoint(s, endpoint_id))
    flash("Endpoint removed.", "success")
    return redirect(url_for("admin.integration"))


@bp.route("/integration/endpoints/<int:endpoint_id>/deliveries/<int:delivery_id>/resend", methods=["POST"])
@requires(Permission.ADMIN)
def resend_delivery(endpoint_id: int, delivery_id: int):
    resend(endpoint_id, delivery_id)
    flash("Sending again.", "success")
    return redirect(url_for("admin.endpoint", endpoint_id=endpoint_id))


# --- CSV import ------------------------------------------------------------------------------------


@bp.route("/import", methods=["GET", "POST"])
@requires(Permission.ADMIN)
def csv_import():
    """Step 1: choose what to import and upload the file."""
    if request.method == "GET":
        return render_template("admin/import_upload.html", kinds=imports.IMPORTABLE)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ValidationError("Choose a CSV file.", field="file")
    import_id = imports.store_upload(current_hub(), organization_id(), request.form.get("kind", ""),
                                        upload.read(imports.MAX_BYTES + 1))
    return redirect(url_for("admin.import_mapping", import_id=import_id))


@bp.route("/import/<import_id>", methods=["GET", "POST"])
@requires(Permission.ADMIN)
def import_mapping(import_id: str):
    """Step 2: which column is which field; step 3 (POST): the preview with each row's result."""
    hub = current_hub()
    state = imports.load(hub, import_id, organization_id())
    fields = imports.importable_fields(state["kind"])
    if request.method == "GET":
        mapping = state["mapping"] or imports.guess_mapping(state["kind"], state["header"])
        return render_template("admin/import_mapping.html", import_id=import_id, state=state, fields=fields,
                               mapping=mapping, samples=state["rows"][:3])
    mapping = {column: request.form.get(f"column-{i}", "") for i, column in enumerate(state["header"])}
    imports.set_mapping(hub, import_id, organization_id(), mapping)
    rows = imports.preview(hub, import_id, organization_id())
    return render_template("admin/import_preview.html", import_id=import_id, state=state, rows=rows,
                           errors=sum(1 for r in rows if r["result"] == "error"))


@bp.route("/import/<import_id>/start", methods=["POST"])
@requires(Permission.ADMIN)
def import_start(import_id: str):
    imports.start(current_hub(), import_id, organization_id())
    return redirect(url_for("admin.import_status", import_id=import_id))


@bp.route("/import/<import_id>/status")
@requires(Permission.ADMIN)
def import_status(import_id: str):
    """Step 4: the job's progress (the page reloads itself until the import is done)."""
    state = imports.load(current_hub(), import_id, organization_id())
    return render_template("admin/import_status.html", import_id=import_id, state=state,
                           progress=state["progress"] or {"done": 0, "total": len(state["rows"]), "counts": {},
                                                          "errors": [], "finished": False})
