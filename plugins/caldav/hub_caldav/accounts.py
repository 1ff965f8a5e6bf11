"""Connecting a CalDAV account and opening its connection later.

Connect takes an e-mail address, a server (URL, host name, or nothing), an optional preset and
user name, a password, and optionally the auth scheme. Discovery (:mod:`hub_caldav.locate`, then
principal → calendar home) runs with those credentials; what it found is stored in the account's
settings so later hooks go straight to the calendar home. Nothing else is asked: a calendar-only
account needs no mail login.

Public API: :func:`connect`, :func:`open_connection`, :func:`refresh_home`, :func:`hints_for`.
"""

from __future__ import annotations

from typing import Any

from hub.exceptions import ValidationError
from hub.types import AccountHandle, ConnectResult, ProviderContext

from hub_caldav import locate, presets
from hub_caldav.config import CalDAVConfig
from hub_caldav.connection import AUTH_TYPES, AuthHints, CalDAVConnection
from hub_caldav.discovery import calendar_address, discover_first, list_calendars


def connect(context: ProviderContext, params: dict[str, Any]) -> ConnectResult:
    """Find the account's calendar home with its credentials; return what the hub stores.

    :raises ValidationError: no address and no server, an unknown preset or auth scheme.
    :raises AuthenticationFailed: the server refused the user name and password.
    :raises ConnectFailed: no CalDAV server answered where discovery looked (the message names them).
    """
    email = str(params.get("email") or "").strip()
    server = str(params.get("server") or "").strip()
    username = str(params.get("username") or "").strip() or email
    password = str(params.get("password") or "")
    auth = str(params.get("auth") or "").strip().lower() or None
    preset_name = str(params.get("preset") or "").strip()
    if not email and not server:
        raise ValidationError("Enter your e-mail address or the server's address.", field="email")
    if not username:
        raise ValidationError("Enter the user name.", field="username")
    if auth is not None and auth not in AUTH_TYPES:
        raise ValidationError(f"Unknown authentication {auth!r}.", fix="Choose basic or digest, or leave it empty.",
                              field="auth")
    preset = presets.by_name(preset_name)
    if preset_name and preset is None:
        raise ValidationError(f"Unknown service {preset_name!r}.", field="preset")
    if preset is not None and preset.needs_host and not server:
        raise ValidationError(f"Enter the host name of your {preset.label} server.",
                              fix="For example cloud.example.com.", field="server")
    config = CalDAVConfig.from_context(context)
    urls, preset = locate.start_urls(server, email, preset, config.dns_server, https=not config.allow_private)
    settings = {"server": server, "username": username, "auth": auth or "", "preset": preset.name if preset else ""}
    with CalDAVConnection(urls[0], username, password, allow_private=config.allow_private, connecting=True,
                          ca_certificates=config.ca_certificates, auth=auth, hints=hints_for(settings)) as connection:
        found = discover_first(connection, urls)
        connection.rebase(found.home_url)
        list_calendars(connection, found.home_url)  # the home must answer on its own host too
        # later connections send the scheme the server asked for right away: no 401 round trip each
        settings["auth"] = connection.auth or settings["auth"]
        address = email if "@" in email else username if "@" in username else None
        if address is None:  # a bare user name: the address invitations name this user by
            address = calendar_address(connection, found.principal_url) or email or username
    return ConnectResult(
        email=address,
        credentials={"password": password},
        settings={**settings, "principal_url": found.principal_url, "calendar_home_url": found.home_url},
    )


def hints_for(settings: dict[str, Any]) -> AuthHints:
    """The words for a refused password: the preset's, else the generic ones."""
    preset = presets.by_name(settings.get("preset"))
    return preset.hints if preset else AuthHints()


def open_connection(account: AccountHandle, url: str | None = None) -> CalDAVConnection:
    """The CalDAV connection of a stored account, based at its calendar home (or ``url``)."""
    config = CalDAVConfig.from_context(account.context)
    settings = account.settings
    return CalDAVConnection(url or settings["calendar_home_url"], settings.get("username") or account.email,
                            account.credentials["password"], allow_private=config.allow_private,
                            ca_certificates=config.ca_certificates, auth=settings.get("auth") or None,
                            hints=hints_for(settings))


def refresh_home(account: AccountHandle) -> str:
    """Discover the calendar home again (the server moved it) from the stored principal and store it."""
    principal = account.settings["principal_url"]
    with open_connection(account, principal) as fresh:
        found = discover_first(fresh, [principal])
    account.update_settings(principal_url=found.principal_url, calendar_home_url=found.home_url)
    return found.home_url
