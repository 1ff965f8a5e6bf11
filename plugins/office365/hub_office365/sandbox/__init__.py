"""A local stand-in for Microsoft 365: the identity platform v2.0 and the Graph endpoints the plugin uses.

Use :func:`serve` (a context manager running it on 127.0.0.1) with a :class:`SandboxState`, whose Python
API plays the user, the administrator and the service's failure modes. :func:`seed_demo` fills a
mailbox for ``hub demo``.
"""

from hub_office365.sandbox.seed import seed_demo
from hub_office365.sandbox.server import RunningSandbox, SandboxApp, serve
from hub_office365.sandbox.state import SandboxState

__all__ = ["RunningSandbox", "SandboxApp", "SandboxState", "seed_demo", "serve"]
