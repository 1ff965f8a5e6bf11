"""Administration pages (Administrators only): providers, plans and limits, users, queue health.

One blueprint, one module per page group; every view requires :attr:`hub.permissions.Permission.ADMIN`.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from web.admin import health, integration, limits, providers, users  # noqa: E402,F401  (routes register on import)
