"""Shared fixtures for the IMAP plugin's tests: a mailbox on each peer and how the plugin reaches it.

The peers themselves (``dovecot``, ``pymap``, ``smtp_server``) come from :mod:`hub.testing.peers`.
"""

from __future__ import annotations

import pytest
from hub_imap.testing import account_for, connect_params, context_for

from hub.types import AccountHandle, ProviderContext

from hub_imap import session


@pytest.fixture(autouse=True)
def _no_leftover_connections():
    yield
    session.close_all()


@pytest.fixture(params=["dovecot", "pymap"])
def peer(request):
    """Each IMAP peer in turn: Dovecot (CONDSTORE/QRESYNC) and pymap (plain IMAP)."""
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
