"""Admin → Providers: installed plugins with version and capabilities, enable/disable, configuration.

Configuration forms are built from each provider's ``config_schema``. Secret fields are write-only:
the form shows whether one is set, never its value; leaving it empty keeps the stored secret.
"""

from __future__ import annotations

import requests
from flask import abort, flash, redirect, render_template, request, url_for

from hub import config_fields, oauth
from hub.core import current_hub
from hub.exceptions import HubError, ValidationError
from hub.models import ProviderSetting
from hub.permissions import Permission
from hub.types import ProviderInfo
from web.access import requires
from web.admin import bp

TEST_TIMEOUT = 10


def _info(name: str) -> ProviderInfo:
    info = current_hub().plugins.providers.get(name)
    if info is None:
        abort(404)
    return info


def stored_config(name: str) -> dict:
    with current_hub().db.session() as s:
        row = s.get(ProviderSetting, name)
        return dict(row.config or {}) if row else {}


@bp.route("/")
@bp.route("/providers")
@requires(Permission.ADMIN)
def providers():
    return _providers_page()


def _providers_page(errors: dict[str, dict[str, str]] | None = None, entered: dict[str, dict] | None = None,
                    status: int = 200):
    """The page; after a refused save, that provider's form shows what was entered and each problem."""
    hub = current_hub()
    configs = {name: stored_config(name) for name in hub.plugins.providers}
    for name, values in (entered or {}).items():
        configs[name] = {**configs[name], **values}
    return render_template("admin/providers.html", records=hub.plugins.records(), disabled=hub.plugins.disabled,
                           configs=configs, errors=errors or {}, base_url=hub.settings.base_url.rstrip("/")), status


@bp.route("/providers/<name>/enabled", methods=["POST"])
@requires(Permission.ADMIN)
def set_enabled(name: str):
    """Enable or disable a provider: disabled ones cannot be connected and their hooks never run."""
    info = _info(name)
    enabled = request.form.get("enabled") == "1"
    hub = current_hub()
    with hub.db.session() as s:
        row = s.get(ProviderSetting, name) or ProviderSetting(name=name, config={})
        row.enabled = enabled
        s.add(row)
    hub.refresh_disabled_providers()
    flash(f"{info.label} {'enabled' if enabled else 'disabled'}.", "success")
    return redirect(url_for("admin.providers"))


@bp.route("/providers/<name>/config", methods=["POST"])
@requires(Permission.ADMIN)
def save_config(name: str):
    """Save a provider's configuration once every value checks out (:mod:`hub.config_fields`); else save
    nothing and show the form again with each problem. An empty secret field keeps the stored secret."""
    info = _info(name)
    hub = current_hub()
    stored = stored_config(name)
    config, entered, problems = dict(stored), {}, {}
    for field in info.config_schema:
        upload = request.files.get(f"{field.name}_file") if field.kind == "pem" else None
        raw = upload.read().decode("ascii", errors="replace") if upload and upload.filename else \
            request.form.get(field.name, "")
        try:
            value = config_fields.clean(field, raw)
        except ValidationError as exc:
            problems[field.name] = exc.message
            value = raw.strip()
        if not field.secret:
            entered[field.name] = value
        if field.secret and request.form.get(f"clear_{field.name}"):
            config.pop(field.name, None)
        elif value:
            config[field.name] = value
        elif not field.secret:
            config.pop(field.name, None)
        if field.required and not config.get(field.name) and field.name not in problems:
            problems[field.name] = f"{field.label} is required."
    if problems:
        flash(f"{info.label} settings not saved: {' '.join(problems.values())}", "error")
        return _providers_page(errors={name: problems}, entered={name: entered}, status=400)
    with hub.db.session() as s:
        row = s.get(ProviderSetting, name) or ProviderSetting(name=name, enabled=True)
        row.config = config
        s.add(row)
    flash(f"{info.label} settings saved.", "success")
    return redirect(url_for("admin.providers") + f"#provider-{name}")


@bp.route("/providers/<name>/test", methods=["POST"])
@requires(Permission.ADMIN)
def test(name: str):
    """Check that the provider's configuration works as far as it can be checked without a user."""
    info = _info(name)
    ok, message = check_provider(info)
    flash(f"{info.label}: {message}", "success" if ok else "error")
    return redirect(url_for("admin.providers") + f"#provider-{name}")


def check_provider(info: ProviderInfo) -> tuple[bool, str]:
    """OAuth providers: build the authorization URL and ask the authorization server whether it knows
    the client. Form providers have nothing to check until a user connects (their credentials are per account).
    """
    hub = current_hub()
    if info.connect_kind != "oauth":
        return True, "nothing to test here: each user's own credentials are checked when they connect."
    start = oauth.start(f"{hub.settings.base_url.rstrip('/')}/connect/{info.name}/callback")
    try:
        url = hub.plugins.call("hub_authorization_url", context=hub.provider_context(info.name), start=start)
    except HubError as exc:
        return False, f"{exc.message} {exc.fix or ''}".strip()
    try:
        answer = requests.get(url, timeout=TEST_TIMEOUT, allow_redirects=False)
    except requests.RequestException as exc:
        return False, f"the authorization server cannot be reached ({type(exc).__name__})."
    if answer.status_code >= 400:
        return False, (f"the authorization server refused the request (HTTP {answer.status_code}): check the "
                       f"client id and that {start.redirect_uri} is a registered redirect URI.")
    return True, "the authorization server accepts this client. Users can connect."
