"""Google's error bodies, as the sandbox answers them.

Google APIs answer errors with ``{"error": {"code", "message", "errors": [{"domain", "reason",
"message"}], "status"}}`` (the ``status`` member is the newer gRPC-style name; Gmail sends it,
Calendar v3 often does not). The OAuth endpoints use the flat RFC 6749 shape instead
(``{"error": "invalid_grant", "error_description": "…"}``), see :class:`OAuthError`.
"""

from __future__ import annotations

import json

from werkzeug.wrappers import Response

#: HTTP status → the gRPC-style status name Google puts in ``error.status``
STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    410: "FAILED_PRECONDITION",
    412: "FAILED_PRECONDITION",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


class GoogleError(Exception):
    """An API error the sandbox answers with Google's JSON error body.

    :param code: the HTTP status.
    :param reason: Google's ``errors[0].reason`` (``fullSyncRequired``, ``rateLimitExceeded`` …).
    :param message: the human-readable message.
    :param domain: ``errors[0].domain`` (``global``, ``usageLimits``, ``calendar``).
    :param headers: extra response headers (``Retry-After``).
    """

    def __init__(self, code: int, reason: str, message: str, domain: str = "global",
                 headers: dict[str, str] | None = None, location: str | None = None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.domain = domain
        self.headers = headers or {}
        self.location = location

    def body(self, with_status: bool = True) -> dict:
        """The JSON body Google sends for this error."""
        item = {"domain": self.domain, "reason": self.reason, "message": self.message}
        if self.location:
            item.update(locationType="header" if self.location[0].isupper() else "parameter",
                        location=self.location)
        error = {"errors": [item], "code": self.code, "message": self.message}
        if with_status and self.code in STATUS_NAMES:
            error["status"] = STATUS_NAMES[self.code]
        return {"error": error}

    def response(self) -> Response:
        """The error as a werkzeug response."""
        return Response(json.dumps(self.body()), status=self.code, headers=self.headers,
                        content_type="application/json; charset=UTF-8")


class OAuthError(Exception):
    """An error of the OAuth token / revoke endpoints (flat RFC 6749 body)."""

    def __init__(self, error: str, description: str, code: int = 400):
        super().__init__(description)
        self.error = error
        self.description = description
        self.code = code

    def response(self) -> Response:
        """The error as a werkzeug response."""
        return Response(json.dumps({"error": self.error, "error_description": self.description}),
                        status=self.code, content_type="application/json; charset=utf-8")


# --- the errors several handlers raise ------------------------------------------------------------


def bad_request(message: str, reason: str = "invalid", location: str | None = None) -> GoogleError:
    """A 400 with Google's body."""
    return GoogleError(400, reason, message, location=location)


def not_found(message: str = "Not Found") -> GoogleError:
    """A 404 with Google's body."""
    return GoogleError(404, "notFound", message)


def unauthenticated() -> GoogleError:
    # Google's wording for a missing, expired or revoked access token
    """The 401 Google answers for a missing, expired or revoked token."""
    return GoogleError(
        401, "authError",
        "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or "
        "other valid authentication credential.",
        location="Authorization",
    )


def insufficient_scope() -> GoogleError:
    """The 403 for a token without the needed scope."""
    return GoogleError(403, "insufficientPermissions", "Request had insufficient authentication scopes.")


def json_response(body: dict | list | None, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response the way Google's front ends send one."""
    if body is None:
        return Response(b"", status=204 if status == 200 else status, headers=headers)
    return Response(json.dumps(body), status=status, headers=headers, content_type="application/json; charset=UTF-8")
