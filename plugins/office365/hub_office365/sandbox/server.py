"""The sandbox as a WSGI app, and :func:`serve` to run it in a thread on 127.0.0.1.

One app serves both hosts of the real service under one base URL: the identity platform
(``/{tenant}/oauth2/v2.0/…``, standing in for login.microsoftonline.com) and Graph (``/v1.0/…``,
standing in for graph.microsoft.com). Every Graph request passes, in order: recorded in
``state.requests``, injected faults, bearer-token check (401 ``InvalidAuthenticationToken``), the
on-premises mailbox check (404 ``MailboxNotEnabledForRESTAPI``), then its handler.
"""

from __future__ import annotations

import json
import re
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from hub_office365.sandbox import calendar, control, identity, mail, mailbox_settings, subscriptions
from hub_office365.sandbox.errors import GraphError, error_response, mailbox_not_enabled
from hub_office365.sandbox.odata import CONTEXT
from hub_office365.sandbox.state import SandboxState

#: path segments Graph matches case-insensitively (ids keep their case)
KEYWORDS = {"v1.0", "me", "calendars", "calendar", "calendarview", "delta", "events", "instances", "getschedule",
            "mailfolders", "messages", "attachments", "createreply", "send", "sendmail", "subscriptions"
            } | mailbox_settings.KEYWORDS


def me(state, request: Request, box) -> dict:
    """GET /me: the signed-in user (answers even for on-premises mailboxes — it is a directory object)."""
    name = box.display_name.split(" ")
    return {"@odata.context": CONTEXT + "users/$entity", "businessPhones": [], "displayName": box.display_name,
            "givenName": name[0], "surname": name[-1] if len(name) > 1 else None, "jobTitle": None,
            "mail": box.email, "mobilePhone": None, "officeLocation": None, "preferredLanguage": "en-US",
            "userPrincipalName": box.email, "id": box.user_id}


def _normalise(path: str) -> str:
    path = re.sub(r"\('([^']*)'\)", r"/\1", path)
    path = re.sub(r"/delta\(\)", "/delta", path, flags=re.IGNORECASE)  # the function-call form the SDK sends
    return "/".join(s.lower() if s.lower() in KEYWORDS else s for s in path.split("/"))


class SandboxApp:
    """WSGI application over one :class:`SandboxState`."""

    def __init__(self, state: SandboxState):
        self.state = state
        self.url_map = Map([Rule("/v1.0/me", endpoint=me)] + calendar.rules() + mail.rules() + mailbox_settings.rules()
                           + subscriptions.rules()
                           + identity.rules() + control.rules(), strict_slashes=False)

    def __call__(self, environ, start_response):
        request = Request(environ)
        return self.dispatch(request)(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        """Route one request to the identity platform, Graph or the controls."""
        path = _normalise(request.path)
        adapter = self.url_map.bind_to_environ(request.environ)
        graph = path.startswith("/v1.0/")
        try:
            endpoint, values = adapter.match(path_info=path, method=request.method)
        except NotFound:
            if graph:
                segment = path.rstrip("/").rsplit("/", 1)[-1]
                return error_response(400, "BadRequest", f"Resource not found for the segment '{segment}'.")
            return Response("Not found", status=404)
        except MethodNotAllowed:
            return error_response(405, "Request_BadRequest", "The HTTP method is not allowed for this resource.")
        except HTTPException as exc:
            return exc.get_response()
        if not graph:  # identity platform and /_sandbox/ controls: no bearer token
            return endpoint(self.state, request, **values)
        return self._graph(request, path, endpoint, values)

    def _graph(self, request: Request, path: str, endpoint, values: dict) -> Response:
        state = self.state
        with state.lock:
            state.requests.append((request.method, path, request.query_string.decode(), dict(request.headers)))
        fault = state.take_fault(request.method, path)
        if fault is not None:
            return self._fault(fault)
        header = request.headers.get("Authorization", "")
        if not header.lower().startswith("bearer "):
            return error_response(401, "InvalidAuthenticationToken", "Access token is empty.")
        box = state.mailbox_for_token(header[7:].strip())
        if box is None:
            return error_response(401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid.",
                                  {"WWW-Authenticate": 'Bearer realm="", error="invalid_token"'})
        if box.on_premises and endpoint is not me:
            if path.startswith("/v1.0/subscriptions"):
                return error_response(400, "ExtensionError", "Operation: Create; Exception: [Status Code: NotFound; "
                                                             "Reason: REST API is not yet supported for this mailbox.]")
            error = mailbox_not_enabled()
            return error_response(error.status, error.code, error.message)
        try:
            result = endpoint(state, request, box, **values)
        except GraphError as exc:
            return error_response(exc.status, exc.code, exc.message, exc.headers)
        if isinstance(result, Response):
            return result
        return Response(json.dumps(result), content_type="application/json; odata.metadata=minimal")

    @staticmethod
    def _fault(fault) -> Response:
        if fault.kind == "timeout":
            time.sleep(fault.delay)
            return error_response(504, "GatewayTimeout", "The request timed out.")
        if fault.status == 429:
            return error_response(429, fault.code or "TooManyRequests",
                                  "Application is over its MailboxConcurrency limit.",
                                  {"Retry-After": str(fault.retry_after if fault.retry_after is not None else 1)})
        headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else None
        codes = {500: "InternalServerError", 502: "BadGateway", 503: "ServiceUnavailable", 504: "GatewayTimeout"}
        return error_response(fault.status, fault.code or codes.get(fault.status, "UnknownError"),
                              "The service is temporarily unavailable.", headers)


class _QuietHandler(WSGIRequestHandler):
    def log(self, type, message, *args):  # the sandbox must not flood test output
        """Stay silent."""
        pass


@dataclass
class RunningSandbox:
    """A sandbox serving on ``url``; ``config(...)`` is the plugin's provider configuration for it."""

    url: str
    state: SandboxState

    @property
    def login_base(self) -> str:
        """Base URL standing in for https://login.microsoftonline.com."""
        return self.url

    @property
    def graph_base(self) -> str:
        """Base URL standing in for https://graph.microsoft.com/v1.0."""
        return self.url + "/v1.0"

    def config(self, client_id: str = "sandbox-client", client_secret: str = "sandbox-secret") -> dict[str, str]:
        """Register an app and return the office365 provider config pointing at this sandbox."""
        self.state.register_client(client_id, client_secret)
        return {"client_id": client_id, "client_secret": client_secret, "tenant": "common",
                "login_base": self.login_base, "graph_base": self.graph_base}


@contextmanager
def serve(state: SandboxState | None = None, host: str = "127.0.0.1", port: int = 0,
          ssl_context=None) -> Iterator[RunningSandbox]:
    """Run the sandbox in a background thread until the ``with`` block ends.

    :param port: 0 picks a free port (the kernel's choice, so two sandboxes never collide).
    :param ssl_context: serve https with it, e.g. ``(cert_file, key_file)`` (for clients that insist on
        https, such as MSAL); plain http otherwise.
    """
    state = state or SandboxState()
    server = make_server(host, port, SandboxApp(state), threaded=True, request_handler=_QuietHandler,
                         ssl_context=ssl_context)
    notifier = subscriptions.Notifier(state)
    notifier.start()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="graph-sandbox",
                              daemon=True)
    thread.start()
    try:
        scheme = "https" if ssl_context else "http"
        yield RunningSandbox(url=f"{scheme}://{host}:{server.server_port}", state=state)
    finally:
        server.shutdown()
        server.server_close()
        notifier.stop()
        thread.join(timeout=10)
