"""The connect hooks: the OAuth authorization URL, connecting and disconnecting an account."""

from __future__ import annotations

from typing import Any

from hub.hookspecs.markers import hookspec
from hub.types import AccountHandle, ConnectResult, OAuthStart, ProviderContext

# -------------------------------------------------------------------------------------------------
# Connecting
# -------------------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def hub_authorization_url(context: ProviderContext, start: OAuthStart) -> str | None:
    """Build the provider's OAuth authorization URL, where the user's browser is sent to consent.

    **Caller:** the web connect flow, when a user clicks "Connect" for a provider with
    ``connect_kind="oauth"`` — on ``context.name``'s plugin only. The core has already made
    ``start.state`` and the PKCE pair (:func:`hub.oauth.start`) and remembers them in the user's
    session; the URL must carry ``state``, ``code_challenge`` with ``code_challenge_method=S256``,
    ``redirect_uri``, offline access (a refresh token) and the fewest scopes that work, and
    ``login_hint`` when given. :meth:`hub.oauth.OAuthClient.authorization_url` does all this.
    Form providers do not implement it (their ``None`` answer means "no authorization URL").

    **Retries:** every click calls it again with a fresh ``start``; build the URL from the arguments
    only, without calling the provider.

    **Threads:** a web request thread of any web process.

    **Limits:** the URL goes to the browser as it is: it may hold the public client id, never the
    client secret or ``start.code_verifier``.

    :param context: the provider's admin configuration (``config``: client id …) and the hub's
        ``base_url``.
    :param start: the core's half of the authorization: ``redirect_uri``, ``state``,
        ``code_challenge``, ``login_hint``.
    :return: the URL; the browser is redirected there, and the provider redirects back to
        ``start.redirect_uri`` with ``code`` and ``state``, which lead to :func:`hub_connect`.
    :raises ConfigError: the administrator has not entered the OAuth client credentials; the page
        shows the message.
    """


@hookspec(firstresult=True)
def hub_connect(context: ProviderContext, params: dict[str, Any]) -> ConnectResult | None:
    """Check credentials for real and return what the hub stores for the new (or reconnected) account.

    **Caller:** the web connect flow (and the API), on ``context.name``'s plugin only: for OAuth
    providers from the callback, with ``params`` holding ``code``, ``code_verifier`` and
    ``redirect_uri``; for form providers with the form's fields. Verify the credentials for real —
    exchange the code, log in over IMAP, authenticate over SMTP, discover the CalDAV home. The core
    then stores the account, encrypts the credentials, enqueues the initial sync (unless the account
    waits as Pending for a free mailbox slot) and broadcasts :func:`hub_account_connected`.

    **Retries:** not retried by the hub; a person may submit again. An OAuth ``code`` works only
    once, so a repeated callback fails with ``AuthenticationFailed`` and the person starts over.

    **Threads:** a web request thread of any web process: answer within a request's time (the
    timeouts of ``hub.http`` and ``hub.ssrf_guard`` see to that).

    **Limits:** ``credentials`` and ``settings`` must be JSON-serialisable dicts;
    ``email`` is at most 320 characters.

    What each field of :class:`~hub.types.ConnectResult` makes the hub do:

    * ``email`` — identifies the account: connecting again to the same provider with the same
      address (compared case-insensitively) reconnects the existing account — clearing its error and
      restoring what a disconnect deactivated — instead of adding a second one. It is shown on the
      integrations page and handed back as ``account.email``. Empty is refused with a
      ``ValidationError``;
    * ``credentials`` — stored encrypted at rest, replacing earlier ones, and handed back decrypted
      as ``account.credentials`` on every later call; never shown or logged;
    * ``display_name`` — shown next to the address; empty keeps the one stored before;
    * ``settings`` — merged into the account's stored settings (the keys returned win, others stay)
      and handed back as ``account.settings`` (discovered URLs, server names).

    :param context: the provider's admin configuration, the hub's ``base_url`` and whether private
        hosts are allowed (``allow_private_hosts``; ``hub.ssrf_guard`` refuses them otherwise).
    :param params: the OAuth callback's values or the connect form's fields, as entered.
    :return: the account to store.
    :raises AuthenticationFailed: wrong credentials, with a fix hint (e.g. "create an app
        password"); shown on the form.
    :raises ConnectFailed: the host cannot be reached; ``HostNotAllowed`` for a refused address.
    :raises NotSupported: the account cannot be served (e.g. an on-premises Exchange mailbox).
    """


@hookspec(firstresult=True)
def hub_disconnect(account: AccountHandle) -> bool | None:
    """Revoke the account's tokens at the provider and release what it holds there.

    **Caller:** the disconnect flow (user or administrator) after the person confirmed, on the
    account's own provider only, after :func:`hub_unwatch` for each of its push channels. The core
    then marks the account Disconnected and deletes its stored credentials, whatever the answer.

    **Retries:** not retried; it may still be called for an account whose grant is already gone
    (revoked at the provider, a password changed): that counts as done.

    **Threads:** a web request thread of any web process.

    **Limits:** must not block a disconnect: a provider that cannot be reached is no reason to fail —
    swallow network errors and return ``True``. The core logs and ignores whatever still escapes.

    :param account: the account being disconnected, with its credentials.
    :return: ``True`` when done — also when nothing was left to release (password accounts).
    :raises: nothing — errors are swallowed here.
    """
