"""Shared fixtures for the IMAP plugin's tests: a mailbox on each peer and how the plugin reaches it.

The peers themselves (``dovecot``, ``pymap``, ``cyrus``, ``smtp_server``) come from :mod:`hub.testing.peers`.
Tests name mailboxes through the peer (``peer.sent_folder``, ``peer.mailbox("sent")``): servers name
them differently (Cyrus: ``INBOX.Sent``).
"""

from __future__ import annotations

import pytest

from hub.types import AccountHandle, ProviderContext

from hub_imap import session
from hub_imap.testing import account_for, connect_params, context_for


@pytest.fixture(autouse=True)
def _no_leftover_connections():
    yield
    session.close_all()


@pytest.fixture(params=["dovecot", "pymap", "cyrus"])
def peer(request):
    """Each IMAP peer in turn: Dovecot (CONDSTORE/QRESYNC), pymap (plain IMAP), Cyrus (``INBOX.`` namespace)."""
    return request.getfixturevalue(request.param)


@pytest.fixture
def mail_user(peer):
    return peer.add_user()


@pytest.fixture
def imap_context(peer, smtp_server) -> ProviderContext:
    return context_for(peer, smtp_server)


@pytest.fixture
def imap_account(peer, mail_user, smtp_server, imap_context) -> AccountHandle:
    """A connected account on ``peer`` (STARTTLS for IMAP, implicit TLS for SMTP)."""
    return account_for(imap_context, connect_params(peer, mail_user, smtp_server, imap_security="starttls",
                                                    smtp_security="ssl"))
