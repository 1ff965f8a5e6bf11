"""``/_sandbox/…``: the state knobs over HTTP, for `hub demo` and tests that run the sandbox elsewhere.

Not part of Graph. Each route mirrors one :class:`~hub_office365.sandbox.state.SandboxState` method.
"""

from __future__ import annotations

import dataclasses
import json

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from hub_office365.sandbox.odata import read_json


def _ok(data=None) -> Response:
    return Response(json.dumps(data if data is not None else {"ok": True}), content_type="application/json")


def knobs(state, request: Request) -> Response:
    """GET the knobs; POST ``{name: value}`` to change some."""
    if request.method == "POST":
        names = {f.name for f in dataclasses.fields(state.knobs)}
        for name, value in read_json(request).items():
            if name not in names:
                return Response(json.dumps({"error": f"unknown knob {name}"}), status=400,
                                content_type="application/json")
            setattr(state.knobs, name, value)
    return _ok(dataclasses.asdict(state.knobs))


def fault(state, request: Request) -> Response:
    """POST ``{status, times, retry_after, path, method, timeout}``: see ``SandboxState.inject_fault``."""
    body = read_json(request)
    state.inject_fault(int(body.get("status", 500)), times=int(body.get("times", 1)),
                       retry_after=body.get("retry_after"), path=body.get("path"), method=body.get("method"),
                       timeout=body.get("timeout"))
    return _ok()


def revoke(state, request: Request) -> Response:
    """POST ``{email, code}``: the user's grants fail with AADSTS ``code`` (default 50173)."""
    body = read_json(request)
    state.revoke_grant(body["email"], int(body.get("code", 50173)))
    return _ok()


def expire_delta(state, request: Request) -> Response:
    """POST: forget every delta token (410 syncStateNotFound next time)."""
    state.expire_delta_tokens()
    return _ok()


def lifecycle(state, request: Request) -> Response:
    """POST ``{subscriptionId, event}``: send a lifecycle notification."""
    body = read_json(request)
    state.lifecycle(body["subscriptionId"], body["event"])
    return _ok()


def rules() -> list[Rule]:
    """URL rules of the /_sandbox/ controls."""
    return [
        Rule("/_sandbox/knobs", endpoint=knobs, methods=["GET", "POST"]),
        Rule("/_sandbox/fault", endpoint=fault, methods=["POST"]),
        Rule("/_sandbox/revoke", endpoint=revoke, methods=["POST"]),
        Rule("/_sandbox/expire-delta", endpoint=expire_delta, methods=["POST"]),
        Rule("/_sandbox/lifecycle", endpoint=lifecycle, methods=["POST"]),
    ]
