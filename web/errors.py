"""Render errors: the hub's as message + fix (never a traceback); HTTP errors as pages, or JSON under /api/."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException

from hub.exceptions import HubError, NotActive, PermissionDenied, ProviderError, SlotUnavailable, UserError, ValidationError

log = logging.getLogger(__name__)

#: seconds a client should wait before trying again while the database is away
DATABASE_RETRY_AFTER = 30

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

    @app.errorhandler(DBAPIError)
    def database_error(error: DBAPIError):
        # the database is down, restarting or locked: nothing was written (the transaction rolled back),
        # so the person may simply try again — a 503 with Retry-After says so; a bug stays a 500
        if not (isinstance(error, OperationalError) or error.connection_invalidated):
            raise error
        log.warning("database unavailable during %s %s: %s", request.method, request.path,
                    type(error.orig).__name__ if error.orig is not None else type(error).__name__)
        response = app.make_response(_render(UserError("The hub's database is not answering right now; nothing "
                                                       "was saved.", fix="Try again in a minute."), 503))
        response.headers["Retry-After"] = str(DATABASE_RETRY_AFTER)
        return response

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
