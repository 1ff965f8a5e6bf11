"""Google OAuth 2.0 of the sandbox: the consent page, the token and revoke endpoints, userinfo.

The consent page is plain HTML a person (or a headless browser) can use: pick the account, untick
scopes to grant only part of them (as Google's granular consent allows), press "Allow". It then
redirects to ``redirect_uri`` with ``code``, ``scope`` and ``state`` exactly like Google.
"""

from __future__ import annotations

import base64
import html
import time
from urllib.parse import urlencode

from werkzeug.utils import redirect
from werkzeug.wrappers import Response

from hub_google.sandbox.errors import OAuthError, json_response
from hub_google.sandbox.grants import CODE_LIFETIME, AuthCode
from hub_google.sandbox.routing import (
    AUTH,
    CALENDAR,
    CALENDAR_RO,
    CALENDARLIST,
    CALENDARLIST_RO,
    EVENTS,
    EVENTS_RO,
    FREEBUSY,
    GMAIL_COMPOSE,
    GMAIL_MODIFY,
    GMAIL_RO,
    GMAIL_SEND,
    MAIL,
    SCOPE_ALIASES,
    USERINFO_EMAIL,
    USERINFO_PROFILE,
    Call,
    Route,
)

KNOWN_SCOPES = {CALENDAR, CALENDAR_RO, EVENTS, EVENTS_RO, CALENDARLIST, CALENDARLIST_RO, FREEBUSY, GMAIL_RO,
                GMAIL_MODIFY, GMAIL_SEND, GMAIL_COMPOSE, MAIL, USERINFO_EMAIL, USERINFO_PROFILE, "openid",
                AUTH + "gmail.metadata"}
#: granted whenever asked for: Google does not let the user untick sign-in itself
BASIC = {"openid", USERINFO_EMAIL, USERINFO_PROFILE}
AUTH_PATH = "/o/oauth2/v2/auth"
PARAMS = ("client_id", "redirect_uri", "response_type", "scope", "state", "access_type", "prompt",
          "code_challenge", "code_challenge_method", "login_hint", "include_granted_scopes")


def _error_page(code: int, error: str, detail: str) -> Response:
    body = (f"<!doctype html><title>Error {code}: {html.escape(error)}</title>"
            f"<h1>Access blocked: this request is invalid</h1><p><b>Error {code}: {html.escape(error)}</b></p>"
            f"<p>{html.escape(detail)}</p>")
    return Response(body, status=code, content_type="text/html; charset=utf-8")


def _scopes(text: str) -> list[str]:
    return list(dict.fromkeys(SCOPE_ALIASES.get(s, s) for s in (text or "").split()))


def _check(call: Call, params: dict) -> Response | None:
    """Google's checks before it shows the consent screen; an error page when one fails."""
    state = call.state
    if not params.get("client_id"):
        return _error_page(400, "invalid_request", "Missing required parameter: client_id")
    client = state.grants.clients.get(params["client_id"])
    if client is None:
        return _error_page(401, "invalid_client", "The OAuth client was not found.")
    uri = params.get("redirect_uri") or ""
    if not uri or (client.redirect_uris and uri not in client.redirect_uris):
        return _error_page(400, "redirect_uri_mismatch",
                           f"You can't sign in to this app because it doesn't comply with Google's OAuth 2.0 "
                           f"policy. redirect_uri={uri}")
    if params.get("response_type") != "code":
        return _error_page(400, "unsupported_response_type", f"Invalid response_type: {params.get('response_type')}")
    scopes = _scopes(params.get("scope", ""))
    if not scopes:
        return _error_page(400, "invalid_request", "Missing required parameter: scope")
    if set(scopes) - KNOWN_SCOPES:
        return _error_page(400, "invalid_scope", f"Some requested scopes were invalid: {sorted(set(scopes) - KNOWN_SCOPES)}")
    method = params.get("code_challenge_method")
    if params.get("code_challenge") and method not in (None, "S256", "plain"):
        return _error_page(400, "invalid_request", f"Invalid code_challenge_method: {method}")
    return None


def authorize(call: Call):
    """GET shows the consent page; POST is the user's answer."""
    source = call.request.form if call.request.method == "POST" else call.request.args
    params = {name: source.get(name) for name in PARAMS if source.get(name) is not None}
    problem = _check(call, params)
    if problem is not None:
        return problem
    if call.request.method == "GET":
        return _consent_page(call, params)
    answer = {"state": params["state"]} if "state" in params else {}
    if call.request.form.get("decision") != "allow":
        return redirect(_with_query(params["redirect_uri"], {"error": "access_denied", **answer}))
    email = (call.request.form.get("email") or "").strip()
    if not email or "@" not in email:
        return _error_page(400, "invalid_request", "Choose an account.")
    user = call.state.add_user(email)  # a new address signs up, as a person would with a new account
    ticked = set(call.request.form.getlist("grant"))
    scopes = tuple(s for s in _scopes(params["scope"]) if s in ticked or s in BASIC)
    code = call.state.grants.issue_code(AuthCode(
        client_id=params["client_id"], redirect_uri=params["redirect_uri"], email=user.email, scopes=scopes,
        challenge=params.get("code_challenge"), challenge_method=params.get("code_challenge_method"),
        offline=params.get("access_type") == "offline", force_consent="consent" in params.get("prompt", "").split(),
        expires=time.time() + CODE_LIFETIME))
    return redirect(_with_query(params["redirect_uri"], {
        **answer, "code": code, "scope": " ".join(scopes), "authuser": "0", "prompt": "consent"}))


def _with_query(uri: str, query: dict) -> str:
    return uri + ("&" if "?" in uri else "?") + urlencode(query)


def _consent_page(call: Call, params: dict) -> Response:
    hint = params.get("login_hint", "")
    users = list(call.state.users)
    if users:
        # as Google's account chooser: nobody's account is picked for the person unless the app hinted it
        choose = "" if hint in users else '<option value="" selected disabled>Choose an account</option>'
        options = choose + "".join(f'<option value="{html.escape(u)}"{" selected" if u == hint else ""}>'
                                   f"{html.escape(u)}</option>" for u in users)
        account = f'<select name="email" id="email" required>{options}</select>'
    else:
        account = f'<input name="email" id="email" type="email" required value="{html.escape(hint)}">'
    boxes = "".join(
        f'<li><label><input type="checkbox" name="grant" value="{html.escape(s)}" checked'
        f'{" disabled" if s in BASIC else ""}> {html.escape(s)}</label></li>'
        for s in _scopes(params["scope"]))
    hidden = "".join(f'<input type="hidden" name="{k}" value="{html.escape(v)}">' for k, v in params.items())
    client = html.escape(params["client_id"])
    body = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in - Google Accounts (sandbox)</title>
<style>body{{font-family:sans-serif;max-width:34em;margin:3em auto}}button{{font-size:1.1em;margin-right:1em}}</style>
</head><body>
<h1>Google sandbox</h1>
<p><b>{client}</b> wants to access your Google Account</p>
<form method="post" action="{AUTH_PATH}">
{hidden}
<p><label for="email">Account</label> {account}</p>
<p>This will allow the app to:</p><ul>{boxes}</ul>
<button type="submit" name="decision" value="allow" id="allow">Allow</button>
<button type="submit" name="decision" value="deny" id="deny" formnovalidate>Cancel</button>
</form></body></html>"""
    return Response(body, content_type="text/html; charset=utf-8")


# --- token and revoke -------------------------------------------------------------------------------


def _client(call: Call):
    form = call.request.form
    client_id, secret = form.get("client_id"), form.get("client_secret")
    basic = call.request.headers.get("Authorization", "")
    if basic.lower().startswith("basic "):
        try:
            client_id, _, secret = base64.b64decode(basic[6:]).decode().partition(":")
        except ValueError:
            raise OAuthError("invalid_client", "Unauthorized", 401) from None
    return call.state.grants.authenticate_client(client_id, secret)


def token(call: Call):
    """The token endpoint: code exchange and refresh."""
    form = call.request.form
    client = _client(call)
    grant_type = form.get("grant_type")
    if grant_type == "authorization_code":
        body = call.state.grants.redeem_code(client, form.get("code"), form.get("redirect_uri"),
                                             form.get("code_verifier"))
    elif grant_type == "refresh_token":
        body = call.state.grants.refresh(client, form.get("refresh_token"), _scopes(form.get("scope", "")))
    else:
        raise OAuthError("unsupported_grant_type", f"Invalid grant_type: {grant_type}")
    return json_response(body, headers={"Cache-Control": "no-cache, no-store, max-age=0, must-revalidate",
                                        "Pragma": "no-cache"})


def revoke(call: Call):
    """The revoke endpoint (refresh or access token)."""
    value = call.request.form.get("token") or call.request.args.get("token")
    if not value:
        raise OAuthError("invalid_request", "Missing required parameter: token")
    call.state.grants.revoke(value)
    return json_response({})


# --- userinfo ------------------------------------------------------------------------------------------


def userinfo(call: Call):
    """``oauth2.userinfo.get`` (v2 shape, described in the oauth2 v2 discovery document)."""
    user = call.user
    given, _, family = user.name.partition(" ")
    body = {"id": user.sub, "name": user.name, "given_name": given,
            "picture": "https://lh3.googleusercontent.com/a/default-user=s96-c"}
    if family:
        body["family_name"] = family
    if call.has_scope(USERINFO_EMAIL):
        body.update(email=user.email, verified_email=True)
    return body


ROUTES = [
    Route(AUTH_PATH, ("GET", "POST"), authorize, None, None),
    Route("/token", ("POST",), token, None, None),
    Route("/revoke", ("POST",), revoke, None, None),
    Route("/oauth2/v2/userinfo", ("GET",), userinfo, "oauth2.userinfo.get",
          ("openid", USERINFO_EMAIL, USERINFO_PROFILE)),
]
