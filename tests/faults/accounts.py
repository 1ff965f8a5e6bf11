"""Connecting sandbox and peer accounts through the hub's real connect path (consent page included).

Shared by the fault suite, the scale-out test and the scale and load benchmarks.
"""

from __future__ import annotations

from hub import oauth
from hub.accounts import connect_account
from hub.models import ProviderSetting, Role, User


def add_user(hub, email: str) -> int:
    """A salesperson with ``email``, ready to connect accounts; returns the user's id."""
    with hub.db.session() as s:
        user = User(email=email, role=Role.SALESPERSON)
        s.add(user)
        s.flush()
        return user.id


def set_provider_config(hub, name: str, config: dict) -> None:
    """What an administrator enters on the provider's settings page."""
    with hub.db.session() as s:
        row = s.get(ProviderSetting, name)
        if row is None:
            s.add(ProviderSetting(name=name, enabled=True, config=config))
        else:
            row.config = config


def connect_google(hub, user_id: int, email: str) -> int:
    """Consent on the Google sandbox as ``email`` and store the account; returns its id."""
    from hub_google.testing import approve

    context = hub.provider_context("google")
    start = oauth.start(f"{context.base_url}/integrations/google/callback")
    url = hub.plugins.call("hub_authorization_url", context=context, start=start)
    query = approve(url, email)
    return connect_account(hub, user_id, "google", {"code": query["code"], "code_verifier": start.code_verifier,
                                                    "redirect_uri": start.redirect_uri})


def connect_office365(hub, user_id: int, sandbox, email: str) -> int:
    """Consent on the Microsoft sandbox as ``email`` and store the account; returns its id."""
    from hub_office365.testing import Office365Remote

    context = hub.provider_context("office365")
    start = oauth.start(f"{context.base_url}/integrations/office365/callback")
    url = hub.plugins.call("hub_authorization_url", context=context, start=start)
    query = Office365Remote(sandbox, email).approve(url)
    return connect_account(hub, user_id, "office365", {"code": query["code"], "code_verifier": start.code_verifier,
                                                       "redirect_uri": start.redirect_uri})


def imap_params(dovecot, user, smtp_server, port: int | None = None) -> dict:
    """The IMAP connect form for a Dovecot user (implicit TLS), optionally through a proxy on ``port``."""
    from hub_imap.testing import connect_params

    params = connect_params(dovecot, user, smtp_server, imap_security="ssl", smtp_security="ssl")
    if port is not None:
        params["imap_port"] = str(port)
    return params


def imap_config(dovecot, smtp_server) -> dict:
    """The IMAP provider's settings: trust the peers' self-signed certificates."""
    from hub_imap.testing import trusted

    return {"ca_certificates": trusted(dovecot, smtp_server)}
