"""The provider contract (hub.testing.ProviderTests) against the Google sandbox over real HTTP."""

from __future__ import annotations

import pytest

from hub.testing import ProviderTests
from hub.types import ProviderContext

from hub_google import hooks
from hub_google.remote import SandboxRemote
from hub_google.testing import SANDBOX_USER


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
