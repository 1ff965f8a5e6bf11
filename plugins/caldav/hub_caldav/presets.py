"""Well-known CalDAV services: where discovery starts and what to tell people about passwords.

One data table, :data:`PRESETS`. A preset is picked by name on the connect form, or by the domain of
the e-mail address when no server is given. ``url`` may hold ``{host}`` for self-hosted software
(Nextcloud, Baïkal, SOGo …) whose path is fixed but whose host is the customer's own.

Public API: :class:`Preset`, :data:`PRESETS`, :func:`by_name`, :func:`for_domain`.
"""

from __future__ import annotations

from dataclasses import dataclass

from hub_caldav.connection import AuthHints

APPLE_APP_PASSWORD_HOW_TO = (
    "Create an app-specific password: sign in at appleid.apple.com, open Sign-In and Security → "
    "App-Specific Passwords, choose '+', name it (e.g. 'CRM') and paste the password shown "
    "(xxxx-xxxx-xxxx-xxxx) here. Apple offers app-specific passwords only when two-factor "
    "authentication is turned on for your Apple ID."
)

APPLE_HINTS = AuthHints(
    refused="{server} did not accept the Apple ID and app-specific password.",
    refused_fix="Check the Apple ID (your iCloud e-mail address). If it is right, the app-specific password "
                "may have been revoked: " + APPLE_APP_PASSWORD_HOW_TO,
    expired="{server} no longer accepts the stored app-specific password.",
    expired_fix="The password was revoked or the Apple ID password changed (which revokes all app-specific "
                "passwords). Reconnect the account with a new one: " + APPLE_APP_PASSWORD_HOW_TO,
)


def _app_password_hints(where: str) -> AuthHints:
    return AuthHints(refused_fix="Check the user name (your full e-mail address) and use an app password, "
                                 f"not your main password: {where}.")


@dataclass(frozen=True)
class Preset:
    """A CalDAV service whose discovery URL is known."""

    name: str
    label: str
    #: where discovery starts; ``{host}`` is the server the person typed
    url: str
    #: e-mail domains served by this service (picks the preset from an address alone)
    domains: tuple[str, ...] = ()
    hints: AuthHints = AuthHints()

    @property
    def needs_host(self) -> bool:
        return "{host}" in self.url

    def start_url(self, host: str | None = None) -> str:
        return self.url.format(host=host) if self.needs_host else self.url


PRESETS: tuple[Preset, ...] = (
    Preset("icloud", "iCloud", "https://caldav.icloud.com/", ("icloud.com", "me.com", "mac.com"), APPLE_HINTS),
    Preset("fastmail", "Fastmail", "https://caldav.fastmail.com/dav/", ("fastmail.com", "fastmail.fm", "fastmail.de"),
           _app_password_hints("Fastmail → Settings → Privacy & Security → Manage app passwords")),
    Preset("mailbox.org", "mailbox.org", "https://dav.mailbox.org/", ("mailbox.org",)),
    Preset("posteo", "Posteo", "https://posteo.de:8443/", ("posteo.de", "posteo.net", "posteo.eu")),
    Preset("gmx", "GMX", "https://caldav.gmx.net/", ("gmx.de", "gmx.net", "gmx.at", "gmx.ch")),
    Preset("web.de", "WEB.DE", "https://caldav.web.de/", ("web.de",)),
    Preset("zoho", "Zoho", "https://calendar.zoho.com/", ("zoho.com", "zohomail.com"),
           _app_password_hints("Zoho Accounts → Security → App Passwords")),
    Preset("yahoo", "Yahoo", "https://caldav.calendar.yahoo.com/", ("yahoo.com",),
           _app_password_hints("Yahoo Account Security → Generate app password")),
    Preset("nextcloud", "Nextcloud", "https://{host}/remote.php/dav/",
           hints=_app_password_hints("Nextcloud → Settings → Security → Devices & sessions → Create new app password")),
    Preset("owncloud", "ownCloud", "https://{host}/remote.php/dav/"),
    Preset("baikal", "Baïkal / SabreDAV", "https://{host}/dav.php/"),
    Preset("sogo", "SOGo", "https://{host}/SOGo/dav/"),
    Preset("zimbra", "Zimbra", "https://{host}/dav/"),
    Preset("cyrus", "Cyrus", "https://{host}/dav/"),
    Preset("radicale", "Radicale", "https://{host}/"),
)


def by_name(name: str | None) -> Preset | None:
    """The preset called ``name`` (``None`` or empty: no preset)."""
    return next((p for p in PRESETS if p.name == name), None) if name else None


def for_domain(domain: str) -> Preset | None:
    """The hosted service that serves addresses at ``domain``."""
    domain = domain.lower().rstrip(".")
    return next((p for p in PRESETS if domain in p.domains), None)
