"""Connecting an iCloud account and opening its CalDAV connection later.

Connecting checks, in this order, what a person most likely got wrong: the Apple ID's form, the
app-specific password's shape (with how to create one), then the credentials for real — CalDAV
discovery of the principal and calendar home (the CalDAV plugin's code, with Apple's hints for a
refused password), and a login to iCloud Mail through the IMAP plugin.
What discovery found is stored in the account's settings, so later hooks go straight to the
calendar home on its own host.

Public API: :func:`connect`, :func:`open_connection`, :func:`refresh_home`.
"""

from __future__ import annotations

from typing import Any

from hub.exceptions import ValidationError
from hub.types import AccountHandle, ConnectResult, ProviderContext

from hub_caldav.connection import CalDAVConnection
from hub_caldav.discovery import discover, list_calendars
from hub_caldav.presets import APPLE_HINTS
from hub_icloud import app_password, mail
from hub_icloud.config import ICloudConfig


def connect(context: ProviderContext, params: dict[str, Any]) -> ConnectResult:
    """Verify an Apple ID and app-specific password; return what the hub stores.

    :raises ValidationError: the Apple ID is not an e-mail address.
    :raises AuthenticationFailed: the password is not app-password-shaped, or iCloud refuses it.
    :raises ConnectFailed: iCloud cannot be reached (``HostNotAllowed`` for a refused address).
    """
    email = str(params.get("email") or params.get("username") or "").strip()
    if "@" not in email:
        raise ValidationError("Enter your Apple ID, the e-mail address you sign in to iCloud with.",
                              fix="For example ana@icloud.com.", field="email")
    password = app_password.normalize(str(params.get("password") or ""))
    config = ICloudConfig.from_context(context)
    with CalDAVConnection(config.caldav_url, email, password, allow_private=config.allow_private,
                          connecting=True, ca_certificates=config.ca_certificates, auth="basic",
                          hints=APPLE_HINTS) as connection:
        found = discover(connection)
        connection.rebase(found.home_url)
        list_calendars(connection, found.home_url)  # the home must answer on its own host too
    mail.verify_login(context, email, password)
    return ConnectResult(
        email=email,
        credentials={"password": password},  # the Apple ID is the account's e-mail address
        settings={"principal_url": found.principal_url, "calendar_home_url": found.home_url},
    )


def open_connection(account: AccountHandle) -> CalDAVConnection:
    """The CalDAV connection of a stored account, based at its calendar home."""
    config = ICloudConfig.from_context(account.context)
    home = account.settings.get("calendar_home_url") or config.caldav_url
    return CalDAVConnection(home, account.email, account.credentials["password"],
                            allow_private=config.allow_private, ca_certificates=config.ca_certificates,
                            auth="basic", hints=APPLE_HINTS)


def refresh_home(account: AccountHandle) -> str:
    """Discover the calendar home again (iCloud moved the account to another host) and store it."""
    config = ICloudConfig.from_context(account.context)
    with CalDAVConnection(config.caldav_url, account.email, account.credentials["password"],
                          allow_private=config.allow_private, ca_certificates=config.ca_certificates,
                          auth="basic", hints=APPLE_HINTS) as fresh:
        found = discover(fresh)
    account.update_settings(principal_url=found.principal_url, calendar_home_url=found.home_url)
    return found.home_url
