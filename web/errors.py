"""Render the hub's errors: message and fix, never a traceback."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request

from hub.exceptions import HubError, NotActive, PermissionDenied, ProviderError, SlotUnavailable, ValidationError

STATUS = {ValidationError: 400, PermissionDenied: 403, NotActive: 410, SlotUnavailable: 409}


def status_for(error: HubError) -> int:
    for cls, code in STATUS.items():
        if isinstance(error, cls):
            return code
    return 502 if isinstance(error, ProviderError) else 400


def init_app(app: Flask) -> None:
    @app.errorhandler(HubError)
    def hub_error(error: HubError):
        code = status_for(error)
        if request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json":
            return jsonify(error.as_dict()), code
        return render_template("error.html", error=error), code
