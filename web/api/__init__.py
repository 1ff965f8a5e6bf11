"""The JSON API for the host CRM under ``/api/v1``, described by ``/api/v1/openapi.json``.

Token auth (``Authorization: Bearer <token>``) or the UI's session; one module per area. Every
request is checked against its OpenAPI operation (:mod:`web.api.validation`) before the view runs.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from web.access import hash_token, public

bp = Blueprint("api", __name__, url_prefix="/api/v1")

__all__ = ["bp", "hash_token"]


@bp.get("/openapi.json")
@public
def openapi():
    """The OpenAPI 3.1 document of this API."""
    from web.api.spec import PREFIX, document

    return jsonify(document(request.script_root + PREFIX))


from web.api import accounts, calendars, contacts, integration, meetings, records  # noqa: E402,F401  (routes register on import)
