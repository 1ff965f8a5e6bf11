"""API: the host CRM's records — organizations, users, companies, contacts, opportunities.

One set of views serves every kind (list with filters and cursor pages, get, create, PATCH, delete,
PUT by external id, bulk upsert); what differs per kind lives in :mod:`hub.crm.records` and
:mod:`web.api.crm_spec`. Every query is limited to the caller's organization
(:func:`hub.crm.records.visible`). Reading contacts, companies and opportunities needs the contacts
permission (or a ``read`` token); reading users and the organization, and every change, needs an
administrator (or a ``write`` token). So does making a new organization — a new tenant that shares
nothing with the caller's (the answer carries a token for it) — and deleting one's own.
"""

from __future__ import annotations

from typing import Callable

import sqlalchemy as sa
from flask import abort, g, jsonify, request, url_for

from hub.core import current_hub
from hub.crm import organizations
from hub.crm import records as crm_records
from hub.crm.organizations import OrganizationNotEmpty
from hub.crm.records import KINDS, Kind, load_options, serialize, visible
from hub.models import CompanyDomain, Contact, ContactAddress, OpportunityContact, User, UserAlias
from hub.models.base import MAX_ROW_ID
from hub.permissions import Permission
from web.api import bp
from web.api.crm_spec import BULK, CREATABLE, KIND_SPECS
from web.api.integration import create_token
from web.api.integration_access import SCOPES, integration_access, organization_id
from web.api.validation import check

PAGE_SIZE = 100
ADMIN_READS = {"organizations", "users"}



def _filtered(kind: Kind, query, params: dict):
    model = kind.model
    if "after" in params:  # clamped: no row lies beyond the largest id (and PostgreSQL's keys are 32-bit)
        query = query.where(model.id > min(int(params["after"]), MAX_ROW_ID))
    if "external_id" in params:
        query = query.where(model.external_id == params["external_id"])
    if "updated_since" in params and hasattr(model, "updated_at"):
        query = query.where(model.updated_at >= params["updated_since"])
    for name in ("company_id", "is_lead", "is_open"):
        if name in params:
            query = query.where(getattr(model, name) == params[name])
    if "contact_id" in params:  # one of the opportunity's contacts
        query = query.where(model.id.in_(sa.select(OpportunityContact.opportunity_id).where(
            OpportunityContact.contact_id == params["contact_id"])))
    if "email" in params:
        email = params["email"].strip().lower()
        if model is Contact:
            query = query.where(model.id.in_(sa.select(ContactAddress.contact_id).where(
                sa.func.lower(ContactAddress.email) == email)))
        else:
            query = query.where(sa.or_(sa.func.lower(User.email) == email, User.id.in_(
                sa.select(UserAlias.user_id).where(sa.func.lower(UserAlias.email) == email))))
    if "domain" in params:
        query = query.where(model.id.in_(sa.select(CompanyDomain.company_id).where(
            sa.func.lower(CompanyDomain.domain) == params["domain"].strip().lower())))
    if params.get("q"):
        like = f"%{params['q'].strip().lower()}%"
        query = query.where(sa.or_(sa.func.lower(Contact.name).like(like), Contact.id.in_(
            sa.select(ContactAddress.contact_id).where(sa.func.lower(ContactAddress.email).like(like)))))
    return query


def _find(s, kind: Kind, record_id: int):
    row = s.scalars(sa.select(kind.model).options(*load_options(kind)).where(
        kind.model.id == record_id, visible(kind, organization_id()))).first()
    if row is None:
        abort(404)
    return row


def _list_view(kind: Kind) -> Callable:
    def view():
        params = g.params
        limit = params.get("limit", PAGE_SIZE)
        with current_hub().db.session() as s:
            query = _filtered(kind, sa.select(kind.model).options(*load_options(kind)).where(
                visible(kind, organization_id())), params)
            rows = list(s.scalars(query.order_by(kind.model.id).limit(limit + 1)))
            response = jsonify([serialize(kind, row) for row in rows[:limit]])
        if len(rows) > limit:
            cursor = str(rows[limit - 1].id)
            response.headers["X-Next-Cursor"] = cursor
            args = {**request.args.to_dict(), "after": cursor}
            response.headers["Link"] = f'<{url_for(request.endpoint, _external=True, **args)}>; rel="next"'
        return response
    return view


def _get_view(kind: Kind) -> Callable:
    def view(**ids):
        with current_hub().db.session() as s:
            return jsonify(serialize(kind, _find(s, kind, next(iter(ids.values())))))
    return view


def _create_view(kind: Kind) -> Callable:
    def view():
        with current_hub().db.session(write_lock=True) as s:
            row = crm_records.create(s, organization_id(), kind, g.body)
            body = serialize(kind, row)
        return jsonify(body), 201
    return view


def _update_view(kind: Kind) -> Callable:
    def view(**ids):
        with current_hub().db.session(write_lock=True) as s:
            row = _find(s, kind, next(iter(ids.values())))
            crm_records.update(s, organization_id(), kind, row, g.body)
            return jsonify(serialize(kind, row))
    return view


def _delete_view(kind: Kind) -> Callable:
    def view(**ids):
        with current_hub().db.session(write_lock=True) as s:
            row = _find(s, kind, next(iter(ids.values())))
            if kind.model is User:  # their mail and meetings stay on timelines; they can no longer sign in
                row.active = False
            else:
                s.delete(row)
        return "", 204
    return view


def _upsert_view(kind: Kind) -> Callable:
    def view(external_id: str):
        with current_hub().db.session(write_lock=True) as s:
            row, outcome = crm_records.upsert(s, organization_id(), kind, external_id, g.body)
            body = serialize(kind, row)
        response = jsonify(body)
        response.headers["X-Upsert-Result"] = outcome
        return response, 201 if outcome == "created" else 200
    return view


def _bulk_view(kind: Kind) -> Callable:
    schema = {"$ref": f"#/components/schemas/{KIND_SPECS[kind.name]['singular'].title()}Update"}

    def record_check(record: dict) -> None:
        check(record, schema, "record")

    def view():
        with current_hub().db.session(write_lock=True) as s:
            results = crm_records.bulk_upsert(s, organization_id(), kind, g.body["records"], check=record_check)
        counts = {name: 0 for name in ("created", "updated", "unchanged", "error")}
        for result in results:
            counts[result["result"]] += 1
        return jsonify(results=results, counts=counts)
    return view


def create_organization():
    """A new organization and, shown once, an integration token for it (the caller's own
    organization sees nothing of the new one, so the token is the way in)."""
    with current_hub().db.session(write_lock=True) as s:
        row = organizations.create_organization(s, g.body)
        actor = g.get("actor")
        _token_row, token = create_token(s, row.id, "Provisioning", list(SCOPES), actor.id if actor else None)
        body = {**serialize(KINDS["organizations"], row), "token": token}
    return jsonify(body), 201


def delete_organization(organization_id: int):
    """Delete the caller's own organization: see :func:`hub.crm.organizations.delete_organization`."""
    with current_hub().db.session(write_lock=True) as s:
        row = _find(s, KINDS["organizations"], organization_id)
        try:
            organizations.delete_organization(s, row, with_users=bool(g.params.get("with_users")))
        except OrganizationNotEmpty as exc:
            return jsonify({**exc.as_dict(), "error": "Conflict"}), 409
    return "", 204


def _register(rule: str, endpoint: str, view: Callable, method: str, permission: Permission, scope: str) -> None:
    view.__name__ = endpoint
    bp.add_url_rule(rule, endpoint, integration_access(permission, scope)(view), methods=[method])


for _name, _spec in KIND_SPECS.items():
    _kind, _one = KINDS[_name], _spec["singular"]
    _read = Permission.ADMIN if _name in ADMIN_READS else Permission.CONTACTS
    _item = f"/{_name}/<int:{_one}_id>"
    _register(f"/{_name}", f"list_{_name}", _list_view(_kind), "GET", _read, "read")
    _register(_item, f"get_{_one}", _get_view(_kind), "GET", _read, "read")
    _register(_item, f"update_{_one}", _update_view(_kind), "PATCH", Permission.ADMIN, "write")
    if _name in CREATABLE:
        _register(f"/{_name}", f"create_{_one}", _create_view(_kind), "POST", Permission.ADMIN, "write")
        _register(_item, f"delete_{_one}", _delete_view(_kind), "DELETE", Permission.ADMIN, "write")
        _register(f"/{_name}/by-external-id/<external_id>", f"upsert_{_one}", _upsert_view(_kind), "PUT",
                  Permission.ADMIN, "write")
    if _name in BULK:
        _register(f"/{_name}/bulk", f"bulk_{_name}", _bulk_view(_kind), "POST", Permission.ADMIN, "write")
# a new organization is a new tenant: administrators (and write tokens) of one may make it; each may
# delete only its own
_register("/organizations", "create_organization", create_organization, "POST", Permission.ADMIN, "write")
_register("/organizations/<int:organization_id>", "delete_organization", delete_organization, "DELETE",
          Permission.ADMIN, "write")
