"""The hub's conformance suite, run against the calendar-feed provider — with no override."""

import pytest

from hub.testing import ProviderTests

import hub_ics.hooks
from hub_ics.testing import FeedRemote


class TestIcs(ProviderTests):
    provider_name = "ics"
    supports_calendar_read = True
    server_cursors = False  # the cursor is the feed's ETag and what the hub saw: nothing expires
    revokes_on_disconnect = False  # nothing to revoke at a feed

    @pytest.fixture
    def provider_plugin(self):
        return hub_ics.hooks

    @pytest.fixture
    def remote(self, feed_server):
        return FeedRemote(feed_server)

    @pytest.fixture
    def good_connect_params(self, feed_server):
        feed_server.require("reader", "s3cret")
        return {"url": feed_server.url, "username": "reader", "password": "s3cret"}

    @pytest.fixture
    def bad_connect_params(self, feed_server):
        feed_server.require("reader", "s3cret")
        return {"url": feed_server.url, "username": "reader", "password": "wrong password"}
