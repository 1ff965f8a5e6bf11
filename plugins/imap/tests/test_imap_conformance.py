"""The provider contract (hub.testing.ProviderTests) against real servers.

* Dovecot: implicit-TLS IMAP with CONDSTORE/QRESYNC and SPECIAL-USE, SMTP over STARTTLS;
* pymap: STARTTLS IMAP without CONDSTORE/QRESYNC/SPECIAL-USE (the plain-IMAP fallback), SMTP over TLS;
* Cyrus: STARTTLS IMAP with folders under ``INBOX.`` (separator ``.``), IDLE through idled, SMTP over TLS.
"""

from __future__ import annotations

import pytest

from hub.testing import ProviderTests

import hub_imap.hooks
from hub_imap.testing import ImapRemote, connect_params, context_for


class _ImapProviderTests(ProviderTests):
    provider_name = "imap"
    supports_mail = True
    supports_send = True
    revokes_on_disconnect = False  # a password cannot be revoked by the hub
    imap_security = "starttls"
    smtp_security = "starttls"
    #: the peer fixture this class runs against
    peer_name = ""

    @pytest.fixture
    def peer(self, request):
        return request.getfixturevalue(self.peer_name)

    @pytest.fixture
    def provider_plugin(self):
        return hub_imap.hooks

    @pytest.fixture
    def mail_user(self, peer):
        return peer.add_user()

    @pytest.fixture
    def remote(self, peer, mail_user):
        return ImapRemote(peer, mail_user)

    @pytest.fixture
    def context(self, peer, smtp_server):
        return context_for(peer, smtp_server)

    @pytest.fixture
    def good_connect_params(self, peer, mail_user, smtp_server):
        return connect_params(peer, mail_user, smtp_server, imap_security=self.imap_security,
                              smtp_security=self.smtp_security)

    @pytest.fixture
    def bad_connect_params(self, good_connect_params):
        return {**good_connect_params, "password": "wrong-password-123"}


class TestDovecot(_ImapProviderTests):
    imap_security = "ssl"
    smtp_security = "starttls"
    peer_name = "dovecot"


class TestPymap(_ImapProviderTests):
    imap_security = "starttls"
    smtp_security = "ssl"
    peer_name = "pymap"


class TestCyrus(_ImapProviderTests):
    imap_security = "starttls"
    smtp_security = "ssl"
    peer_name = "cyrus"
