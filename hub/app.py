"""The app factory: ``create_app(config=None)`` builds the Flask app around one :class:`~hub.core.Hub`."""

from __future__ import annotations

import logging
from typing import Any, Iterable

from flask import Flask

from hub.config import Settings
from hub.core import Hub


def create_app(config: dict[str, Any] | None = None, extra_plugins: Iterable[tuple[str, Any]] = (),
               hub: Hub | None = None) -> Flask:
    """Build the web app.

    :param config: settings overriding ``HUB_*`` environment variables (see :mod:`hub.config`).
    :param extra_plugins: ``(name, plugin)`` pairs registered besides the entry-point plugins.
    :param hub: an already built Hub to serve (tests, ``hub serve``); else one is built here.
    """
    if hub is None:
        settings = Settings.load(config)
        hub = Hub(settings, extra_plugins=extra_plugins)
    settings = hub.settings
    app = Flask("web", instance_path=str(settings.instance_path))
    app.config.update(
        SECRET_KEY=settings.resolve_secret_key(),
        TESTING=settings.testing,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.base_url.startswith("https://"),
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SECURE=settings.base_url.startswith("https://"),
        WTF_CSRF_TIME_LIMIT=None,
        # bodies past this answer 413 before they are read (chunked ones too, as they stream in)
        MAX_CONTENT_LENGTH=settings.max_request_bytes,
    )
    app.extensions["hub"] = hub
    hub.refresh_disabled_providers()

    from web import init_web

    init_web(app)
    logging.getLogger("hub").setLevel(logging.INFO)
    return app
