"""The ``hub`` pytest plugin (entry point ``pytest11``): loads the hub's fixtures and every peer module.

Peer fixtures live one module per protocol under :mod:`hub.testing.peers`; each module found there
is loaded, so adding a peer needs no registration here.
"""

from __future__ import annotations

import pkgutil

from hub.testing import peers

pytest_plugins = ["hub.testing.fixtures"] + [
    f"hub.testing.peers.{module.name}"
    for module in pkgutil.iter_modules(peers.__path__)
    if module.name != "base"
]
