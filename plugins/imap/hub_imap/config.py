"""A mailbox's server settings and credentials: read from the connect form or from a stored account.

The connect form's values are split in two: non-secret server settings (hosts, ports, security,
preset) go into the account's ``settings``; the user name and password (or OAuth access token) go
into its encrypted ``credentials``. :class:`MailboxConfig` puts them back together for a session.

Public API: :class:`Endpoint`, :class:`MailboxConfig` (``from_params``, ``for_account``,
``from_preset``), :func:`tls_context`.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import ssl
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping

from hub.exceptions import ConfigError, ValidationError
from hub.types import AccountHandle, ProviderContext

from hub_imap.presets import Preset, get_preset

SECURITY_CHOICES = ("ssl", "starttls", "none")


@dataclass(frozen=True)
class Endpoint:
    """One server: host, port and how the connection is secured."""

    host: str
    port: int
    #: "ssl" = TLS from the first byte (993/465), "starttls" = upgrade a plain connection (143/587)
    security: str = "ssl"

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True, repr=False)
class MailboxConfig:
    """Everything needed to open IMAP and SMTP sessions for one mailbox."""

    email: str
    imap: Endpoint
    smtp: Endpoint
    username: str
    #: "password" (LOGIN / AUTH PLAIN) or "xoauth2" (a bearer token from the Google/Microsoft plugin)
    auth: str = "password"
    secret: str = field(default="", compare=False)
    smtp_username: str | None = None
    smtp_secret: str | None = field(default=None, compare=False)
    preset: str | None = None
    server_saves_sent: bool = False
    #: the mailbox the user picked as the Sent folder (mail-sync page); None = found by flag or name
    sent_folder: str | None = None

    def __repr__(self) -> str:
        return f"<MailboxConfig {self.username} imap={self.imap} smtp={self.smtp}>"

    @property
    def preset_info(self) -> Preset | None:
        return get_preset(self.preset)

    def fingerprint(self) -> str:
        """A digest that changes when anything that affects a session (incl. the secret) changes."""
        raw = json.dumps([asdict(self)], sort_keys=True, default=str).encode()
        return hashlib.sha256(raw).hexdigest()

    # --- what the hub stores ---------------------------------------------------------------------

    def settings(self) -> dict[str, Any]:
        """The non-secret part (servers and user names), for ``AccountHandle.settings``."""
        return {
            "imap_host": self.imap.host, "imap_port": self.imap.port, "imap_security": self.imap.security,
            "smtp_host": self.smtp.host, "smtp_port": self.smtp.port, "smtp_security": self.smtp.security,
            "preset": self.preset or "custom", "server_saves_sent": self.server_saves_sent,
            "username": self.username, **({"smtp_username": self.smtp_username} if self.smtp_username else {}),
            **({"sent_folder": self.sent_folder} if self.sent_folder else {}),
        }

    def credentials(self) -> dict[str, Any]:
        """The secret part, for ``AccountHandle.credentials`` (encrypted by the core)."""
        creds: dict[str, Any] = {"auth": self.auth}
        if self.auth == "xoauth2":
            creds["access_token"] = self.secret
        else:
            creds["password"] = self.secret
        if self.smtp_secret:
            creds["smtp_password"] = self.smtp_secret
        return creds

    # --- building one ------------------------------------------------------------------------------

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> "MailboxConfig":
        """Validate the connect form (or API) fields; a chosen preset fills hosts and ports left empty.

        :raises ValidationError: a field is missing or wrong, naming the field.
        """
        email = _text(params, "email")
        if "@" not in email:
            raise ValidationError("Enter the full email address, e.g. ana@example.com.", field="email")
        preset = get_preset(_text(params, "preset", required=False) or None)
        auth = _text(params, "auth", required=False) or "password"
        if auth not in ("password", "xoauth2"):
            raise ValidationError(f"Unknown sign-in method {auth!r}.", fix="Use a password.", field="auth")
        secret = str(params.get("access_token" if auth == "xoauth2" else "password") or "")
        if not secret:
            raise ValidationError("Enter the password.", field="password")
        return cls(
            email=email,
            imap=_endpoint(params, "imap", preset),
            smtp=_endpoint(params, "smtp", preset),
            username=_text(params, "username", required=False) or email,
            auth=auth,
            secret=secret,
            smtp_username=_text(params, "smtp_username", required=False) or None,
            smtp_secret=str(params.get("smtp_password") or "") or None,
            preset=preset.name if preset else None,
            server_saves_sent=_flag(params.get("server_saves_sent"), preset.server_saves_sent if preset else False),
            sent_folder=_text(params, "sent_folder", required=False) or None,
        )

    @classmethod
    def from_preset(cls, preset_name: str, email: str, username: str, password: str, **changes: Any) -> "MailboxConfig":
        """The config of a mailbox at a preset provider (used e.g. by the iCloud plugin)."""
        return cls.from_params({"preset": preset_name, "email": email, "username": username,
                                "password": password, **changes})

    @classmethod
    def for_account(cls, account: AccountHandle) -> "MailboxConfig":
        """The config of a stored account, from its settings and decrypted credentials."""
        return cls.from_params({**account.settings, **_stored_credentials(account.credentials),
                                "email": account.email})


def _stored_credentials(credentials: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(credentials)
    out.setdefault("auth", "xoauth2" if "access_token" in out and "password" not in out else "password")
    return out


def _text(params: Mapping[str, Any], name: str, required: bool = True) -> str:
    value = str(params.get(name) or "").strip()
    if required and not value:
        raise ValidationError(f"The field {name.replace('_', ' ')} is required.", field=name)
    return value


def _flag(value: Any, default: bool) -> bool:
    if value is None or value == "":
        return default
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def _endpoint(params: Mapping[str, Any], kind: str, preset: Preset | None) -> Endpoint:
    host = _text(params, f"{kind}_host", required=preset is None) or getattr(preset, f"{kind}_host")
    security = _text(params, f"{kind}_security", required=False) or (
        getattr(preset, f"{kind}_security") if preset else "ssl"
    )
    if security not in SECURITY_CHOICES:
        raise ValidationError(
            f"Unknown {kind.upper()} security {security!r}.", fix="Choose SSL/TLS, STARTTLS or none.",
            field=f"{kind}_security",
        )
    raw_port = params.get(f"{kind}_port")
    if raw_port in (None, ""):
        port = getattr(preset, f"{kind}_port") if preset else _default_port(kind, security)
    else:
        try:
            port = int(raw_port)
        except (TypeError, ValueError):
            raise ValidationError(f"{raw_port!r} is not a port number.", field=f"{kind}_port") from None
        if not 0 < port < 65536:
            raise ValidationError(f"{port} is not a port number.", field=f"{kind}_port")
    return Endpoint(host.lower(), port, security)


def _default_port(kind: str, security: str) -> int:
    if kind == "imap":
        return 993 if security == "ssl" else 143
    return 465 if security == "ssl" else 587


def tls_context(context: ProviderContext) -> ssl.SSLContext:
    """The TLS context for mail servers: the system's trust store plus the admin's extra CA certificates.

    The provider setting ``ca_certificates`` holds PEM text (or a path to a PEM file) for servers
    whose certificate comes from a company CA. Host names are always checked.
    """
    extra = str((context.config or {}).get("ca_certificates") or "").strip()
    stamp = None
    if extra and not extra.startswith("-----BEGIN"):
        try:
            stamp = os.stat(extra).st_mtime_ns  # a replaced CA file is read again
        except OSError:
            stamp = -1
    return _tls_context(extra, stamp)


@functools.lru_cache(maxsize=16)
def _tls_context(extra: str, _stamp: int | None) -> ssl.SSLContext:
    # Loading the system trust store costs ~20 ms, as much as the rest of a no-op sync; one
    # context per CA setting is shared (SSLContext is safe to use from several threads).
    ctx = ssl.create_default_context()
    if extra:
        try:
            if extra.startswith("-----BEGIN"):
                ctx.load_verify_locations(cadata=extra)
            else:
                ctx.load_verify_locations(cafile=extra)
        except (OSError, ssl.SSLError, ValueError) as exc:
            raise ConfigError(
                f"The extra CA certificates of the IMAP provider cannot be read ({exc}).",
                fix="An administrator should paste PEM certificates (or a readable file path) "
                "in the IMAP provider's settings.",
            ) from None
    return ctx
