"""Test tooling for the Google provider, registered for every test suite through ``pytest11``.

* ``google_sandbox`` — a running :class:`~hub_google.sandbox.SandboxServer` (fresh state, one user
  ``alice@example.com``); ``google_sandbox.provider_config()`` is the Google provider's admin
  configuration and ``google_sandbox.state`` has the knobs;
* ``google_webhook_receiver`` — a tiny HTTP server that records what is POSTed to it (stands in for the
  hub's webhook route where no web app runs);
* :func:`approve` — consent on the sandbox's authorization page over HTTP, as a browser would.

The conformance suite's ``Remote`` for the sandbox is ``SandboxRemote`` in tests/test_google_conformance.py (kept
out of this module so that loading the pytest plugin never imports the conformance suite).
"""

from __future__ import annotations

import threading
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urljoin, urlsplit

import pytest
import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from hub.testing.waiting import PATIENCE
from hub.types import WebhookRequest

SANDBOX_USER = "alice@example.com"


@pytest.fixture
def google_sandbox(monkeypatch):
    """A Google sandbox on a free 127.0.0.1 port with the user ``alice@example.com``; stopped afterwards."""
    from hub_google.sandbox import SandboxServer

    # oauthlib refuses http:// authorization URLs; the sandbox is plain HTTP on loopback
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    with SandboxServer() as server:
        server.state.loopback_http_push = True  # the hub under test listens on plain http on loopback
        server.state.add_user(SANDBOX_USER, "Alice Example")
        yield server


@pytest.fixture
def google_webhook_receiver():
    """A recording HTTP endpoint on a free port (``.url``, ``.requests``, ``.wait_for(predicate)``)."""
    with WebhookReceiver() as receiver:
        yield receiver


# --- consent -------------------------------------------------------------------------------------------


class _ConsentForm(HTMLParser):
    """Collects the consent page's form: its action and the fields a browser would submit."""

    def __init__(self):
        super().__init__()
        self.action = ""
        self.fields: list[tuple[str, str]] = []
        self.accounts: list[str] = []
        self._in_select = False

    def handle_starttag(self, tag, attrs):
        attr = dict(attrs)
        if tag == "form":
            self.action = attr.get("action", "")
        elif tag == "input":
            kind = attr.get("type", "text")
            if kind == "hidden" or (kind == "checkbox" and "checked" in attr and "disabled" not in attr):
                self.fields.append((attr["name"], attr.get("value", "")))
            elif kind in ("text", "email"):
                self.fields.append((attr["name"], attr.get("value", "")))
        elif tag == "select":
            self._in_select = True
        elif tag == "option" and self._in_select:
            self.accounts.append(attr.get("value", ""))
            if "selected" in attr:
                self.fields.append(("email", attr.get("value", "")))

    def handle_endtag(self, tag):
        if tag == "select":
            self._in_select = False


def approve(authorization_url: str, email: str | None = None, decline_scopes: tuple[str, ...] = (),
            decision: str = "allow") -> dict[str, str]:
    """Answer the sandbox's consent page like a person would; returns the callback's query.

    :param email: the account to choose (default: the page's preselected or first one).
    :param decline_scopes: scopes to untick before pressing Allow.
    :param decision: ``allow`` or ``deny``.
    """
    with requests.Session() as session:
        page = session.get(authorization_url, timeout=10)
        page.raise_for_status()
        form = _ConsentForm()
        form.feed(page.text)
        fields = [(k, v) for k, v in form.fields if not (k == "grant" and v in decline_scopes)]
        chosen = email or dict(fields).get("email") or (form.accounts[0] if form.accounts else None)
        fields = [(k, v) for k, v in fields if k != "email"] + [("email", chosen), ("decision", decision)]
        answer = session.post(urljoin(authorization_url, form.action), data=fields, allow_redirects=False,
                              timeout=10)
    if answer.status_code not in (302, 303):
        raise AssertionError(f"the consent page answered {answer.status_code}: {answer.text[:200]}")
    return dict(parse_qsl(urlsplit(answer.headers["Location"]).query))


# --- a recording webhook endpoint ---------------------------------------------------------------------


class WebhookReceiver:
    """Records every request sent to it and answers 200 (the hub's webhook route stands-in)."""

    def __init__(self):
        self.requests: list[WebhookRequest] = []
        self._changed = threading.Condition()
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    def _app(self, environ, start_response):
        request = Request(environ)
        recorded = WebhookRequest(method=request.method, path=request.path, headers=dict(request.headers),
                                  args=dict(request.args), body=request.get_data())
        with self._changed:
            self.requests.append(recorded)
            self._changed.notify_all()
        return Response("", status=200)(environ, start_response)

    def wait_for(self, predicate, timeout: float = PATIENCE) -> WebhookRequest:
        """The first recorded request matching ``predicate``, waiting for it to arrive."""
        with self._changed:
            found = self._changed.wait_for(lambda: next((r for r in self.requests if predicate(r)), None),
                                           timeout=timeout)
        if found is None:
            raise AssertionError(f"no matching request arrived within {timeout}s; got {len(self.requests)} others")
        return found

    def __enter__(self) -> "WebhookReceiver":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
