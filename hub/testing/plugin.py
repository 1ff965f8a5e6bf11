"""The ``hub`` pytest plugin (entry point ``pytest11``): loads the hub's fixtures and every peer module.

Peer fixtures live one module per protocol under :mod:`hub.testing.peers`; each module found there
is loaded, so adding a peer needs no registration here.
"""

from __future__ import annotations

import os
import pkgutil

from hub.testing import peers

try:
    from hypothesis import settings
except ImportError:  # a plugin author's test environment without Hypothesis
    settings = None  # type: ignore[misc, assignment]

if settings is not None:
    # The same commit gives the same answer: generated tests draw a fixed sequence of examples unless a
    # developer asks for exploration (``--hypothesis-profile=explore`` or HUB_HYPOTHESIS=explore), which
    # draws new examples each run and prints a reproduction blob for each failure.
    settings.register_profile("repeatable", derandomize=True, database=None, print_blob=True)
    settings.register_profile("explore", derandomize=False, print_blob=True)
    settings.load_profile(os.environ.get("HUB_HYPOTHESIS", "repeatable"))

pytest_plugins = ["hub.testing.fixtures"] + [
    f"hub.testing.peers.{module.name}"
    for module in pkgutil.iter_modules(peers.__path__)
    if module.name != "base"
]
