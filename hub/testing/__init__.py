"""hub.testing: what provider plugins (ours and the community's) are tested with.

* pytest fixtures for real peers (Redis, SQL databases, IMAP, CalDAV, SMTP) — loaded automatically
  through the ``pytest11`` entry point ``hub = hub.testing.plugin``;
* :class:`MemoryProvider`, the in-memory reference provider;
* :class:`ProviderTests`, the conformance suite every provider's tests subclass.
"""

from __future__ import annotations


def __getattr__(name):  # lazy, so that loading the pytest plugin stays cheap
    if name in {"MemoryProvider", "MemoryBackend"}:
        from hub.testing import memory

        return getattr(memory, name)
    if name == "ProviderTests":
        from hub.testing.conformance import ProviderTests

        return ProviderTests
    raise AttributeError(name)
