"""What the Google provider is (its :class:`ProviderInfo`) and where its endpoints live.

The administrator enters the OAuth client and, for the sandbox or a proxy, other base URLs; the
defaults are Google's real ones. Every hook reads its endpoints through :class:`Endpoints`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hub.exceptions import ConfigError
from hub.types import CALENDAR, FREE_BUSY, MAIL, PUSH, SEND, VIDEO, ConfigField, ProviderInfo

NAME = "google"

DEFAULT_AUTH_BASE = "https://accounts.google.com"
DEFAULT_TOKEN_URL = "https://oauth2.googleapis.com/token"
DEFAULT_API_BASE = "https://www.googleapis.com"
DEFAULT_GMAIL_BASE = "https://gmail.googleapis.com"
#: Google's default (and a sensible) page size for events.list
DEFAULT_PAGE_SIZE = 250
DEFAULT_TIMEOUT = 60.0

INFO = ProviderInfo(
    name=NAME,
    label="Google",
    capabilities=frozenset({CALENDAR, FREE_BUSY, MAIL, SEND, PUSH, VIDEO}),
    connect_kind="oauth",
    sends_invitations=True,  # events are pushed with sendUpdates=all
    description="Google Calendar and Gmail: two-way calendar sync with Meet links, mail logging and sending.",
    config_schema=(
        ConfigField("client_id", "OAuth client ID", required=True,
                    help="From Google Cloud console → APIs & Services → Credentials (a 'Web application' client)."),
        ConfigField("client_secret", "OAuth client secret", secret=True, required=True),
        ConfigField("auth_base", "Authorization server", default=DEFAULT_AUTH_BASE, kind="url",
                    help="Change only to use the Google sandbox (hub demo, tests)."),
        ConfigField("token_url", "Token endpoint", default=DEFAULT_TOKEN_URL, kind="url",
                    help="The revoke endpoint is the same URL ending in /revoke."),
        ConfigField("api_base", "API base URL", default=DEFAULT_API_BASE, kind="url",
                    help="Calendar and user info live under it; Gmail too when it is not Google's own."),
        ConfigField("gmail_base", "Gmail API base URL", default=None, kind="url",
                    help="Empty: gmail.googleapis.com with Google's API base, else the API base URL."),
        ConfigField("page_size", "Events per sync page", default=str(DEFAULT_PAGE_SIZE), kind="integer",
                    help="1 to 2500; Google's default is 250."),
        ConfigField("timeout", "Request timeout (seconds)", default=str(int(DEFAULT_TIMEOUT)), kind="number"),
    ),
)


def _value(config: dict[str, Any], name: str, default: str | None) -> str | None:
    value = config.get(name)
    return str(value).rstrip("/") if value not in (None, "") else default


@dataclass(frozen=True)
class Endpoints:
    """Every URL the plugin calls, resolved from the provider configuration."""

    authorize_url: str
    token_url: str
    revoke_url: str
    calendar: str
    gmail: str
    userinfo: str
    page_size: int
    timeout: float

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Endpoints":
        """The endpoints for a provider configuration (missing values take Google's defaults)."""
        auth_base = _value(config, "auth_base", DEFAULT_AUTH_BASE)
        token_url = _value(config, "token_url", DEFAULT_TOKEN_URL)
        api_base = _value(config, "api_base", DEFAULT_API_BASE)
        gmail_base = _value(config, "gmail_base", DEFAULT_GMAIL_BASE if api_base == DEFAULT_API_BASE else api_base)
        try:
            page_size = min(2500, max(1, int(config.get("page_size") or DEFAULT_PAGE_SIZE)))
            timeout = max(1.0, float(config.get("timeout") or DEFAULT_TIMEOUT))
        except ValueError:
            raise ConfigError("The Google provider's page size or timeout is not a number.",
                              fix="An administrator corrects it on the Admin → Providers page.") from None
        return cls(
            authorize_url=f"{auth_base}/o/oauth2/v2/auth",
            token_url=token_url,
            revoke_url=token_url.rsplit("/", 1)[0] + "/revoke",
            calendar=f"{api_base}/calendar/v3",
            gmail=f"{gmail_base}/gmail/v1/users/me",
            userinfo=f"{api_base}/oauth2/v2/userinfo",
            page_size=page_size,
            timeout=timeout,
        )
