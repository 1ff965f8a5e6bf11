"""iCloud's settings: the provider registration, the connect form and the hosts the plugin talks to.

iCloud's hosts are fixed (CalDAV at ``caldav.icloud.com``, mail at ``imap.mail.me.com`` /
``smtp.mail.me.com``); an administrator can point them elsewhere in the provider configuration,
which is how the tests reach Radicale and Dovecot instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hub.types import CALENDAR, FREE_BUSY, MAIL, SEND, ConfigField, ConnectField, ProviderContext, ProviderInfo

from hub_caldav.presets import by_name

NAME = "icloud"

DEFAULT_CALDAV_URL = by_name("icloud").url  # iCloud is a preset of the CalDAV provider
IMAP_HOST, IMAP_PORT, IMAP_SECURITY = "imap.mail.me.com", 993, "ssl"
SMTP_HOST, SMTP_PORT, SMTP_SECURITY = "smtp.mail.me.com", 587, "starttls"

CONFIG_SCHEMA = (
    ConfigField("caldav_url", "CalDAV URL", default=DEFAULT_CALDAV_URL, kind="url",
                help="Where calendar discovery starts. Leave the default for iCloud."),
    ConfigField("imap_host", "IMAP host", default=IMAP_HOST),
    ConfigField("imap_port", "IMAP port", default=str(IMAP_PORT), kind="port"),
    ConfigField("imap_security", "IMAP security", default=IMAP_SECURITY, kind="choice", choices=("ssl", "starttls")),
    ConfigField("smtp_host", "SMTP host", default=SMTP_HOST),
    ConfigField("smtp_port", "SMTP port", default=str(SMTP_PORT), kind="port"),
    ConfigField("smtp_security", "SMTP security", default=SMTP_SECURITY, kind="choice", choices=("ssl", "starttls")),
    ConfigField("ca_certificates", "Extra CA certificates", kind="pem",
                help="PEM text or a file path, only for servers with a private certificate authority."),
)

CONNECT_FORM = (
    ConnectField("email", "Apple ID", kind="email", help="The e-mail address you sign in to iCloud with."),
    ConnectField("password", "App-specific password", kind="password",
                 help="Create one at appleid.apple.com → Sign-In and Security → App-Specific Passwords."),
)

PROVIDER = ProviderInfo(
    name=NAME,
    label="iCloud",
    capabilities=frozenset({CALENDAR, FREE_BUSY, MAIL, SEND}),
    connect_kind="form",
    config_schema=CONFIG_SCHEMA,
    connect_form=CONNECT_FORM,
    description="iCloud Calendar (CalDAV) and iCloud Mail (IMAP/SMTP) with an app-specific password.",
)


@dataclass(frozen=True)
class ICloudConfig:
    """The hosts one hub installation uses for iCloud, from the admin configuration."""

    caldav_url: str = DEFAULT_CALDAV_URL
    imap_host: str = IMAP_HOST
    imap_port: int = IMAP_PORT
    imap_security: str = IMAP_SECURITY
    smtp_host: str = SMTP_HOST
    smtp_port: int = SMTP_PORT
    smtp_security: str = SMTP_SECURITY
    #: PEM text or a path; ``None`` trusts the system's certificate store
    ca_certificates: str | None = None
    #: the administrator allows private hosts (on-premises servers, tests)
    allow_private: bool = False

    @classmethod
    def from_context(cls, context: ProviderContext) -> "ICloudConfig":
        """Read the configuration, falling back to iCloud's own hosts for what is not set.

        :param context: the provider context handed to every hook.
        """
        values: dict[str, Any] = {k: v for k, v in (context.config or {}).items() if v not in (None, "")}
        return cls(
            caldav_url=str(values.get("caldav_url", DEFAULT_CALDAV_URL)),
            imap_host=str(values.get("imap_host", IMAP_HOST)),
            imap_port=int(values.get("imap_port", IMAP_PORT)),
            imap_security=str(values.get("imap_security", IMAP_SECURITY)),
            smtp_host=str(values.get("smtp_host", SMTP_HOST)),
            smtp_port=int(values.get("smtp_port", SMTP_PORT)),
            smtp_security=str(values.get("smtp_security", SMTP_SECURITY)),
            ca_certificates=values.get("ca_certificates"),
            allow_private=bool(context.allow_private_hosts),
        )
