"""Microsoft identity platform v2.0: the authorize (consent) page and the token endpoint.

``/{tenant}/oauth2/v2.0/authorize`` shows a consent page with an **Accept** button (a browser can
click it; a test can POST the form) and redirects back with ``code`` and ``state``.
``/{tenant}/oauth2/v2.0/token`` redeems codes (checking the PKCE S256 verifier), refreshes (always
issuing a NEW refresh token) and fails the way Entra ID does: HTTP 400 with ``error``,
``error_description`` starting "AADSTSnnnnn:", ``error_codes``, trace and correlation ids.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode

from werkzeug.routing import Rule
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from hub_office365.sandbox.ids import now
from hub_office365.sandbox.state import Grant, SandboxState

#: AADSTS code -> (error, description) as Entra ID words them
AADSTS = {
    50173: ("invalid_grant", "The provided grant has expired due to it being revoked, a fresh auth token is needed. "
                             "The user might have changed or reset their password."),
    700082: ("invalid_grant", "The refresh token has expired due to inactivity. The token was issued on "
                              "{issued} and was inactive for 90.00:00:00."),
    70008: ("invalid_grant", "The provided authorization code or refresh token has expired due to inactivity. "
                             "Send a new interactive authorization request for this user and resource."),
    65001: ("invalid_grant", "The user or administrator has not consented to use the application with ID "
                             "'{client}'. Send an interactive authorization request for this user and resource."),
    50076: ("invalid_grant", "Due to a configuration change made by your administrator, or because you moved to a "
                             "new location, you must use multi-factor authentication to access "
                             "'00000003-0000-0000-c000-000000000000'."),
    50079: ("invalid_grant", "Due to a configuration change made by your administrator, or because you moved to a "
                             "new location, you must enroll in multi-factor authentication to access "
                             "'00000003-0000-0000-c000-000000000000'."),
    70043: ("invalid_grant", "The refresh token has expired or is invalid due to sign-in frequency checks by "
                             "conditional access."),
    54005: ("invalid_grant", "OAuth2 Authorization code was already redeemed, please retry with a new valid code "
                             "or use an existing refresh token."),
    501481: ("invalid_grant", "The Code_Verifier does not match the code_challenge supplied in the authorization "
                              "request."),
    9002313: ("invalid_grant", "Invalid request. Request is malformed or invalid."),
    50148: ("invalid_grant", "The code_verifier does not match the code_challenge supplied in the authorization "
                             "request for PKCE."),
    700016: ("unauthorized_client", "Application with identifier '{client}' was not found in the directory "
                                    "'sandbox'."),
    7000215: ("invalid_client", "Invalid client secret provided. Ensure the secret being sent in the request is the "
                                "client secret value, not the client secret ID, for a secret added to app "
                                "'{client}'."),
    70003: ("unsupported_grant_type", "The app requested an unsupported grant type."),
    900144: ("invalid_request", "The request body must contain the following parameter: '{param}'."),
}
SUBERRORS = {50173: None, 700082: "bad_token", 65001: "consent_required", 50076: "basic_action",
             50079: "basic_action", 70043: "bad_token"}


def aadsts_response(code: int, status: int = 400, **fmt: str) -> Response:
    """Entra ID's exact error body for AADSTS ``code``."""
    error, text = AADSTS[code]
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")
    trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
    fmt.setdefault("issued", stamp)
    fmt.setdefault("client", "")
    fmt.setdefault("param", "")
    body = {
        "error": error,
        "error_description": f"AADSTS{code}: {text.format(**fmt)}\r\nTrace ID: {trace}\r\n"
                             f"Correlation ID: {correlation}\r\nTimestamp: {stamp}",
        "error_codes": [code], "timestamp": stamp, "trace_id": trace, "correlation_id": correlation,
        "error_uri": f"https://login.microsoftonline.com/error?code={code}",
    }
    if SUBERRORS.get(code):
        body["suberror"] = SUBERRORS[code]
    return Response(json.dumps(body), status=status, content_type="application/json; charset=utf-8")


CONSENT_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Permissions requested</title></head>
<body>
<h1>Permissions requested</h1>
<p>Microsoft 365 sandbox &mdash; tenant {tenant}</p>
<form method="post">
{hidden}
<label>Account <input type="email" name="login" value="{login}" required></label>
<p>This app would like to:</p>
<ul>{scopes}</ul>
{error}
<button type="submit" name="consent" value="accept" id="accept">Accept</button>
<button type="submit" name="consent" value="cancel" id="cancel">Cancel</button>
</form>
</body></html>"""


def authorize(state: SandboxState, request: Request, tenant: str) -> Response:
    """GET: the consent page; POST: the user's answer, redirecting back with a code (or an error)."""
    params = request.values
    client_id = params.get("client_id", "")
    if client_id not in state.clients:
        return Response(f"<h1>Sign in</h1><p>AADSTS700016: Application with identifier '{html.escape(client_id)}' "
                        "was not found in the directory.</p>", status=400, content_type="text/html")
    if not params.get("redirect_uri") or params.get("response_type") != "code":
        return Response("<p>AADSTS900144: The request body must contain redirect_uri and response_type=code.</p>",
                        status=400, content_type="text/html")
    if params.get("code_challenge") and params.get("code_challenge_method", "plain") != "S256":
        return Response("<p>AADSTS501491: Invalid code_challenge_method: only S256 is supported.</p>",
                        status=400, content_type="text/html")
    if request.method == "GET":
        return _consent_page(state, params, tenant, error="")
    back = params["redirect_uri"]
    sep = "&" if "?" in back else "?"
    if params.get("consent") != "accept":
        return redirect(back + sep + urlencode({
            "error": "access_denied", "state": params.get("state", ""),
            "error_description": "AADSTS65004: User declined to consent to access the app."}))
    login = params.get("login", "").strip().lower()
    with state.lock:
        if login not in state.mailboxes:
            return _consent_page(state, params, tenant, error="This username may be incorrect.")
        code = "0.AR8A" + secrets.token_urlsafe(48)
        state.codes[code] = {
            "client_id": client_id, "redirect_uri": back, "email": login,
            "scopes": [s for s in params.get("scope", "").split() if s],
            "challenge": params.get("code_challenge"), "expires": now() + timedelta(minutes=10),
        }
    return redirect(back + sep + urlencode({"code": code, "state": params.get("state", ""),
                                            "session_state": str(uuid.uuid4())}))


def _consent_page(state: SandboxState, params, tenant: str, error: str) -> Response:
    keep = ("client_id", "response_type", "redirect_uri", "scope", "state", "code_challenge",
            "code_challenge_method", "login_hint", "prompt", "response_mode")
    hidden = "\n".join(f'<input type="hidden" name="{k}" value="{html.escape(params[k])}">'
                       for k in keep if k in params)
    login = params.get("login") or params.get("login_hint") or next(iter(state.mailboxes), "")
    scopes = "".join(f"<li>{html.escape(s)}</li>" for s in params.get("scope", "").split())
    page = CONSENT_PAGE.format(tenant=html.escape(tenant), hidden=hidden, login=html.escape(login), scopes=scopes,
                               error=f'<p class="error">{html.escape(error)}</p>' if error else "")
    return Response(page, content_type="text/html; charset=utf-8")


def token(state: SandboxState, request: Request, tenant: str) -> Response:
    """The token endpoint: authorization_code (with PKCE) and refresh_token grants."""
    form = request.form
    client_id, secret = form.get("client_id", ""), form.get("client_secret")
    if request.authorization and request.authorization.type == "basic":
        client_id, secret = request.authorization.username, request.authorization.password
    if client_id not in state.clients:
        return aadsts_response(700016, client=client_id)
    if state.clients[client_id] and secret != state.clients[client_id]:
        return aadsts_response(7000215, status=401, client=client_id)
    grant_type = form.get("grant_type")
    if grant_type == "authorization_code":
        return _redeem_code(state, form, client_id)
    if grant_type == "refresh_token":
        return _refresh(state, form, client_id)
    if not grant_type:
        return aadsts_response(900144, param="grant_type")
    return aadsts_response(70003)


def _redeem_code(state: SandboxState, form, client_id: str) -> Response:
    with state.lock:
        entry = state.codes.get(form.get("code", ""))
        if entry is None:
            return aadsts_response(9002313)
        if entry.get("redeemed"):
            return aadsts_response(54005)
        if entry["expires"] < now():
            return aadsts_response(70008)
        if entry["client_id"] != client_id or entry["redirect_uri"] != form.get("redirect_uri"):
            return aadsts_response(9002313)
        if entry["challenge"]:
            verifier = form.get("code_verifier", "")
            digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            if digest != entry["challenge"]:
                return aadsts_response(501481)
        entry["redeemed"] = True
        grant = Grant(id=str(uuid.uuid4()), email=entry["email"], client_id=client_id, scopes=entry["scopes"])
        state.grants[grant.id] = grant
        body = state.issue_tokens(grant)
    return Response(json.dumps(body), content_type="application/json; charset=utf-8")


def _refresh(state: SandboxState, form, client_id: str) -> Response:
    with state.lock:
        grant_id = state.refresh_tokens.get(form.get("refresh_token", ""))
        grant = state.grants.get(grant_id) if grant_id else None
        if grant is None or grant.client_id != client_id:
            return aadsts_response(9002313)
        if grant.failure:
            return aadsts_response(grant.failure, client=client_id)
        if _scopes(form.get("scope", "")) - _scopes(" ".join(grant.scopes)) - {".default"}:
            return aadsts_response(65001, client=client_id)  # more than the user consented to
        body = state.issue_tokens(grant)
    return Response(json.dumps(body), content_type="application/json; charset=utf-8")


#: scopes every sign-in may ask for without consent to a resource
OPENID_SCOPES = {"openid", "profile", "email", "offline_access"}


def _scopes(text: str) -> set[str]:
    """Resource scopes named in a scope parameter, without Graph's resource prefix (compared case-blind)."""
    names = {s.removeprefix("https://graph.microsoft.com/").lower() for s in text.split()}
    return names - OPENID_SCOPES


def openid_configuration(state: SandboxState, request: Request, tenant: str) -> Response:
    """The OpenID Connect discovery document, so MSAL-style clients can be pointed at the sandbox."""
    base = request.host_url.rstrip("/")
    issuer_tenant = state.tenant_id if tenant in {"common", "organizations", "consumers"} else tenant
    body = {
        "token_endpoint": f"{base}/{tenant}/oauth2/v2.0/token",
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": f"{base}/{tenant}/discovery/v2.0/keys",
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": f"{base}/{issuer_tenant}/v2.0",
        "request_uri_parameter_supported": False,
        "userinfo_endpoint": f"{base}/oidc/userinfo",
        "authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/authorize",
        "device_authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/devicecode",
        "http_logout_supported": True,
        "frontchannel_logout_supported": True,
        "end_session_endpoint": f"{base}/{tenant}/oauth2/v2.0/logout",
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username",
                             "name", "tid", "ver", "at_hash", "c_hash", "email"],
        "kerberos_endpoint": f"{base}/{tenant}/kerberos",
        "tenant_region_scope": "EU",
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com",
        "rbac_url": "https://pas.windows.net",
    }
    return Response(json.dumps(body), content_type="application/json; charset=utf-8")


def keys(state: SandboxState, request: Request, tenant: str) -> Response:
    """The signing keys document: the sandbox's tokens are opaque, so it holds none."""
    return Response(json.dumps({"keys": []}), content_type="application/json; charset=utf-8")


def rules() -> list[Rule]:
    """URL rules of the identity platform (tenant may be a GUID, common, organizations, consumers)."""
    return [
        Rule("/<tenant>/oauth2/v2.0/authorize", endpoint=authorize, methods=["GET", "POST"]),
        Rule("/<tenant>/oauth2/v2.0/token", endpoint=token, methods=["POST"]),
        Rule("/<tenant>/v2.0/.well-known/openid-configuration", endpoint=openid_configuration, methods=["GET"]),
        Rule("/<tenant>/discovery/v2.0/keys", endpoint=keys, methods=["GET"]),
    ]
