"""Serving the sandbox: :class:`SandboxServer` runs it in a thread on 127.0.0.1.

::

    with SandboxServer() as sandbox:                 # a free port
        sandbox.state.add_user("alice@example.com")
        config = sandbox.provider_config()           # what the hub's Google provider settings get
        ...

``python -m hub_google.sandbox --port 8765 --demo alice@example.com`` serves it in the foreground.
"""

from __future__ import annotations

import logging
import os
import threading

from werkzeug.serving import make_server

from hub_google.sandbox.app import SandboxApp
from hub_google.sandbox.state import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, SandboxState


class SandboxServer:
    """The sandbox's WSGI app on a real socket, served by a background thread.

    :param port: 0 picks a free port.
    :param state: the state to serve; a fresh one by default.
    """

    def __init__(self, port: int = 0, state: SandboxState | None = None, host: str = "127.0.0.1"):
        self.state = state or SandboxState()
        self._server = make_server(host, port, SandboxApp(self.state), threaded=True)
        self.port = self._server.server_port
        self.url = f"http://{host}:{self.port}"
        self.state.base_url = self.url
        self._thread: threading.Thread | None = None

    def start(self) -> "SandboxServer":
        """Serve in a background thread (idempotent)."""
        if self._thread is None:
            # werkzeug logs every request at INFO; the sandbox is chatty enough without it
            logging.getLogger("werkzeug").setLevel(logging.WARNING)
            self.state.notifier.start()
            self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                            name=f"google-sandbox-{self.port}", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and delivering notifications."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=10)
            self._thread = None
        self._server.server_close()
        self.state.notifier.stop()

    def __enter__(self) -> "SandboxServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def provider_config(self, client_id: str = DEFAULT_CLIENT_ID, client_secret: str = DEFAULT_CLIENT_SECRET) -> dict:
        """The Google provider settings that point the plugin at this sandbox."""
        return {"client_id": client_id, "client_secret": client_secret, "auth_base": self.url,
                "token_url": f"{self.url}/token", "api_base": self.url}


def run_sandbox(port: int = 0, state: SandboxState | None = None, demo_email: str | None = None) -> SandboxServer:
    """Start a sandbox server (seeded with demo data for ``demo_email`` if given); the caller stops it.

    Sets ``OAUTHLIB_INSECURE_TRANSPORT=1`` in this process: oauthlib (under hub.oauth) refuses the
    sandbox's http:// authorization URL otherwise. Only use it where the sandbox is meant to be used.
    """
    os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")
    if demo_email:
        from hub_google.sandbox.demo import seed_demo

        state = state or SandboxState()
        seed_demo(state, demo_email)
    return SandboxServer(port, state).start()
