"""Server settings of common mail providers, so a person only types their address and password.

Public API: :class:`Preset`, :data:`PRESETS`, :func:`get_preset`, :func:`guess_preset`.
"""

from __future__ import annotations

from dataclasses import dataclass

from hub.exceptions import ValidationError

Security = str  # "ssl" (implicit TLS), "starttls" or "none"


@dataclass(frozen=True)
class Preset:
    """One provider's IMAP and SMTP endpoints and its quirks."""

    name: str
    label: str
    imap_host: str
    imap_port: int
    imap_security: Security
    smtp_host: str
    smtp_port: int
    smtp_security: Security
    #: the server files mail submitted over SMTP in the Sent folder itself (no APPEND from us)
    server_saves_sent: bool = False
    #: fix hint when the password is refused: the provider wants an app password
    app_password_fix: str | None = None
    #: domains whose addresses belong to this provider (to preselect it)
    domains: tuple[str, ...] = ()


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "gmail", "Gmail / Google Workspace", "imap.gmail.com", 993, "ssl", "smtp.gmail.com", 465, "ssl",
            # Gmail files every message sent through its SMTP server under the SENT label itself
            server_saves_sent=True,
            app_password_fix=(
                "This account uses 2-step verification: create an app password at "
                "https://myaccount.google.com/apppasswords and enter it instead of your normal password."
            ),
            domains=("gmail.com", "googlemail.com"),
        ),
        Preset(
            "outlook", "Outlook.com / Microsoft 365", "outlook.office365.com", 993, "ssl",
            "smtp.office365.com", 587, "starttls",
            # Exchange Online keeps SMTP-submitted mail in Sent Items
            server_saves_sent=True,
            app_password_fix=(
                "Microsoft has turned off password sign-in for IMAP on most accounts: use "
                "\"Connect Microsoft 365\" instead, or an app password if your administrator allows them."
            ),
            domains=("outlook.com", "hotmail.com", "live.com", "msn.com"),
        ),
        Preset(
            "icloud", "iCloud Mail", "imap.mail.me.com", 993, "ssl", "smtp.mail.me.com", 587, "starttls",
            app_password_fix=(
                "This account uses 2-step verification: create an app password (an app-specific password "
                "at https://account.apple.com, Sign-In and Security) and enter it instead of your Apple ID password."
            ),
            domains=("icloud.com", "me.com", "mac.com"),
        ),
        Preset(
            "yahoo", "Yahoo Mail", "imap.mail.yahoo.com", 993, "ssl", "smtp.mail.yahoo.com", 465, "ssl",
            app_password_fix=(
                "This account uses 2-step verification: create an app password at "
                "https://login.yahoo.com/account/security and enter it instead of your normal password."
            ),
            domains=("yahoo.com", "ymail.com", "rocketmail.com"),
        ),
        Preset(
            "fastmail", "Fastmail", "imap.fastmail.com", 993, "ssl", "smtp.fastmail.com", 465, "ssl",
            app_password_fix=(
                "Fastmail needs an app password for other apps: create one under Settings, Privacy & Security, "
                "App passwords, and enter it instead of your normal password."
            ),
            domains=("fastmail.com", "fastmail.fm"),
        ),
    )
}

#: the choices of the connect form's preset field; "custom" means "I enter the servers myself"
PRESET_CHOICES = ("custom", *PRESETS)


def get_preset(name: str | None) -> Preset | None:
    """The preset called ``name``; ``None`` for "custom" or no choice.

    :raises ValidationError: ``name`` is not a known preset.
    """
    if not name or name == "custom":
        return None
    try:
        return PRESETS[name]
    except KeyError:
        raise ValidationError(
            f"Unknown mail provider preset {name!r}.", fix=f"Choose one of: {', '.join(PRESET_CHOICES)}.",
            field="preset",
        ) from None


def guess_preset(email: str) -> Preset | None:
    """The preset whose provider hosts ``email``'s domain, if any (to preselect the form)."""
    domain = email.rpartition("@")[2].lower()
    return next((p for p in PRESETS.values() if domain in p.domains), None)
