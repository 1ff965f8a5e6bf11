"""The SMTP peer fixture: ``smtp_server``, one aiosmtpd server per test session, emptied for each test.

The server is :mod:`hub.peers.smtp` (its docstring shows how tests use it).
"""

from __future__ import annotations

import importlib.util
import shutil
import tempfile
from pathlib import Path

import pytest

from hub.peers.smtp import CapturedMessage, SmtpServer, SmtpUser, peer_certificate
from hub.testing.peers.base import peer_missing

__all__ = ["CapturedMessage", "SmtpServer", "SmtpUser", "peer_certificate", "smtp_server"]


@pytest.fixture(scope="session")
def _smtp_server_session():
    if importlib.util.find_spec("aiosmtpd") is None:
        peer_missing("aiosmtpd is not installed (pip install aiosmtpd)")
    directory = Path(tempfile.mkdtemp(prefix="hub-smtp-"))
    server = SmtpServer(directory)
    try:
        server.start()
    except Exception as exc:  # a controller that cannot start names its own cause
        shutil.rmtree(directory, ignore_errors=True)
        peer_missing(f"aiosmtpd did not start: {exc}")
    yield server
    server.stop()
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def smtp_server(_smtp_server_session) -> SmtpServer:
    """The session's SMTP server with an empty list of captured messages."""
    _smtp_server_session.messages.clear()
    return _smtp_server_session
