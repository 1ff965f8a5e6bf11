"""The provider conformance suite for iCloud, against Radicale (CalDAV) and Dovecot + aiosmtpd (mail).

Radicale stands in for iCloud's CalDAV in three shapes, each running the whole suite:

* ``split-host`` — discovery on one host, calendars on another, sync tokens (iCloud's layout);
* ``no-sync-token`` — a server without RFC 6578: the ctag/etag comparison fallback;
* ``truncated`` — sync-collection replies cut to one member with a 507 marker, so every
  incremental sync runs over several pages.
"""

from __future__ import annotations

import pytest

from hub.testing.conformance import ProviderTests
from hub.types import ProviderContext

from hub_caldav.testing import etag_cursor_outlives_expiry
from hub_icloud import hooks
from hub_icloud.testing import RadicaleRemote

FLAVOURS = {
    "split-host": {},
    "no-sync-token": {"sync_tokens": False},
    "truncated": {"sync_page_size": 1},
}


@pytest.fixture(scope="module", params=sorted(FLAVOURS))
def caldav_url(request, radicale) -> str:
    return radicale.split_host(**FLAVOURS[request.param]).url


@pytest.fixture
def flavour(caldav_url, request) -> str:
    return request.node.callspec.params["caldav_url"]


class TestICloudProvider(ProviderTests):
    provider_name = "icloud"
    supports_calendar = True
    supports_free_busy = True
    supports_mail = True
    supports_send = True
    revokes_on_disconnect = False  # an app-specific password can only be revoked by its owner

    @pytest.fixture
    def provider_plugin(self):
        return hooks

    @pytest.fixture
    def context(self, caldav_url, mail):
        return ProviderContext(name="icloud", config={"caldav_url": caldav_url, **mail},
                               base_url="http://127.0.0.1:8000", allow_private_hosts=True)

    @pytest.fixture
    def remote(self, radicale, user, dovecot):
        return RadicaleRemote(radicale, user, dovecot)

    @pytest.fixture
    def good_connect_params(self, user):
        return {"email": user.name, "password": user.password}

    @pytest.fixture
    def bad_connect_params(self, user):
        return {"email": user.name, "password": "wxyz-wxyz-wxyz-wxyz"}

    def test_expired_cursor(self, hooks, account, calendar_id, remote, window, flavour):
        if flavour != "no-sync-token":
            return super().test_expired_cursor(hooks, account, calendar_id, remote, window)
        etag_cursor_outlives_expiry(self, hooks, account, calendar_id, remote, window)
