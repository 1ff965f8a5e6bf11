"""Pytest fixtures and helpers for testing against the Microsoft 365 sandbox (entry point ``pytest11``).

* ``office365_sandbox`` — a :class:`~hub_office365.sandbox.RunningSandbox` on a free loopback port, with
  the mailbox ``alice@contoso.example`` and a registered app; ``office365_sandbox.config()`` is the
  provider configuration pointing the plugin at it;
* ``office365_webhook_receiver`` — a real HTTP server standing in for the hub's webhook route, so Graph's
  validation handshakes and notifications travel over sockets;
* :class:`Office365Remote` — the conformance suite's :class:`hub.testing.conformance.Remote`, making
  changes as Outlook would (through the sandbox's state, never through the plugin).
"""

from __future__ import annotations

import email
import email.policy
import json
import re
import threading
from datetime import date, datetime, timezone
from email.utils import getaddresses, parseaddr, parsedate_to_datetime
from html import unescape
from typing import Callable
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from hub import oauth
from hub.testing.conformance import Remote
from hub.types import AccountHandle, PushChannel, RemoteEvent, WebhookRequest, WebhookResult

from hub_office365.sandbox import RunningSandbox, SandboxState, serve
from hub_office365.sandbox.server import _QuietHandler
from hub_office365.zones import windows_name

USER = "alice@contoso.example"


@pytest.fixture
def office365_sandbox(monkeypatch):
    """A running Microsoft 365 sandbox with ``alice@contoso.example``; stopped after the test.

    The sandbox speaks plain http on loopback, which oauthlib refuses unless told otherwise.
    """
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    state = SandboxState()
    state.knobs.loopback_http_push = True  # the webhook receiver listens on plain http on loopback
    state.add_mailbox(USER, "Alice Adams")
    with serve(state) as sandbox:
        sandbox.config()  # registers the default app
        yield sandbox


class WebhookReceiver:
    """A loopback HTTP server that hands each request to ``handler`` (the hub's webhook route, in small).

    ``handler(WebhookRequest) -> WebhookResult``; without one it answers validation handshakes by
    echoing and everything else with 202. Every request is kept in ``requests``.
    """

    def __init__(self):
        self.requests: list[WebhookRequest] = []
        self.handler: Callable[[WebhookRequest], WebhookResult] | None = None
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True, request_handler=_QuietHandler)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def _app(self, environ, start_response):
        request = Request(environ)
        hook_request = WebhookRequest(method=request.method, path=request.path, headers=dict(request.headers),
                                      args=request.args.to_dict(), body=request.get_data())
        self.requests.append(hook_request)
        if self.handler is not None:
            result = self.handler(hook_request)
        elif "validationToken" in hook_request.args:
            result = WebhookResult(status=200, body=hook_request.args["validationToken"])
        else:
            result = WebhookResult(status=202)
        response = Response(result.body, status=result.status, content_type=result.content_type)
        return response(environ, start_response)

    def notifications(self) -> list[WebhookRequest]:
        """The requests that carried notifications (not validation handshakes)."""
        return [r for r in self.requests if "validationToken" not in r.args]

    def start(self) -> "WebhookReceiver":
        """Serve in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


@pytest.fixture
def office365_webhook_receiver():
    """A started :class:`WebhookReceiver`, stopped after the test."""
    receiver = WebhookReceiver().start()
    yield receiver
    receiver.stop()


def connect_account(hooks, context, remote: "Office365Remote", email: str = USER) -> AccountHandle:
    """Connect ``email`` through the real consent flow; returns the handle the core would build.

    Credentials the plugin saves are appended to ``handle.saved`` (newest last).
    """
    remote.email = email
    start = oauth.start(f"{context.base_url}/integrations/office365/callback")
    query = remote.approve(hooks.hub_authorization_url(context=context, start=start))
    result = hooks.hub_connect(context=context, params={"code": query["code"], "code_verifier": start.code_verifier,
                                                        "redirect_uri": start.redirect_uri})
    saved: list[dict] = []
    handle = AccountHandle(id=7, provider="office365", email=result.email, credentials=dict(result.credentials),
                           settings=dict(result.settings), context=context,
                           save_credentials=lambda creds: saved.append(dict(creds)))
    handle.saved = saved
    return handle


def expire_token(account: AccountHandle) -> None:
    """Make the stored access token look expired, so the next call refreshes it."""
    account.credentials["token"] = {**account.credentials["token"], "expires_at": 0}


def _graph_time(value: datetime | date, zone: str | None) -> dict:
    if isinstance(value, datetime):
        return {"dateTime": value.astimezone(timezone.utc).replace(tzinfo=None).isoformat(), "timeZone": "UTC"}
    # Outlook stores Windows zone names
    return {"dateTime": value.isoformat() + "T00:00:00", "timeZone": windows_name(zone) or "UTC"}


def _weekly_series(event: RemoteEvent) -> dict:
    """The patternedRecurrence Outlook stores for a plain ``FREQ=WEEKLY;COUNT=n`` series (written by hand
    for the Remote, independently of the plugin's RRULE conversion); anything richer is seeded as Graph JSON."""
    rule = dict(part.split("=", 1) for part in event.recurrence[0].removeprefix("RRULE:").split(";"))
    if len(event.recurrence) != 1 or set(rule) != {"FREQ", "COUNT"} or rule["FREQ"] != "WEEKLY":
        raise NotImplementedError("Office365Remote seeds plain weekly series; seed others as Graph JSON")
    local = event.start.astimezone(ZoneInfo(event.timezone or "UTC"))
    return {"pattern": {"type": "weekly", "interval": 1, "daysOfWeek": [local.strftime("%A").lower()],
                        "firstDayOfWeek": "monday"},
            "range": {"type": "numbered", "startDate": local.date().isoformat(),
                      "numberOfOccurrences": int(rule["COUNT"])}}


def _series_time(value: datetime, zone: str) -> dict:
    return {"dateTime": value.astimezone(ZoneInfo(zone)).replace(tzinfo=None).isoformat(), "timeZone": zone}


def graph_event(event: RemoteEvent) -> dict:
    """The Graph JSON Outlook would store for ``event`` (single events and plain weekly series)."""
    if event.recurrence:
        zone = event.timezone or "UTC"
        return {**graph_event(event.replace(recurrence=[])), "type": "seriesMaster",
                "start": _series_time(event.start, zone), "end": _series_time(event.end, zone),
                "recurrence": _weekly_series(event)}
    return {"subject": event.summary, "body": {"contentType": "text", "content": event.description},
            "start": _graph_time(event.start, event.timezone), "end": _graph_time(event.end, event.timezone),
            "isAllDay": event.all_day, "location": {"displayName": event.location},
            "showAs": "free" if event.transparent else "busy",
            "attendees": [{"emailAddress": {"address": a.email, "name": a.name}, "type": "required"}
                          for a in event.attendees]}


class Office365Remote(Remote):
    """Changes made "in Outlook": straight into the sandbox state, as the user ``email``."""

    def __init__(self, sandbox: RunningSandbox, email_address: str = USER, receiver: WebhookReceiver | None = None):
        self.sandbox = sandbox
        self.state = sandbox.state
        self.email = email_address
        self.receiver = receiver

    def create_event(self, calendar_id: str, event: RemoteEvent) -> str:
        """Create ``event`` in Outlook."""
        return self.state.add_event(self.email, graph_event(event), calendar_id)["id"]

    def update_event(self, calendar_id: str, event: RemoteEvent) -> None:
        """Edit the event in Outlook."""
        self.state.update_event(self.email, event.remote_id, graph_event(event))

    def delete_event(self, calendar_id: str, remote_id: str) -> None:
        """Delete the event in Outlook."""
        self.state.delete_event(self.email, remote_id)

    def deliver_mail(self, folder: str, raw: bytes) -> None:
        """Let the RFC 822 message arrive in ``folder``."""
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        body = parsed.get_body(preferencelist=("html", "plain"))
        fields = {
            "subject": str(parsed["Subject"] or ""), "message_id": str(parsed["Message-ID"] or "") or None,
            "sender": parseaddr(str(parsed["From"])) if parsed["From"] else self.email,
            "to": [(n, a) for n, a in getaddresses([str(v) for v in parsed.get_all("To", [])])],
            "cc": [(n, a) for n, a in getaddresses([str(v) for v in parsed.get_all("Cc", [])])],
            "in_reply_to": str(parsed["In-Reply-To"]) if parsed["In-Reply-To"] else None,
            "references": str(parsed["References"]).split() if parsed["References"] else None,
        }
        if parsed["Date"]:
            fields["received"] = parsedate_to_datetime(str(parsed["Date"]))
        if body is not None:
            fields["html" if body.get_content_type() == "text/html" else "text"] = body.get_content()
        self.state.deliver_mail(self.email, {"sent": "sentitems"}.get(folder, folder), **fields)

    def expire_cursors(self) -> None:
        """Make Graph forget every delta token."""
        self.state.expire_delta_tokens()

    def approve(self, authorization_url: str) -> dict[str, str]:
        """Open the consent page like a browser, press Accept, and read the redirect's query."""
        page = requests.get(authorization_url, timeout=10)
        page.raise_for_status()
        form = {unescape(k): unescape(v) for k, v in
                re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page.text)}
        form.update(login=self.email, consent="accept")
        answer = requests.post(authorization_url.split("?")[0], data=form, allow_redirects=False, timeout=10)
        assert answer.status_code in (302, 303), answer.text[:300]
        return {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["Location"]).query).items()}

    def notification(self, channel: PushChannel) -> WebhookRequest:
        """Change what ``channel`` watches and return the notification Graph POSTed for it."""
        assert self.receiver is not None, "Office365Remote needs the office365_webhook_receiver for notifications"
        seen = len(self.receiver.requests)
        if channel.calendar_id:
            day = datetime.now(timezone.utc).replace(microsecond=0)
            self.state.add_event(self.email, {"subject": "changed for a notification",
                                              "start": _graph_time(day, None), "end": _graph_time(day, None)},
                                 channel.calendar_id)
        else:
            self.state.deliver_mail(self.email, {"sent": "sentitems"}.get(channel.folder, channel.folder),
                                    subject="mail for a notification", sender="someone@example.org")
        self.state.wait_for_deliveries()
        for request in self.receiver.requests[seen:]:
            body = json.loads(request.body or b"{}")
            if any(n.get("subscriptionId") == channel.channel_id for n in body.get("value", [])):
                return request
        raise AssertionError("the sandbox sent no notification for the channel")
