"""The demo hook: a provider's local stand-in for ``hub demo`` (optional)."""

from __future__ import annotations

from hub.hookspecs.markers import hookspec
from hub.types import DemoSandbox, ProviderContext

# -------------------------------------------------------------------------------------------------
# The demo (optional)
# -------------------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def hub_demo_sandbox(context: ProviderContext, people: dict[str, str]) -> DemoSandbox | None:
    """Start a local stand-in of the provider's service for ``hub demo``.

    **Caller:** ``hub demo``, once per enabled provider, before it seeds the demo company; a
    provider without a stand-in leaves the hook out (its part of the demo is skipped, or covered by
    the demo's own IMAP, SMTP and CalDAV servers). A plugin that ships a sandbox implements it so
    the demo needs no provider names and no test code.

    **Retries:** none; a stand-in that raises is skipped with a note in the demo's welcome text.

    **Threads:** the demo's main thread; the stand-in runs on threads of its own until ``stop``.

    **Limits:** the person waits for the demo to start: seed a few weeks of data, not years. The
    stand-in listens on loopback only and keeps its data in memory.

    What each field of :class:`~hub.types.DemoSandbox` makes the demo do:

    * ``config`` — stored as the provider's admin configuration, so the provider talks to the
      stand-in (its URLs, an OAuth client registered there);
    * ``consent_form`` — for the demo users connected at start, the demo opens the provider's
      authorization URL and posts these fields to the consent page as the person's browser would,
      then finishes the connect with the code it is redirected to;
    * ``stop`` — called once, when the demo ends.

    :param context: the provider's context; ``base_url`` is the demo's web address (plain http on
        loopback, so a stand-in that sends push notifications must allow that).
    :param people: the demo users, address → display name; give each a mailbox and calendars with
        a few weeks of demo data, written with the customers' addresses the demo seeds.
    :return: the running stand-in with the configuration that points the provider at it; ``None``
        when the provider has none.
    :raises: anything — the demo logs it and runs without this provider.
    """
