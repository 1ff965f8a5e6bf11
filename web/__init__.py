"""The web UI and JSON API: Flask blueprints over the hub core, one per area.

Every route declares who may use it (:mod:`web.access`); the matrix behind it is
:mod:`hub.permissions`. Forms carry CSRF tokens (Flask-WTF); the API checks its own (token auth, or
the session plus an ``X-CSRFToken`` header).
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, g

#: how often a web process re-reads which providers an administrator disabled (another process may
#: have changed it); the process that changed it applies the change at once
PROVIDER_REFRESH_SECONDS = 15


def init_web(app: Flask) -> None:
    """Attach extensions, error rendering, security settings and every blueprint to ``app``."""
    from web import (
        admin,
        api,
        auth,
        availability,
        banner,
        booking,
        calendars,
        connect,
        contacts,
        errors,
        integrations,
        limits,
        mail,
        meetings,
        self_service,
        settings,
        times,
        webhooks,
    )
    from web.extensions import csrf, login_manager
    from web.json_limits import BoundedJSONProvider

    app.config.setdefault("REMEMBER_COOKIE_SAMESITE", "Lax")
    app.config.setdefault("REMEMBER_COOKIE_DURATION", timedelta(days=14))
    app.config.setdefault("PERMANENT_SESSION_LIFETIME", timedelta(hours=12))
    app.json = BoundedJSONProvider(app)
    login_manager.init_app(app)
    csrf.init_app(app)
    errors.init_app(app)
    times.init_app(app)
    banner.init_app(app)
    for module in (auth, integrations, connect, calendars, mail, meetings, availability, booking, self_service, contacts,
                   settings, admin, webhooks, api):
        app.register_blueprint(module.bp)
    # the API checks tokens, or CSRF itself for session calls; webhooks are verified by the plugin
    csrf.exempt(api.bp)
    csrf.exempt(webhooks.bp)
    # the embedded booking form: a frame on another site may not get the session cookie its token needs
    csrf.exempt(booking.embed)
    limits.init_app(app, app.extensions["hub"].settings, app.extensions["hub"].queues.connection)
    _refresh_providers_now_and_then(app)
    _security_headers(app)


def _refresh_providers_now_and_then(app: Flask) -> None:
    @app.before_request
    def refresh_providers():
        app.extensions["hub"].refresh_disabled_providers(max_age=PROVIDER_REFRESH_SECONDS)


#: scripts and styles only from the hub's own files: no inline script, so injected markup cannot run
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                           "object-src 'none'; base-uri 'self'; frame-ancestors 'none'")


def _security_headers(app: Flask) -> None:
    https = app.extensions["hub"].settings.base_url.startswith("https://")

    @app.after_request
    def headers(response):
        framers = g.get("frame_ancestors")  # set by the embeddable booking views only
        if framers is None:
            response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
            response.headers.setdefault("X-Frame-Options", "DENY")
        else:  # X-Frame-Options cannot name sites; CSP frame-ancestors can and wins where both exist
            response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY.replace(
                "frame-ancestors 'none'", "frame-ancestors " + " ".join(framers)))
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if https:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response
