"""Signing in with the Microsoft identity platform v2.0: endpoints, scopes, settings and AADSTS errors.

The protocol work (PKCE, code exchange, refresh with save-back) is :class:`hub.oauth.OAuthClient`'s;
this module describes Microsoft's side of it. Two Microsoft habits matter:

* every refresh returns a NEW refresh token. ``OAuthClient.refresh`` keeps the one in the answer and
  ``session_for`` saves it through ``account.update_credentials``, so the newest is always stored;
* errors read ``{"error": "invalid_grant", "error_description": "AADSTS50173: …", "error_codes": [50173]}``.
  :func:`grant_error` turns the code into a message and a fix the user can act on.
"""

from __future__ import annotations

import re
from typing import Any

from hub.exceptions import AuthenticationFailed, AuthExpired, ConfigError, HubError
from hub.oauth import OAuthClient, OAuthEndpoints
from hub.types import ConfigField, ProviderContext

PROVIDER = "office365"
LABEL = "Microsoft 365"
DEFAULT_LOGIN_BASE = "https://login.microsoftonline.com"
DEFAULT_GRAPH_BASE = "https://graph.microsoft.com/v1.0"
#: minimal delegated scopes: sign-in + refresh, read/write calendars, read mail, send mail, and the
#: mailbox's time zone (the zone of its calendars' all-day and floating events)
SCOPES = ["offline_access", "User.Read", "Calendars.ReadWrite", "Mail.Read", "Mail.Send", "MailboxSettings.Read"]
#: scopes added after accounts were connected without them: a refresh asks for them only when the grant
#: holds them, because the identity platform refuses a refresh beyond the grant (AADSTS65001)
LATER_SCOPES = {"MailboxSettings.Read"}

CONFIG_SCHEMA = (
    ConfigField("client_id", "Application (client) ID", required=True,
                help="From the app registration in Microsoft Entra ID (App registrations → Overview)."),
    ConfigField("client_secret", "Client secret", secret=True, required=True,
                help="A client secret VALUE of that app registration (Certificates & secrets)."),
    ConfigField("tenant", "Tenant", default="common",
                help="'common' for any Microsoft 365 organisation, 'organizations', or your tenant id."),
    ConfigField("login_base", "Identity platform URL", default=DEFAULT_LOGIN_BASE, kind="url",
                help="Only change this for national clouds or the local sandbox."),
    ConfigField("graph_base", "Microsoft Graph URL", default=DEFAULT_GRAPH_BASE, kind="url",
                help="Only change this for national clouds or the local sandbox."),
    ConfigField("timeout", "Request timeout (seconds)", default="60", kind="number"),
)

RECONNECT = "Reconnect the account on the Integrations page."
#: AADSTS code -> (what happened, what the user does about it)
AADSTS_HINTS: dict[int, tuple[str, str]] = {
    50173: ("Microsoft 365 revoked the sign-in: the password was changed or reset, or an administrator "
            "revoked the sessions.", "Reconnect the account and sign in with the current password."),
    700082: ("The Microsoft 365 sign-in expired after 90 days without use.", RECONNECT),
    70008: ("The Microsoft 365 sign-in expired or was revoked.", RECONNECT),
    65001: ("Microsoft 365 no longer has consent for the hub (it was revoked, or never granted).",
            "Reconnect the account and accept the permissions. If your organisation requires it, an "
            "administrator grants consent to the hub's app in Microsoft Entra ID."),
    50076: ("Microsoft 365 now requires multi-factor authentication for this account.",
            "Reconnect the account and complete the multi-factor prompt."),
    50079: ("Microsoft 365 requires you to set up multi-factor authentication.",
            "Set up multi-factor authentication (aka.ms/mfasetup), then reconnect the account."),
    70043: ("Your organisation's sign-in frequency policy ended the Microsoft 365 session.",
            "Reconnect the account. Your administrator's policy decides how often this is needed."),
    53003: ("A conditional access policy of your organisation blocked the sign-in.",
            "Ask your Microsoft 365 administrator to allow the hub, then reconnect the account."),
    50057: ("The Microsoft 365 account is disabled.", "Ask your administrator to enable it, then reconnect."),
}
#: codes that mean the authorization itself went wrong (at connect time): start again
RETRY_CONNECT = {54005, 501481, 50148, 9002313, 70000, 65004}


def setting(context: ProviderContext, name: str) -> str:
    """An admin setting, falling back to the schema default (unset fields are not in ``config``)."""
    value = (context.config or {}).get(name)
    if value:
        return str(value)
    return next((f.default or "" for f in CONFIG_SCHEMA if f.name == name), "")


def aadsts_code(body: dict[str, Any]) -> int | None:
    """The AADSTS code of a token-endpoint error body (``error_codes``, else the description)."""
    codes = body.get("error_codes")
    if isinstance(codes, list) and codes:
        try:
            return int(codes[0])
        except (TypeError, ValueError):
            pass
    match = re.search(r"AADSTS(\d+)", str(body.get("error_description") or ""))
    return int(match.group(1)) if match else None


def grant_error(body: dict[str, Any]) -> HubError | None:
    """Map an identity-platform error body to the hub error to raise (``OAuthClient``'s ``grant_error``)."""
    code = aadsts_code(body)
    if code in AADSTS_HINTS:
        what, fix = AADSTS_HINTS[code]
        return AuthExpired(f"{what} (AADSTS{code})", fix=fix)
    if code in RETRY_CONNECT:
        return AuthenticationFailed(f"The Microsoft 365 sign-in could not be completed (AADSTS{code}).",
                                    fix="Start connecting the account again.")
    if code in {7000215, 7000222}:
        return ConfigError(f"Microsoft 365 rejected the hub's client secret (AADSTS{code}): it is wrong or expired.",
                           fix="An administrator creates a new client secret in Microsoft Entra ID and enters its "
                               "value on the Admin → Providers page.")
    if code in {700016, 90002}:
        return ConfigError(f"Microsoft 365 does not know the hub's application or tenant (AADSTS{code}).",
                           fix="An administrator checks the client id and tenant on the Admin → Providers page.")
    if body.get("error") == "invalid_grant":
        return AuthExpired(f"Microsoft 365 refused the stored sign-in (AADSTS{code or '?'}).", fix=RECONNECT)
    return None


def granted(token: dict[str, Any] | None) -> set[str]:
    """The scopes a stored token was granted, lower-case and without Graph's resource prefix."""
    text = (token or {}).get("scope") or ""
    names = text.split() if isinstance(text, str) else list(text)
    return {n.removeprefix("https://graph.microsoft.com/").lower() for n in names}


def scopes_for(token: dict[str, Any] | None) -> list[str]:
    """The scopes to ask for: all of :data:`SCOPES` for a new sign-in (``token`` None), else only the
    :data:`LATER_SCOPES` the stored grant holds (an account connected before they were added keeps
    refreshing; reconnecting grants them)."""
    if token is None:
        return list(SCOPES)
    held = granted(token)
    return [s for s in SCOPES if s not in LATER_SCOPES or s.lower() in held]


def oauth_client(context: ProviderContext, token: dict[str, Any] | None = None) -> OAuthClient:
    """The OAuth client for the configured tenant (raises ConfigError without a client id); with the
    account's stored ``token``, refreshes ask only for what it was granted (:func:`scopes_for`)."""
    base = setting(context, "login_base").rstrip("/")
    tenant = setting(context, "tenant")
    endpoints = OAuthEndpoints(
        authorize_url=f"{base}/{tenant}/oauth2/v2.0/authorize",
        token_url=f"{base}/{tenant}/oauth2/v2.0/token",
        revoke_url=None,  # the identity platform has no per-app token revocation endpoint
        scopes=scopes_for(token),
        authorize_params={"response_mode": "query", "prompt": "select_account"},
    )
    return OAuthClient(endpoints, setting(context, "client_id"), setting(context, "client_secret") or None,
                       grant_error=grant_error, provider_label=LABEL)
