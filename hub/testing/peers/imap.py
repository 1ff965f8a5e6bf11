"""The IMAP peer fixtures: ``dovecot`` and ``pymap``, one server each per test session.

The servers are :mod:`hub.peers.imap` (its docstring shows how tests use them).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from hub.peers.base import peer_directory
from hub.peers.imap import DovecotServer, ImapPeer, MailUser, PymapServer
from hub.testing.peers.base import peer_missing, require_executable

__all__ = ["DovecotServer", "ImapPeer", "MailUser", "PymapServer", "dovecot", "pymap"]


@pytest.fixture(scope="session")
def dovecot():
    """A Dovecot IMAP server (CONDSTORE, QRESYNC, SPECIAL-USE, IDLE, XOAUTH2) for the test session."""
    executable = require_executable("dovecot", "apt-get install dovecot-imapd")
    if os.geteuid() != 0:
        peer_missing("the dovecot fixture runs Dovecot as root (it switches to nobody for mail)")
    directory = peer_directory("hub-dovecot-")
    server = DovecotServer(directory, executable)
    try:
        server.start()
    except RuntimeError as exc:
        shutil.rmtree(directory, ignore_errors=True)
        peer_missing(str(exc))
    yield server
    server.stop()
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def pymap():
    """A pymap IMAP server (plain IMAP4rev1 + IDLE, no CONDSTORE/SPECIAL-USE) for the test session."""
    executable = shutil.which("pymap") or str(Path(sys.executable).parent / "pymap")
    if not Path(executable).exists():
        peer_missing("pymap is not installed (pip install pymap)")
    directory = peer_directory("hub-pymap-")
    server = PymapServer(directory, executable)
    try:
        server.start()
    except RuntimeError as exc:
        shutil.rmtree(directory, ignore_errors=True)
        peer_missing(str(exc))
    yield server
    server.stop()
    shutil.rmtree(directory, ignore_errors=True)
