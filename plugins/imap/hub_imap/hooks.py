"""The IMAP/SMTP provider's hook implementations — thin: each checks the provider name and delegates.

Registered through the entry point ``crm_hub = imap = hub_imap.hooks``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable

from hub.plugins import hookimpl
from hub.types import (
    MAIL,
    SEND,
    AccountHandle,
    ConfigField,
    ConnectResult,
    MailPage,
    MailPartitions,
    OutgoingMessage,
    ProviderContext,
    ProviderInfo,
    SentMessage,
)

from hub_imap import connect, session, smtp
from hub_imap.config import MailboxConfig
from hub_imap.errors import translated
from hub_imap.folders import selectable_mailboxes
from hub_imap.sync import partitions, sync_page

NAME = "imap"

PROVIDER = ProviderInfo(
    name=NAME,
    label="IMAP/SMTP",
    capabilities=frozenset({MAIL, SEND}),
    connect_kind="form",
    config_schema=(
        ConfigField(
            "ca_certificates", "Extra trusted CA certificates (PEM)", kind="pem",
            help="For on-premises mail servers whose certificate comes from your company's own CA: paste the "
                 "CA certificate(s) in PEM form, or the path of a PEM file on the hub's server.",
        ),
    ),
    connect_form=connect.CONNECT_FORM,
    description="Any mailbox over IMAP and SMTP: Gmail, Outlook.com, iCloud, Yahoo, Fastmail or your own server. "
                "New mail arrives through IMAP IDLE where the server offers it.",
)


@hookimpl
def hub_register_providers(register: Callable[[ProviderInfo], None]) -> None:
    register(PROVIDER)


@hookimpl
def hub_connect(context: ProviderContext, params: dict[str, Any]) -> ConnectResult | None:
    return connect.connect(context, params)


@hookimpl
def hub_sync_mail(
    account: AccountHandle, folder: str, cursor: str | None, limit: int, since: datetime
) -> MailPage | None:
    return sync_mail(account, folder, cursor, limit, since)


@hookimpl
def hub_send_mail(account: AccountHandle, message: OutgoingMessage) -> SentMessage | None:
    return smtp.send_mail(account, message)


@hookimpl
def hub_disconnect(account: AccountHandle) -> bool | None:
    # a password cannot be revoked from here; dropping our connections is all there is to release
    session.release(account.id)
    return True


def sync_mail(account: AccountHandle, folder: str, cursor: str | None, limit: int, since: datetime | None,
              config: MailboxConfig | None = None) -> MailPage:
    """One page of mail for ``folder`` over the account's reused connection.

    The connection stays in :mod:`hub_imap.session`'s pool after the last page too: the account's
    other folder, and the next poll in a long-lived worker, reuse it instead of logging in again
    (a login is most of a no-op sync); the pool logs out of it after a minute unused.

    Also the entry point for plugins that reuse IMAP (iCloud) with their own ``config``.
    """
    config = config or MailboxConfig.for_account(account)
    with translated(config, config.imap, "IMAP"):
        return session.with_session(account.id, config, account.context,
                                    lambda client: sync_page(client, folder, cursor, limit, since, config.sent_folder))


@hookimpl
def hub_mail_partitions(account: AccountHandle, folder: str, since: datetime, parts: int) -> MailPartitions | None:
    config = MailboxConfig.for_account(account)
    with translated(config, config.imap, "IMAP"):
        return session.with_session(account.id, config, account.context,
                                    lambda client: partitions(client, folder, since, parts, config.sent_folder))


@hookimpl
def hub_mail_folders(account: AccountHandle) -> list[str] | None:
    config = MailboxConfig.for_account(account)
    with translated(config, config.imap, "IMAP"):
        return session.with_session(account.id, config, account.context, selectable_mailboxes)


@hookimpl
def hub_push_listeners(accounts, on_change):
    """One IDLE listener watching every IMAP account's inbox; new mail asks the core for a sync."""
    from hub_imap.idle import IdleListener

    return [IdleListener(lambda: accounts(NAME), lambda account_id, folder: on_change(account_id, "mail", folder))]
