"""Graph's error responses: ``{"error": {"code", "message", "innerError"}}`` with the right status."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone

from werkzeug.wrappers import Response


class GraphError(Exception):
    """Raised by sandbox handlers; the server turns it into Graph's error body."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    """Graph's error body; ``innerError`` carries the request ids real responses have."""
    request_id = str(uuid.uuid4())
    body = {"error": {"code": code, "message": message, "innerError": {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"),
        "request-id": request_id, "client-request-id": request_id}}}
    response = Response(json.dumps(body), status=status, content_type="application/json")
    response.headers["request-id"] = request_id
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def mailbox_not_enabled() -> GraphError:
    """What Graph answers for mailbox resources of a mailbox hosted on-premises (or unlicensed)."""
    return GraphError(404, "MailboxNotEnabledForRESTAPI", "REST API is not yet supported for this mailbox.")


def item_not_found() -> GraphError:
    """Exchange's 404 for an unknown or deleted item."""
    return GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")


def invalid_request(message: str) -> GraphError:
    """Exchange's 400 for a body it will not store."""
    return GraphError(400, "ErrorInvalidRequest", message)


def time_zone_not_supported(message: str) -> GraphError:
    """Graph's 400 for a dateTimeTimeZone whose zone it does not know (only Windows names and its IANA list)."""
    return GraphError(400, "TimeZoneNotSupportedException", message)
