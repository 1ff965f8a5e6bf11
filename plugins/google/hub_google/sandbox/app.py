"""The sandbox as one WSGI application: routing, bearer-token checks, faults, recording.

Every request first meets the fault plan (outside the lock, so a slow answer does not stall other
requests), then, for API routes, the access-token and scope check Google makes, then its handler
under the state's lock. JSON answers of routes that name a discovery method can be recorded for
schema validation (``state.record_responses``).
"""

from __future__ import annotations

import json
import logging
import traceback

from werkzeug.exceptions import ClientDisconnected, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from hub_google.sandbox import admin, calendar, gmail, oauth
from hub_google.sandbox.errors import GoogleError, OAuthError, insufficient_scope, json_response, unauthenticated
from hub_google.sandbox.routing import Call, Route
from hub_google.sandbox.state import SandboxState

log = logging.getLogger(__name__)


class SandboxApp:
    """WSGI app serving the Google contract from a :class:`SandboxState`."""

    def __init__(self, state: SandboxState):
        self.state = state
        self.routes: list[Route] = [*oauth.ROUTES, *calendar.ROUTES, *gmail.ROUTES, *admin.ROUTES]
        self.url_map = Map([Rule(r.rule, methods=list(r.methods), endpoint=i) for i, r in enumerate(self.routes)],
                           strict_slashes=False)

    def __call__(self, environ, start_response):
        request = Request(environ)
        response = self.dispatch(request)
        self.state.requests.append((request.method, request.full_path.rstrip("?"), response.status_code))
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        """Route, apply faults, authenticate and answer one request."""
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            endpoint, values = adapter.match()
        except NotFound:
            return GoogleError(404, "notFound", "Not Found").response()
        except MethodNotAllowed:
            return GoogleError(405, "httpMethodNotAllowed", "Method Not Allowed").response()
        route = self.routes[endpoint]
        try:
            fault = self.state.faults.take(request.method, request.path)
            if fault is not None and not fault.after:
                self.state.faults.fire(fault)
            with self.state.lock:
                call = Call(request, self.state)
                if route.scopes is not None:
                    self._authenticate(call, route)
                result = route.handler(call, **values)
                response = result if isinstance(result, Response) else json_response(result)
                self._record(route, response)
            if fault is not None and fault.after:
                self.state.faults.fire(fault)  # the work is done; the client hears an error or nothing
            return response
        except GoogleError as error:
            if route.rule in ("/token", "/revoke"):
                # the OAuth front end fails (429, 5xx) with a plain page, not the APIs' JSON body [unverified]
                return Response(f"<html><title>Error {error.code}</title>{error.message}</html>", status=error.code,
                                headers=error.headers, content_type="text/html; charset=utf-8")
            response = error.response()
            if error.code == 401:
                response.headers["WWW-Authenticate"] = ('Bearer realm="https://accounts.google.com/", '
                                                        'error="invalid_token"')
            return response
        except OAuthError as error:
            return error.response()
        except ClientDisconnected:  # the client gave up (its read timeout ran out): nobody hears an answer
            return Response(status=400)
        except Exception:  # a sandbox bug: answer like Google's front end would, keep the traceback for tests
            log.exception("google sandbox crashed on %s %s", request.method, request.path)
            self.state.crashes.append(f"{request.method} {request.full_path}\n{traceback.format_exc()}")
            return GoogleError(500, "backendError", "Backend Error").response()

    def _authenticate(self, call: Call, route: Route) -> None:
        header = call.request.headers.get("Authorization", "")
        value = header[7:].strip() if header.lower().startswith("bearer ") else call.request.args.get("access_token")
        token = self.state.grants.lookup(value or "")
        if token is None or token.grant.email not in self.state.users:
            raise unauthenticated()
        if not set(route.scopes) & set(token.grant.scopes):
            raise insufficient_scope()
        call.user = self.state.users[token.grant.email]
        call.scopes = token.grant.scopes

    def _record(self, route: Route, response: Response) -> None:
        if not (self.state.record_responses and route.method_id and response.status_code < 300):
            return
        if response.mimetype == "application/json":
            self.state.responses.append((route.method_id, response.status_code,
                                         json.loads(response.get_data(as_text=True))))
