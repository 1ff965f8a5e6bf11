"""What the peer fixtures share: skip-or-fail when a peer cannot run, and an executable to look for.

The peers themselves are :mod:`hub.peers` (also run by ``hub demo``); this module gives their start-up
the suite's patience.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

import hub.peers.base
from hub.peers.base import free_port, self_signed_cert, wait_for_port
from hub.testing.waiting import PATIENCE

__all__ = ["free_port", "peer_missing", "require_executable", "self_signed_cert", "wait_for_port"]

hub.peers.base.STARTUP_TIMEOUT = PATIENCE


def peer_missing(reason: str):
    """Skip a test whose peer cannot run here — but fail under CI, so CI never skips silently."""
    if os.environ.get("CI"):
        pytest.fail(f"test peer unavailable under CI: {reason}", pytrace=False)
    pytest.skip(reason)


def require_executable(name: str, hint: str) -> str:
    path = shutil.which(name) or next(
        (str(p) for p in (Path("/usr/sbin") / name, Path("/usr/bin") / name) if p.exists()), None
    )
    if not path:
        peer_missing(f"{name} is not installed ({hint})")
    return path
