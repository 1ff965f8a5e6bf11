"""Shared fixtures of the iCloud plugin's tests. The peers (``radicale``, ``dovecot``,
``smtp_server``) come from :mod:`hub.testing.peers`; helpers from :mod:`hub_icloud.testing`."""

from __future__ import annotations

import pytest

from hub_icloud.testing import mail_config, new_user, plugin_hooks
from hub_imap import session as imap_session


@pytest.fixture(autouse=True)
def _no_leftover_mail_connections():
    yield
    imap_session.close_all()


@pytest.fixture
def hooks():
    """The hooks of a real plugin manager holding only the iCloud plugin."""
    return plugin_hooks()


@pytest.fixture
def user(radicale, dovecot, smtp_server):
    """A fresh Apple ID: Radicale user with Home and a VTODO-only Reminders list, mailbox, SMTP login."""
    return new_user(radicale, dovecot, smtp_server)


@pytest.fixture
def mail(dovecot, smtp_server) -> dict[str, str]:
    """The provider configuration that points iCloud Mail at Dovecot and aiosmtpd."""
    return mail_config(dovecot, smtp_server)
