"""The provider conformance suite for the generic CalDAV provider, against every CalDAV peer.

Each server shape runs the whole suite, connected with only a URL, a user name and a password:

* ``radicale`` — Radicale at its root URL (sync tokens, basic auth);
* ``radicale-no-sync-token`` — Radicale behind a front without RFC 6578 (ctag/etag fallback);
* ``xandikos`` — Xandikos behind a Basic login (412 for an unknown sync token);
* ``xandikos-digest`` — the same behind a Digest login;
* ``xandikos-truncated`` — sync-collection replies cut to one member with a 507 marker;
* ``cyrus`` — Cyrus IMAP's CalDAV module at its DAV root (403 for an invalid sync token).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from hub.testing.conformance import ProviderTests

from hub_caldav import hooks
from hub_caldav.testing import CalDAVRemote, CyrusCalDAV, context, etag_cursor_outlives_expiry


@dataclass
class Server:
    url: str
    peer: object
    user: object
    etag_only: bool = False


def _radicale(radicale, **front) -> Server:
    user = radicale.add_user()
    radicale.make_calendar(user, "home", "Home")
    url = radicale.front(**front).url if front else radicale.url
    return Server(url, radicale, user, etag_only=not front.get("sync_tokens", True))


def _xandikos(xandikos, **options) -> Server:
    user = xandikos.add_user(**options)
    return Server(user.url, xandikos, user, etag_only=not options.get("sync_tokens", True))


def _cyrus(cyrus) -> Server:
    peer = CyrusCalDAV(cyrus)
    return Server(peer.url, peer, peer.add_user())


SHAPES = {
    "cyrus": lambda request: _cyrus(request.getfixturevalue("cyrus")),
    "radicale": lambda request: _radicale(request.getfixturevalue("radicale")),
    "radicale-no-sync-token": lambda request: _radicale(request.getfixturevalue("radicale"), sync_tokens=False),
    "xandikos": lambda request: _xandikos(request.getfixturevalue("xandikos")),
    "xandikos-digest": lambda request: _xandikos(request.getfixturevalue("xandikos"), auth="digest"),
    "xandikos-truncated": lambda request: _xandikos(request.getfixturevalue("xandikos"), sync_page_size=1),
}


@pytest.fixture(scope="module", params=sorted(SHAPES))
def server(request) -> Server:
    return SHAPES[request.param](request)


class TestCalDAVProvider(ProviderTests):
    provider_name = "caldav"
    supports_calendar = True
    supports_free_busy = True
    revokes_on_disconnect = False  # a password can only be changed by its owner

    @pytest.fixture
    def provider_plugin(self):
        return hooks

    @pytest.fixture
    def context(self):
        return context()

    @pytest.fixture
    def remote(self, server):
        return CalDAVRemote(server.peer, server.user)

    @pytest.fixture
    def good_connect_params(self, server):
        return {"server": server.url, "username": server.user.name, "password": server.user.password}

    @pytest.fixture
    def bad_connect_params(self, server):
        return {"server": server.url, "username": server.user.name, "password": "not-the-password"}

    def test_expired_cursor(self, hooks, account, calendar_id, remote, window, server):
        if not server.etag_only:
            return super().test_expired_cursor(hooks, account, calendar_id, remote, window)
        etag_cursor_outlives_expiry(self, hooks, account, calendar_id, remote, window)
