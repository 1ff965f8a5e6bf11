"""Test helpers for IMAP-based providers: the conformance suite's Remote and connect-form values.

Shipped in the package (not in ``tests/``) so this plugin's tests and the plugins that reuse IMAP
(iCloud) import them the same way, whatever pytest's import mode.
"""

from __future__ import annotations

from hub.testing.conformance import Remote
from hub.types import AccountHandle, ProviderContext

import hub_imap.hooks


class ImapRemote(Remote):
    """Provider-side changes made with a separate IMAP client, the way another mail app makes them."""

    def __init__(self, peer, user):
        self.peer = peer
        self.user = user

    def deliver_mail(self, folder: str, raw: bytes) -> None:
        self.peer.append(self.user, self.peer.mailbox(folder), raw)

    def expire_cursors(self) -> None:
        for folder in ("inbox", "sent"):
            self.peer.expire_uidvalidity(self.user, self.peer.mailbox(folder))


def trusted(*peers) -> str:
    """The peers' self-signed certificates as the admin's "extra CA certificates" setting."""
    return "".join(p.cert_path.read_text() for p in peers)


def context_for(*peers, allow_private: bool = True) -> ProviderContext:
    return ProviderContext(name="imap", config={"ca_certificates": trusted(*peers)}, base_url="http://127.0.0.1:8000",
                           allow_private_hosts=allow_private)


def connect_params(peer, user, smtp_server, *, imap_security: str, smtp_security: str, **changes) -> dict:
    """The connect form as a person fills it in for ``user`` on ``peer``, sending through ``smtp_server``."""
    smtp_server.add_user(user.username, user.password)
    params = {
        "email": user.email, "username": user.username, "password": user.password, "preset": "custom",
        "imap_host": peer.host, "imap_port": str(peer.ssl_port if imap_security == "ssl" else peer.port),
        "imap_security": imap_security,
        "smtp_host": smtp_server.host,
        "smtp_port": str(smtp_server.ssl_port if smtp_security == "ssl" else smtp_server.port),
        "smtp_security": smtp_security,
    }
    params.update(changes)
    return params


def account_for(context: ProviderContext, params: dict, account_id: int = 7) -> AccountHandle:
    """The account the core would store after a successful connect."""
    result = hub_imap.hooks.hub_connect(context=context, params=params)
    return AccountHandle(id=account_id, provider="imap", email=result.email, credentials=dict(result.credentials),
                         settings=dict(result.settings), context=context)
