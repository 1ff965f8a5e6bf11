"""The web UI and JSON API: Flask blueprints over the hub core, one per area."""

from __future__ import annotations

from flask import Flask


def init_web(app: Flask) -> None:
    """Attach extensions, error rendering and every blueprint to ``app``."""
    from web import api, auth, connect, errors, home, webhooks
    from web.extensions import csrf, login_manager

    login_manager.init_app(app)
    csrf.init_app(app)
    errors.init_app(app)
    for module in (auth, home, connect, webhooks, api):
        app.register_blueprint(module.bp)
    csrf.exempt(api.bp)
    csrf.exempt(webhooks.bp)
