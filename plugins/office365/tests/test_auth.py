"""Connecting, token rotation and AADSTS errors, plugin against sandbox."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest

from hub import oauth
from hub.exceptions import AuthenticationFailed, AuthExpired, ConfigError, NotSupported

from hub_office365.auth import AADSTS_HINTS, SCOPES
from hub_office365.testing import connect_account as connect
from hub_office365.testing import expire_token


def test_authorization_url_asks_for_the_minimal_scopes(hooks, context):
    url = hooks.hub_authorization_url(context=context, start=oauth.start("http://127.0.0.1/cb", "a@b.example"))
    assert url.startswith(context.config["login_base"] + "/common/oauth2/v2.0/authorize?")
    assert "scope=offline_access+User.Read+Calendars.ReadWrite+Mail.Read+Mail.Send+MailboxSettings.Read" in url
    assert "login_hint=a%40b.example" in url
    assert SCOPES == ["offline_access", "User.Read", "Calendars.ReadWrite", "Mail.Read", "Mail.Send",
                      "MailboxSettings.Read"]


def test_connect_stores_token_and_user(account, state):
    assert account.email == "alice@contoso.example"
    assert account.settings["user_id"] == state.mailbox(account.email).user_id
    token = account.credentials["token"]
    assert token["refresh_token"] and token["access_token"] and token["expires_at"] > time.time()
    assert token["refresh_token"] not in repr(account)


def test_missing_client_id_is_a_config_error(hooks, context):
    context.config.pop("client_id")
    with pytest.raises(ConfigError) as caught:
        hooks.hub_authorization_url(context=context, start=oauth.start("http://127.0.0.1/cb"))
    assert caught.value.fix


def test_declined_consent_fails_with_a_fix(hooks, context):
    with pytest.raises(AuthenticationFailed) as caught:
        hooks.hub_connect(context=context, params={"error": "access_denied",
                                                   "error_description": "AADSTS65004: User declined"})
    assert type(caught.value) is AuthenticationFailed and "again" in caught.value.fix


def test_on_premises_mailbox_is_not_supported(hooks, context, remote, state):
    state.add_mailbox("onprem@contoso.example", on_premises=True)
    with pytest.raises(NotSupported) as caught:
        connect(hooks, context, remote, "onprem@contoso.example")
    assert "on-premises Exchange" in caught.value.message
    assert "IMAP" in caught.value.fix


def test_mailbox_moved_on_premises_later(hooks, account, state):
    state.mailbox(account.email).on_premises = True
    with pytest.raises(NotSupported):
        hooks.hub_list_calendars(account=account)
    with pytest.raises(NotSupported):
        hooks.hub_sync_mail(account=account, folder="inbox", cursor=None, limit=10,
                            since=datetime.now(timezone.utc) - timedelta(days=1))


def test_rotated_refresh_token_is_saved_every_time(hooks, account, state):
    tokens = [account.credentials["token"]["refresh_token"]]
    for _ in range(3):
        expire_token(account)
        assert hooks.hub_list_calendars(account=account)
        tokens.append(account.credentials["token"]["refresh_token"])
        assert account.saved[-1]["token"]["refresh_token"] == tokens[-1], "the new refresh token reached the core"
    assert len(set(tokens)) == 4, "every refresh rotated the token"
    # the sandbox refuses rotated-out refresh tokens, so this only works because each new one was kept


def test_access_token_revoked_early_refreshes_once(hooks, account, state):
    state.expire_access_tokens()  # the token looks fresh to the client but Graph says 401
    assert hooks.hub_list_calendars(account=account)
    assert len(account.saved) == 1


@pytest.mark.parametrize("code, words", [(50173, "password"), (700082, "90 days"), (65001, "consent"),
                                         (50076, "multi-factor"), (70043, "sign-in frequency")])
def test_revoked_grant_gives_auth_expired_with_its_hint(hooks, account, state, code, words):
    state.revoke_grant(account.email, code)
    with pytest.raises(AuthExpired) as caught:
        hooks.hub_fetch_events(account=account, calendar_id=state.mailbox(account.email).default_calendar_id,
                               cursor=None, window=_window())
    assert f"AADSTS{code}" in caught.value.message and words in caught.value.message
    assert caught.value.fix == AADSTS_HINTS[code][1]


def _window():
    from hub.types import Window

    now = datetime.now(timezone.utc)
    return Window(now, now + timedelta(days=30))
