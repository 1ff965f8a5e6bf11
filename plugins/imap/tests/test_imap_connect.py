"""Connecting: each way a connect can go wrong gives its own error class and a message with a fix."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from hub.exceptions import (
    AuthenticationFailed,
    AuthExpired,
    ConnectFailed,
    HostNotAllowed,
    ValidationError,
)
from hub.testing.peers.base import free_port
from hub.types import AccountHandle, ProviderContext

import hub_imap.hooks
from hub_imap.config import MailboxConfig
from hub_imap.presets import PRESETS
from hub_imap.testing import account_for, connect_params, context_for


def connect(context, params):
    return hub_imap.hooks.hub_connect(context=context, params=params)


@pytest.fixture
def params(dovecot, mail_user_dovecot, smtp_server):
    return connect_params(dovecot, mail_user_dovecot, smtp_server, imap_security="ssl", smtp_security="starttls")


@pytest.fixture
def mail_user_dovecot(dovecot):
    return dovecot.add_user()


@pytest.fixture
def context(dovecot, smtp_server):
    return context_for(dovecot, smtp_server)


def test_good_credentials_store_the_secret_apart(context, params):
    result = connect(context, params)
    assert result.email == params["email"]
    assert result.credentials == {"auth": "password", "password": params["password"]}
    assert params["password"] not in str(result.settings)
    assert result.settings["imap_host"] == "127.0.0.1" and result.settings["username"] == params["username"]


def test_wrong_password(context, params):
    with pytest.raises(AuthenticationFailed) as caught:
        connect(context, {**params, "password": "not-the-password"})
    error = caught.value
    assert type(error) is AuthenticationFailed
    assert error.message == "Authentication failed. Please try again."
    assert "password" in error.fix and "not-the-password" not in error.message + error.fix


@pytest.mark.parametrize("preset", ["gmail", "icloud", "yahoo"])
def test_wrong_password_at_a_provider_that_wants_app_passwords(context, params, preset):
    # the preset's quirks, but the servers pointed at the local Dovecot
    with pytest.raises(AuthenticationFailed) as caught:
        connect(context, {**params, "preset": preset, "password": "my-normal-password"})
    assert caught.value.message.startswith("Authentication failed. Please try again.")
    assert "2-step verification: create an app password" in caught.value.fix


def test_wrong_smtp_password(context, params):
    with pytest.raises(AuthenticationFailed) as caught:
        connect(context, {**params, "smtp_password": "stale-smtp-secret"})
    assert type(caught.value) is AuthenticationFailed
    assert "SMTP" in caught.value.message


def test_wrong_port(context, params):
    with pytest.raises(ConnectFailed) as caught:
        connect(context, {**params, "imap_port": str(free_port())})
    error = caught.value
    assert type(error) is ConnectFailed
    assert "refused the connection" in error.message and "993" in error.fix


def test_tls_on_a_plain_port(dovecot, context, params):
    with pytest.raises(ConnectFailed) as caught:
        connect(context, {**params, "imap_port": str(dovecot.port), "imap_security": "ssl"})
    assert type(caught.value) is ConnectFailed
    assert "secure connection" in caught.value.message and "security setting" in caught.value.fix


def test_private_host_not_allowed(dovecot, smtp_server, params):
    context = context_for(dovecot, smtp_server, allow_private=False)
    with pytest.raises(HostNotAllowed) as caught:
        connect(context, {**params, "imap_port": "993"})
    assert type(caught.value) is HostNotAllowed
    assert "127.0.0.1 is a loopback address" in caught.value.message
    assert "allow private hosts" in caught.value.fix


def test_port_not_allowed_for_public_hosts(dovecot, smtp_server, params):
    context = context_for(dovecot, smtp_server, allow_private=False)
    with pytest.raises(HostNotAllowed) as caught:
        connect(context, {**params, "imap_host": "8.8.8.8", "imap_port": "6379"})
    assert "port 6379" in caught.value.message


def test_untrusted_certificate(dovecot, params):
    context = ProviderContext(name="imap", config={}, base_url="http://x", allow_private_hosts=True)
    with pytest.raises(ConnectFailed) as caught:
        connect(context, params)
    assert "TLS certificate of 127.0.0.1 could not be verified" in caught.value.message
    assert "CA" in caught.value.fix


def test_unencrypted_only_for_allowed_private_servers(dovecot, smtp_server, params):
    plain = {**params, "imap_port": str(dovecot.port), "imap_security": "none"}
    with pytest.raises(ValidationError) as caught:
        connect(context_for(dovecot, smtp_server, allow_private=False), plain)
    assert caught.value.field == "imap_security"
    assert connect(context_for(dovecot, smtp_server), plain).email == params["email"]


def test_form_validation(context, params):
    with pytest.raises(ValidationError) as caught:
        connect(context, {**params, "email": "no-at-sign"})
    assert caught.value.field == "email"
    with pytest.raises(ValidationError) as caught:
        connect(context, {**params, "imap_host": "", "preset": "custom"})
    assert caught.value.field == "imap_host"
    with pytest.raises(ValidationError):
        connect(context, {**params, "preset": "aol-1999"})


def test_presets_fill_the_servers():
    config = MailboxConfig.from_params({"preset": "outlook", "email": "ana@contoso.com", "password": "pw"})
    assert (config.imap.host, config.imap.port, config.imap.security) == ("outlook.office365.com", 993, "ssl")
    assert (config.smtp.host, config.smtp.port, config.smtp.security) == ("smtp.office365.com", 587, "starttls")
    assert config.username == "ana@contoso.com"
    for preset in PRESETS.values():
        config = MailboxConfig.from_params({"preset": preset.name, "email": "x@example.com", "password": "pw"})
        assert config.imap.port in (993, 143) and config.smtp.port in (465, 587)
        assert "pw" not in repr(config)


def test_xoauth2_login(dovecot, smtp_server, mail_user_dovecot, context, params):
    user = mail_user_dovecot
    smtp_server.add_token(user.username)
    token = dovecot.add_token(user)
    smtp_server.tokens[token] = user.username  # the same Google/Microsoft token works for both
    oauth = {**params, "auth": "xoauth2", "access_token": token, "password": ""}
    result = connect(context, oauth)
    assert result.credentials == {"auth": "xoauth2", "access_token": token}
    account = AccountHandle(id=31, provider="imap", email=result.email, credentials=result.credentials,
                            settings=result.settings, context=context)
    page = hub_imap.hooks.hub_sync_mail(account=account, folder="inbox", cursor=None, limit=10,
                                        since=datetime.now(timezone.utc) - timedelta(days=1))
    assert page.done

    dovecot.revoke_tokens(user)
    # the session logged in with the token outlives it (as at Gmail); the next login is refused
    hub_imap.session.release(account.id)
    with pytest.raises(AuthExpired) as caught:
        hub_imap.hooks.hub_sync_mail(account=account, folder="inbox", cursor=None, limit=10,
                                     since=datetime.now(timezone.utc) - timedelta(days=1))
    assert "Sign in to the account again" in caught.value.fix


def test_changed_password_later_is_auth_expired(dovecot, smtp_server, mail_user_dovecot, context, params):
    account = account_for(context, params)
    account.credentials = {**account.credentials, "password": "the-old-one"}
    with pytest.raises(AuthExpired) as caught:
        hub_imap.hooks.hub_sync_mail(account=account, folder="inbox", cursor=None, limit=10,
                                     since=datetime.now(timezone.utc))
    assert "reconnect" in caught.value.fix.lower()


def test_disconnect_is_true(context, params):
    account = account_for(context, params)
    assert hub_imap.hooks.hub_disconnect(account=account) is True
