"""A local sandbox of the Google APIs the plugin uses: OAuth 2.0, Calendar v3 and Gmail v1.

It speaks the real contract over real HTTP (docs/provider-notes.md and the discovery documents),
so the plugin is tested as it runs against Google, and ``hub demo`` can run offline.

* :class:`SandboxState` — the data and the knobs (faults, revocation, expiring cursors);
* :class:`SandboxServer` / :func:`run_sandbox` — serve it on 127.0.0.1 in a thread;
* :func:`seed_demo` — demo calendars, events and mail for one address.
"""

from hub_google.sandbox.demo import seed_demo
from hub_google.sandbox.server import SandboxServer, run_sandbox
from hub_google.sandbox.state import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, SandboxState

__all__ = ["SandboxState", "SandboxServer", "run_sandbox", "seed_demo", "DEFAULT_CLIENT_ID", "DEFAULT_CLIENT_SECRET"]
