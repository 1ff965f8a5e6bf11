"""The Hub: one object holding settings, database, plugins and queues for a process.

The web app keeps it in ``app.extensions["hub"]``; a worker process builds one from the
environment on first use (:func:`current_hub`). Engines and jobs receive it explicitly.
"""

from __future__ import annotations

import logging
import threading
import time
from contextlib import nullcontext
from typing import Any, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub import crypto
from hub.config import Settings
from hub.database import Database
from hub.exceptions import ConfigError
from hub.plugins import PluginManager
from hub.types import AccountHandle, ProviderContext

log = logging.getLogger(__name__)


class Hub:
    def __init__(self, settings: Settings, extra_plugins: Iterable[tuple[str, Any]] = (), create_keys: bool = False):
        self.settings = settings
        settings.ensure_instance()
        crypto.keyring.configure(settings.resolve_keys(create=create_keys))
        self.db = Database(settings.database_url)
        self.plugins = PluginManager()
        self.plugins.load(settings.load_plugins, extra=extra_plugins)
        self._queues = None
        self._disabled_read_at = float("-inf")

    # --- queues (lazy: the embedded Redis starts only when something enqueues) -----------------

    @property
    def queues(self):
        if self._queues is None:
            from hub.queue import Queues

            self._queues = Queues.from_settings(self.settings)
        return self._queues

    def refresh_disabled_providers(self, max_age: float | None = None) -> None:
        """Block providers an administrator disabled (read from the database).

        :param max_age: skip the read when the last one is younger than this many seconds.
        """
        from hub.models import ProviderSetting

        if max_age is not None and time.monotonic() - self._disabled_read_at < max_age:
            return
        self._disabled_read_at = time.monotonic()
        try:
            with self.db.session() as s:
                disabled = s.scalars(select(ProviderSetting.name).where(ProviderSetting.enabled.is_(False))).all()
        except Exception:  # the schema may not exist yet (before `hub init`)
            log.debug("provider settings not readable yet", exc_info=True)
            return
        self.plugins.apply_disabled(disabled)

    # --- what plugins receive ----------------------------------------------------------------

    def provider_context(self, name: str, session: Session | None = None) -> ProviderContext:
        from hub.models import ProviderSetting

        def read(s: Session) -> dict:
            row = s.get(ProviderSetting, name)
            return dict(row.config or {}) if row else {}

        if session is not None:
            config = read(session)
        else:
            with self.db.session() as s:
                config = read(s)
        return ProviderContext(
            name=name,
            config=config,
            base_url=self.settings.base_url.rstrip("/"),
            allow_private_hosts=self.settings.allow_private_hosts,
        )

    def account_handle(self, account_id: int, session: Session | None = None) -> AccountHandle:
        """Build the plugin's view of an account; credential/setting saves go back to the database.

        :param session: read it in this open session (a sync job's first one) instead of a new one.
        """
        from hub.models import Account

        with nullcontext(session) if session is not None else self.db.session() as s:
            account = s.get(Account, account_id)
            if account is None:
                raise ConfigError(f"Account {account_id} does not exist.")
            handle = AccountHandle(
                id=account.id,
                provider=account.provider,
                email=account.email,
                credentials=dict(account.credentials or {}),
                settings=dict(account.settings or {}),
                context=self.provider_context(account.provider, s),
            )

        def save_credentials(creds: dict) -> None:
            with self.db.session(write_lock=True) as s2:
                s2.get(Account, account_id).credentials = dict(creds)

        def save_settings(settings: dict) -> None:
            with self.db.session(write_lock=True) as s2:
                s2.get(Account, account_id).settings = dict(settings)

        handle.save_credentials = save_credentials
        handle.save_settings = save_settings
        return handle

    def close(self) -> None:
        if self._queues is not None:
            self._queues.close()
        self.db.dispose()


_process_hub: Hub | None = None
_lock = threading.Lock()


def current_hub() -> Hub:
    """The Hub of this process: the Flask app's inside a request, else one built from the environment."""
    global _process_hub
    try:
        from flask import current_app

        return current_app.extensions["hub"]
    except (RuntimeError, KeyError):
        pass
    with _lock:
        if _process_hub is None:
            _process_hub = Hub(Settings.load())
            _process_hub.refresh_disabled_providers()
        return _process_hub


def set_process_hub(hub: Hub | None) -> None:
    """Make ``hub`` the one jobs in this process use (``hub serve``, in-process test workers)."""
    global _process_hub
    _process_hub = hub
