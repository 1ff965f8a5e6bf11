"""Render errors: the hub's as message + fix (never a traceback); HTTP errors as pages, or JSON under /api/."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from hub.exceptions import HubError, NotActive, PermissionDenied, ProviderError, SlotUnavailable, UserError, ValidationError

STATUS = {ValidationError: 400, PermissionDenied: 403, NotActive: 410, SlotUnavailable: 409}


def status_for(error: HubError) -> int:
    for cls, code in STATUS.items():
        if isinstance(error, cls):
            return code
    return 502 if isinstance(error, ProviderError) else 400


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def _render(error: HubError, code: int):
    if wants_json():
        body = error.as_dict()
        if isinstance(error, ValidationError):
            body["field"] = error.field
        return jsonify(body), code
    return render_template("error.html", error=error), code


def init_app(app: Flask) -> None:
    @app.errorhandler(HubError)
    def hub_error(error: HubError):
        return _render(error, status_for(error))

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        return _render(UserError("The form expired or did not come from this site.",
                                 fix="Reload the page and try again."), 400)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        messages = {404: ("Not found.", "Check the address."),
                    405: ("This method is not allowed here.", None)}
        message, fix = messages.get(error.code, (error.description or error.name, None))
        return _render(UserError(message, fix=fix), error.code or 500)
