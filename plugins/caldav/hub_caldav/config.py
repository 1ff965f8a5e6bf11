"""The generic CalDAV provider's registration: its connect form and the admin configuration.

Calendar-only: the account is a CalDAV login and nothing else (mail, if wanted, is connected
separately through the IMAP provider).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hub.types import CALENDAR, FREE_BUSY, ConfigField, ConnectField, ProviderContext, ProviderInfo

from hub_caldav.connection import AUTH_TYPES
from hub_caldav.presets import PRESETS

NAME = "caldav"

CONFIG_SCHEMA = (
    ConfigField("dns_server", "Name server for service discovery",
                help="host:port of the DNS server asked for _caldavs._tcp records. Leave empty to use the system's."),
    ConfigField("ca_certificates", "Extra CA certificates",
                help="PEM text or a file path, only for servers with a private certificate authority."),
)

CONNECT_FORM = (
    ConnectField("email", "E-mail address", kind="email",
                 help="The address of the calendar's owner. With no server below, the server is found from it."),
    ConnectField("server", "Server", required=False,
                 help="The CalDAV URL (https://dav.example.com/dav/) or host name. Leave empty to find it "
                      "from your e-mail address."),
    ConnectField("preset", "Service", kind="select", required=False, choices=tuple(p.name for p in PRESETS),
                 help="Pick yours if it is listed; for self-hosted ones (Nextcloud, Baïkal …) enter the host above."),
    ConnectField("username", "User name", required=False, help="Leave empty to sign in with the e-mail address."),
    ConnectField("password", "Password", kind="password",
                 help="Your password, or an app password if your provider asks for one for other apps."),
    ConnectField("auth", "Authentication", kind="select", required=False, choices=AUTH_TYPES,
                 help="Leave empty to use what the server asks for."),
)

PROVIDER = ProviderInfo(
    name=NAME,
    label="CalDAV",
    capabilities=frozenset({CALENDAR, FREE_BUSY}),
    connect_kind="form",
    config_schema=CONFIG_SCHEMA,
    connect_form=CONNECT_FORM,
    description="Any CalDAV calendar: Nextcloud, Fastmail, Radicale, Baïkal, SOGo, Zimbra, Cyrus, mailbox.org, "
                "Posteo … with a server URL or just your e-mail address. Calendars only; add mail through IMAP.",
)


@dataclass(frozen=True)
class CalDAVConfig:
    """The provider-wide settings an administrator entered."""

    dns_server: str | None = None
    #: PEM text or a path; ``None`` trusts the system's certificate store
    ca_certificates: str | None = None
    #: the administrator allows private hosts (on-premises servers, tests)
    allow_private: bool = False

    @classmethod
    def from_context(cls, context: ProviderContext) -> "CalDAVConfig":
        values: dict[str, Any] = {k: v for k, v in (context.config or {}).items() if v not in (None, "")}
        return cls(dns_server=values.get("dns_server"), ca_certificates=values.get("ca_certificates"),
                   allow_private=bool(context.allow_private_hosts))
