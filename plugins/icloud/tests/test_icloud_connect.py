"""Connecting an iCloud account: app-specific passwords, discovery across hosts, the SSRF guard."""

from __future__ import annotations

import pytest
import requests

from hub.exceptions import AuthenticationFailed, ConnectFailed, HostNotAllowed, ValidationError
from hub.testing.conformance import fetch_all, slot
from hub.testing.peers.base import free_port
from hub.types import AccountHandle, ProviderContext, Window

from hub_icloud.testing import connect


def context(url: str, allow_private: bool = True, **config) -> ProviderContext:
    return ProviderContext(name="icloud", config={"caldav_url": url, **config}, base_url="http://127.0.0.1:8000",
                           allow_private_hosts=allow_private)


@pytest.mark.parametrize("password", ["MyApplePassword1", "abcd-efgh-ijkl", "abcd-efgh-ijkl-mno1", ""])
def test_password_that_is_not_an_app_specific_password(hooks, radicale, user, mail, password):
    with pytest.raises(AuthenticationFailed) as caught:
        hooks.hub_connect(context=context(radicale.url, **mail), params={"email": user.name, "password": password})
    error = caught.value
    assert "app-specific password" in error.message
    assert "appleid.apple.com" in error.fix and "App-Specific Passwords" in error.fix
    assert "two-factor" in error.fix
    assert not password or password not in error.message + error.fix


def test_app_specific_password_typed_with_spaces_and_capitals(hooks, radicale, user, mail):
    typed = user.password.upper().replace("-", " ")
    result = hooks.hub_connect(context=context(radicale.url, **mail), params={"email": user.name, "password": typed})
    assert result.credentials == {"password": user.password}


def test_wrong_app_specific_password(hooks, radicale, user, mail):
    with pytest.raises(AuthenticationFailed) as caught:
        hooks.hub_connect(context=context(radicale.url, **mail),
                          params={"email": user.name, "password": "aaaa-bbbb-cccc-dddd"})
    assert "did not accept" in caught.value.message
    assert "app-specific password" in caught.value.fix and "appleid.apple.com" in caught.value.fix


def test_unknown_apple_id(hooks, radicale, user, mail):
    with pytest.raises(AuthenticationFailed):
        hooks.hub_connect(context=context(radicale.url, **mail),
                          params={"email": "nobody@example.com", "password": user.password})


def test_apple_id_must_be_an_address(hooks, radicale, user, mail):
    with pytest.raises(ValidationError) as caught:
        hooks.hub_connect(context=context(radicale.url, **mail), params={"email": "ana", "password": user.password})
    assert caught.value.field == "email"


def test_calendar_home_on_another_host(hooks, radicale, user, mail):
    front = radicale.split_host()
    first = requests.request("REPORT", f"{front.url}{user.name}/home/", auth=user.auth, timeout=10)
    assert first.status_code == 421, "the first host really serves no calendars"
    front.misdirected.clear()

    account = connect(hooks, front.url, user, **mail)
    assert account.settings["principal_url"].startswith(front.origin)
    home = account.settings["calendar_home_url"]
    assert home.startswith("http://localhost:") and not home.startswith(front.origin)

    calendars = hooks.hub_list_calendars(account=account)
    assert [(c.name, c.is_primary, c.access_role) for c in calendars] == [("Home", True, "owner")], \
        "the VTODO-only Reminders list is left out"
    fetch_all(hooks, account, calendars[0].remote_id, None, Window(*slot(-1, 0)))
    assert front.misdirected == [], "after discovery nothing goes to the first host"


def test_calendar_home_that_moved_is_discovered_again(hooks, radicale, user, mail):
    account = connect(hooks, radicale.split_host().url, user, **mail)
    saved = {}
    account.save_settings = saved.update
    good_home = account.settings["calendar_home_url"]
    account.settings["calendar_home_url"] = good_home + "old-partition/"  # answers 404 now
    calendars = hooks.hub_list_calendars(account=account)
    assert [c.name for c in calendars] == ["Home"]
    assert saved["calendar_home_url"] == good_home


def test_private_address_refused_without_the_admin_setting(hooks, radicale, user, mail):
    with pytest.raises(HostNotAllowed) as caught:
        hooks.hub_connect(context=context(f"https://127.0.0.1:{443}/", allow_private=False, **mail),
                          params={"email": user.name, "password": user.password})
    assert "loopback" in caught.value.message


def test_stored_calendar_home_on_a_private_host_is_refused(hooks, radicale, user, mail):
    # every request of a stored account is guarded, not only the discovery at connect time
    account = connect(hooks, radicale.split_host().url, user, **mail)
    account.context.allow_private_hosts = False
    account.settings["calendar_home_url"] = f"https://127.0.0.1/{user.name}/"
    with pytest.raises(HostNotAllowed):
        hooks.hub_list_calendars(account=account)


def test_plain_http_refused_for_public_servers(hooks, user, mail):
    with pytest.raises(ConnectFailed) as caught:
        hooks.hub_connect(context=context("http://caldav.example.com/", allow_private=False, **mail),
                          params={"email": user.name, "password": user.password})
    assert "HTTPS" in caught.value.message and "https://" in caught.value.fix


def test_server_down(hooks, user, mail):
    with pytest.raises(ConnectFailed) as caught:
        hooks.hub_connect(context=context(f"http://127.0.0.1:{free_port()}/", **mail),
                          params={"email": user.name, "password": user.password})
    assert caught.value.fix


# --- iCloud Mail, through the IMAP plugin ------------------------------------------------------------


def test_mail_uses_icloud_hosts_unless_overridden():
    from hub_icloud.mail import mailbox_config

    account = AccountHandle(id=3, provider="icloud", email="ana@icloud.com", credentials={"password": "abcd-efgh-ijkl-mnop"},
                            settings={}, context=context("https://caldav.icloud.com/", allow_private=False))
    config = mailbox_config(account)
    assert (config.imap.host, config.imap.port, config.imap.security) == ("imap.mail.me.com", 993, "ssl")
    assert (config.smtp.host, config.smtp.port, config.smtp.security) == ("smtp.mail.me.com", 587, "starttls")
    assert (config.username, config.preset) == ("ana@icloud.com", "icloud")

    account.context = context("https://caldav.icloud.com/", imap_host="mail.example.org", smtp_port="465",
                              smtp_security="ssl")
    config = mailbox_config(account)
    assert (config.imap.host, config.smtp.host, config.smtp.port, config.smtp.security) == (
        "mail.example.org", "smtp.mail.me.com", 465, "ssl")


def test_mail_login_refused_although_calendars_accept(hooks, radicale, dovecot, mail):
    user = radicale.add_user()  # CalDAV knows the password, the mail server a different one
    radicale.make_calendar(user, "home")
    dovecot.add_user(user.name, "pqrs-pqrs-pqrs-pqrs")
    with pytest.raises(AuthenticationFailed) as caught:
        hooks.hub_connect(context=context(radicale.url, **mail), params={"email": user.name, "password": user.password})
    assert "app-specific password" in caught.value.fix
