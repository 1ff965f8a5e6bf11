"""The provider contract (hub.testing.ProviderTests) against the Google sandbox over real HTTP.

:class:`SandboxRemote` is the suite's :class:`~hub.testing.conformance.Remote` for the sandbox: edits
are made through the sandbox's Python API, the way another Google client (or Google's own UI) would
make them — never through the plugin under test; event bodies are written here, independently of the
plugin's mapping.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from hub.testing import ProviderTests
from hub.testing.conformance import Remote
from hub.types import ProviderContext, PushChannel, RemoteEvent, WebhookRequest

from hub_google import hooks
from hub_google.testing import SANDBOX_USER, WebhookReceiver, approve


class TestGoogleProvider(ProviderTests):
    provider_name = "google"
    supports_calendar = True
    supports_free_busy = True
    supports_mail = True
    supports_send = True
    supports_push = True
    supports_video = True

    @pytest.fixture
    def provider_plugin(self):
        return hooks

    @pytest.fixture
    def context(self, google_sandbox, google_webhook_receiver) -> ProviderContext:
        # the webhook receiver plays the hub's public URL, so push notifications really arrive somewhere
        return ProviderContext(name="google", config=google_sandbox.provider_config(),
                               base_url=google_webhook_receiver.url, allow_private_hosts=True)

    @pytest.fixture
    def remote(self, google_sandbox, google_webhook_receiver):
        return SandboxRemote(google_sandbox, SANDBOX_USER, google_webhook_receiver)

    @pytest.fixture
    def bad_connect_params(self, context):
        return {"code": "4/0AbogusCodeThatGoogleNeverIssued", "code_verifier": "v" * 64,
                "redirect_uri": f"{context.base_url}/integrations/google/callback"}


# --- the remote side -----------------------------------------------------------------------------


def event_body(event: RemoteEvent) -> dict:
    """A Google event body for ``event``, written independently of the plugin's own mapping."""
    def when(value) -> dict:
        if isinstance(value, datetime):
            out = {"dateTime": value.isoformat()}
            zone = event.timezone or getattr(value.tzinfo, "key", None) or ("UTC" if event.recurrence else None)
            return out | ({"timeZone": zone} if zone else {})
        return {"date": value.isoformat()}

    body = {"summary": event.summary, "start": when(event.start), "end": when(event.end)}
    if event.description:
        body["description"] = event.description
    if event.location:
        body["location"] = event.location
    if event.recurrence:
        body["recurrence"] = list(event.recurrence)
    if event.transparent:
        body["transparency"] = "transparent"
    if event.attendees:
        body["attendees"] = [{"email": p.email} for p in event.attendees]
    return body


class SandboxRemote(Remote):
    """Provider-side edits in the sandbox, made through its Python API as another Google client would."""

    def __init__(self, server, email: str = SANDBOX_USER, receiver: WebhookReceiver | None = None):
        self.server = server
        self.state = server.state
        self.email = email
        self.receiver = receiver

    def create_event(self, calendar_id: str, event: RemoteEvent) -> str:
        """Create the event as another Google client would."""
        return self.state.create_event(self.email, calendar_id, event_body(event))["id"]

    def update_event(self, calendar_id: str, event: RemoteEvent) -> None:
        # as Google's own UI edits: every visible field is set, private extended properties stay
        """Edit the event as Google's UI would."""
        body = event_body(event) | {"description": event.description, "location": event.location,
                                    "transparency": "transparent" if event.transparent else "opaque"}
        self.state.update_event(self.email, calendar_id, event.remote_id, body, replace=False)

    def delete_event(self, calendar_id: str, remote_id: str) -> None:
        """Delete the event in Google."""
        self.state.delete_event(self.email, calendar_id, remote_id)

    def deliver_mail(self, folder: str, raw: bytes) -> None:
        """Mail arrives in the inbox, or appears in Sent."""
        labels = ("SENT",) if folder == "sent" else ("INBOX", "UNREAD")
        self.state.deliver_mail(self.email, raw, labels)

    def expire_cursors(self) -> None:
        """Expire every sync token and history id handed out."""
        self.state.expire_sync_tokens()
        self.state.expire_history()

    def approve(self, authorization_url: str) -> dict[str, str]:
        """Consent on the sandbox's page over HTTP."""
        return approve(authorization_url, self.email)

    def notification(self, channel: PushChannel) -> WebhookRequest:
        """Change the watched calendar and return the notification that reached the receiver."""
        if self.receiver is None:
            raise RuntimeError("SandboxRemote needs a google_webhook_receiver to catch notifications")
        start = datetime.now(timezone.utc).replace(microsecond=0)
        self.state.create_event(self.email, channel.calendar_id or self.email, {
            "summary": "changed in Google", "start": {"dateTime": start.isoformat()},
            "end": {"dateTime": start.isoformat()}})
        def wanted(request: WebhookRequest) -> bool:
            headers = {k.lower(): v for k, v in request.headers.items()}
            return (headers.get("x-goog-channel-id") == channel.channel_id
                    and headers.get("x-goog-resource-state") == "exists")

        return self.receiver.wait_for(wanted)
