"""The provider conformance suite, run against the Microsoft 365 sandbox over real HTTP."""

from __future__ import annotations

import pytest

from hub.exceptions import WebhookRejected
from hub.testing import ProviderTests
from hub.types import AccountHandle, ProviderContext, WebhookResult

import hub_office365.hooks
from hub_office365.testing import Office365Remote


class TestOffice365(ProviderTests):
    provider_name = "office365"
    supports_calendar = True
    supports_free_busy = True
    supports_mail = True
    supports_send = True
    supports_push = True
    supports_video = True
    # The identity platform has no endpoint for an app to revoke its own refresh token (only
    # revokeSignInSessions, which would sign the user out of every app), so disconnect deletes the
    # subscriptions and forgets the token; test_lifecycle.py checks exactly that.
    revokes_on_disconnect = False

    @pytest.fixture
    def provider_plugin(self):
        return hub_office365.hooks

    @pytest.fixture
    def context(self, office365_sandbox, office365_webhook_receiver) -> ProviderContext:
        return ProviderContext(name=self.provider_name, config=office365_sandbox.config(),
                               base_url=office365_webhook_receiver.url, allow_private_hosts=True)

    @pytest.fixture(autouse=True)
    def _webhook_route(self, request, office365_webhook_receiver, context):
        """The receiver answers like the hub's webhook route: through the plugin's hub_handle_webhook."""
        hooks = request.getfixturevalue("hooks")
        anyone = AccountHandle(id=0, provider=self.provider_name, email="", credentials={}, settings={},
                               context=context)

        def route(hook_request):
            try:
                return hooks.hub_handle_webhook(account=anyone, request=hook_request, channels=[])
            except WebhookRejected:
                return WebhookResult(status=403)

        office365_webhook_receiver.handler = route

    @pytest.fixture
    def remote(self, office365_sandbox, office365_webhook_receiver):
        return Office365Remote(office365_sandbox, receiver=office365_webhook_receiver)

    @pytest.fixture
    def bad_connect_params(self):
        return {"code": "0.AR8A-not-a-code-the-sandbox-issued", "code_verifier": "x" * 64,
                "redirect_uri": "http://127.0.0.1:8000/integrations/office365/callback"}
