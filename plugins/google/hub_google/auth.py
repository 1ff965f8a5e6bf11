"""Google OAuth for the plugin: scopes, endpoints and how Google's token errors read.

The protocol work (PKCE, code exchange, refresh with save-back, revoke) is the core's
:class:`hub.oauth.OAuthClient`; this module only describes Google to it.
"""

from __future__ import annotations

from typing import Any

from hub.exceptions import AuthenticationFailed, AuthExpired, ConfigError
from hub.oauth import OAuthClient, OAuthEndpoints

from hub_google.provider import Endpoints

_AUTH = "https://www.googleapis.com/auth/"
CALENDAR = _AUTH + "calendar"  # calendarList needs it; calendar.events alone cannot list calendars
GMAIL_READONLY = _AUTH + "gmail.readonly"
GMAIL_SEND = _AUTH + "gmail.send"
USERINFO_EMAIL = _AUTH + "userinfo.email"
#: the least the hub can work with
SCOPES = ["openid", USERINFO_EMAIL, CALENDAR, GMAIL_READONLY, GMAIL_SEND]
REQUIRED = {CALENDAR: "Calendar", GMAIL_READONLY: "reading Gmail", GMAIL_SEND: "sending Gmail"}
#: Google's short scope names, as they may come back in a token response
ALIASES = {"email": USERINFO_EMAIL, "profile": _AUTH + "userinfo.profile"}

RECONNECT = ("Reconnect the Google account. Google ends a connection when access is removed in the Google "
             "Account's security settings, the password changes, or it goes unused for six months.")


def oauth_endpoints(endpoints: Endpoints) -> OAuthEndpoints:
    """Google's OAuth endpoints, scopes and authorization parameters for the core's client."""
    return OAuthEndpoints(
        authorize_url=endpoints.authorize_url,
        token_url=endpoints.token_url,
        revoke_url=endpoints.revoke_url,
        scopes=list(SCOPES),
        # offline: a refresh token; consent: a refresh token again on a reconnect
        authorize_params={"access_type": "offline", "prompt": "consent", "include_granted_scopes": "true"},
    )


def _refresh_error(body: dict[str, Any]) -> Exception | None:
    if body.get("error") == "invalid_grant":
        detail = body.get("error_description") or "the grant is no longer valid"
        return AuthExpired(f"Google no longer accepts this account's sign-in: {detail}", fix=RECONNECT)
    return None


def _connect_error(body: dict[str, Any]) -> Exception | None:
    error = body.get("error")
    detail = body.get("error_description") or error
    if error == "invalid_grant":
        return AuthenticationFailed(f"Google did not accept the sign-in code: {detail}",
                                    fix="Start the Google connection again: a sign-in can be used once, "
                                        "within a few minutes.")
    if error == "redirect_uri_mismatch":
        return ConfigError("Google refused the hub's callback address.",
                           fix="An administrator adds the hub's callback URL to the OAuth client's authorized "
                               "redirect URIs in the Google Cloud console.")
    if error == "invalid_request":
        return AuthenticationFailed(f"Google refused the sign-in: {detail}", fix="Start the Google connection again.")
    return None


def oauth_client(config: dict[str, Any], connecting: bool = False) -> OAuthClient:
    """The core's OAuth client set up for Google; ``connecting`` picks the error wording of a first sign-in."""
    return OAuthClient(
        oauth_endpoints(Endpoints.from_config(config)),
        config.get("client_id"),
        config.get("client_secret"),
        grant_error=_connect_error if connecting else _refresh_error,
        provider_label="Google",
    )


def granted_scopes(token: dict[str, Any]) -> set[str]:
    """The scopes Google says it granted (short names expanded)."""
    return {ALIASES.get(s, s) for s in str(token.get("scope") or "").split()}


def check_granted(token: dict[str, Any]) -> None:
    """Users may untick scopes on Google's consent screen; the hub needs all of its few."""
    missing = [label for scope, label in REQUIRED.items() if scope not in granted_scopes(token)]
    if missing:
        raise AuthenticationFailed(
            f"Google access was granted only in part: the hub also needs {', '.join(missing)}.",
            fix="Connect again and leave every box ticked on Google's consent screen.",
        )
    if not token.get("refresh_token"):
        raise AuthenticationFailed(
            "Google did not grant offline access, so the hub could not keep the account in sync.",
            fix="Remove the hub under 'Third-party apps' in your Google Account, then connect again.",
        )


def stored_token(token: dict[str, Any]) -> dict[str, Any]:
    """Only what later calls need (the id_token and friends are not kept)."""
    return {k: token[k] for k in ("access_token", "refresh_token", "expires_at", "scope", "token_type") if k in token}
