"""Shared fixtures for the Microsoft 365 plugin's own tests (the sandbox ones come from hub_office365.testing)."""

from __future__ import annotations

import pytest

from hub.exceptions import WebhookRejected
from hub.plugins import PluginManager
from hub.types import AccountHandle, ProviderContext, WebhookResult

import hub_office365.hooks
from hub_office365.testing import Office365Remote, connect_account


@pytest.fixture
def hooks():
    pm = PluginManager()
    pm.load("", extra=[("office365", hub_office365.hooks)])
    return pm.hook


@pytest.fixture
def context(office365_sandbox, office365_webhook_receiver) -> ProviderContext:
    return ProviderContext(name="office365", config=office365_sandbox.config(), base_url=office365_webhook_receiver.url,
                           allow_private_hosts=True)


@pytest.fixture
def remote(office365_sandbox, office365_webhook_receiver) -> Office365Remote:
    return Office365Remote(office365_sandbox, receiver=office365_webhook_receiver)


@pytest.fixture
def state(office365_sandbox):
    return office365_sandbox.state


@pytest.fixture
def account(hooks, context, remote) -> AccountHandle:
    return connect_account(hooks, context, remote)


@pytest.fixture
def route(hooks, office365_webhook_receiver, context):
    """Make the webhook receiver answer through the plugin, with the channels the test lists."""
    channels: list = []
    anyone = AccountHandle(id=0, provider="office365", email="", credentials={}, settings={}, context=context)

    def handle(hook_request):
        try:
            return hooks.hub_handle_webhook(account=anyone, request=hook_request, channels=list(channels))
        except WebhookRejected:
            return WebhookResult(status=403)

    office365_webhook_receiver.handler = handle
    return channels
