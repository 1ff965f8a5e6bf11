"""The Cyrus peer fixture: ``cyrus``, one Cyrus IMAP + CalDAV server per test session.

The server is :mod:`hub.peers.cyrus` (its docstring says how it is configured and used).
"""

from __future__ import annotations

import shutil

import pytest

from hub.peers.base import peer_directory
from hub.peers.cyrus import CYRUS_ROOT, CyrusServer, create_special
from hub.testing.peers.base import peer_missing

__all__ = ["CYRUS_ROOT", "CyrusServer", "create_special", "cyrus"]


@pytest.fixture(scope="session")
def cyrus():
    """A Cyrus IMAP + CalDAV server (CONDSTORE, QRESYNC, SPECIAL-USE, IDLE via idled) for the test session."""
    if not (CYRUS_ROOT / "usr/lib/cyrus/bin/master").exists():
        peer_missing(f"Cyrus is not unpacked under {CYRUS_ROOT} (see .ci/run, or set HUB_CYRUS_ROOT)")
    directory = peer_directory("hub-cyrus-")
    server = CyrusServer(directory)
    try:
        server.start()
    except (RuntimeError, OSError) as exc:
        shutil.rmtree(directory, ignore_errors=True)
        peer_missing(str(exc))
    yield server
    server.stop()
    shutil.rmtree(directory, ignore_errors=True)
