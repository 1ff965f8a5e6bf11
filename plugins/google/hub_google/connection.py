"""Connecting and disconnecting a Google account.

Connect: trade the code (with the PKCE verifier) for tokens, insist on the scopes and the refresh
token the hub needs, and learn the address from userinfo. Disconnect: stop the account's push
channels, then revoke the grant (Google revokes refresh and access tokens together).
"""

from __future__ import annotations

from typing import Any

import requests

from hub import http
from hub.exceptions import AuthenticationFailed, HubError
from hub.types import AccountHandle, ConnectResult, ProviderContext

from hub_google import channels
from hub_google.auth import check_granted, oauth_client, stored_token
from hub_google.calendar_api import CalendarAPI
from hub_google.client import GoogleClient, raise_for_google
from hub_google.provider import Endpoints


def connect(context: ProviderContext, params: dict[str, Any]) -> ConnectResult:
    """Finish the OAuth callback: tokens, scope check, the account's address."""
    if params.get("error"):
        raise AuthenticationFailed(f"Google sign-in ended without access ({params['error']}).",
                                   fix="Connect again and choose Allow on Google's consent screen.")
    missing = [k for k in ("code", "code_verifier", "redirect_uri") if not params.get(k)]
    if missing:
        raise AuthenticationFailed(f"The Google sign-in did not complete (no {', '.join(missing)}).",
                                   fix="Start the Google connection again.")
    client = oauth_client(context.config, connecting=True)
    token = client.exchange_code(params["code"], params["code_verifier"], params["redirect_uri"])
    check_granted(token)
    info = _userinfo(Endpoints.from_config(context.config), token["access_token"])
    if not info.get("email"):
        raise AuthenticationFailed("Google did not tell the hub the account's address.",
                                   fix="Connect again and allow the hub to see your email address.")
    return ConnectResult(email=info["email"], credentials={"token": stored_token(token)},
                         display_name=info.get("name", ""))


def _userinfo(endpoints: Endpoints, access_token: str) -> dict[str, Any]:
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {access_token}"
        response = http.send(session, "GET", endpoints.userinfo, what="Google", timeout=(10, endpoints.timeout))
        raise_for_google(response)
        return response.json()


def disconnect(account: AccountHandle) -> bool:
    """Stop channels and revoke; nothing here may block the disconnect."""
    token = account.credentials.get("token") or {}
    known = channels.remembered(account)
    if known:
        try:
            with GoogleClient(account) as client:
                api = CalendarAPI(client)
                for channel in known:
                    channels.stop(api, account, channel)
                token = account.credentials.get("token") or token  # a refresh above may have replaced it
        except HubError:
            for channel in known:  # the grant is gone already: Google stops its channels with it
                channels.stop(None, account, channel)
    try:
        oauth_client(account.context.config).revoke(token)
    except HubError:
        pass
    return True
