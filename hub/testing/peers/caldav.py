"""The CalDAV peer fixtures: ``radicale`` and ``xandikos`` (one per test session) and ``dns_zone``.

The CalDAV servers are :mod:`hub.peers.caldav` (its docstring shows how tests use them);
:class:`ZoneServer`, a loopback DNS server for RFC 6764 discovery, lives here: only tests need it.
"""

from __future__ import annotations

import importlib.util
import shutil

import pytest

from hub.peers.base import free_port
from hub.peers.caldav import DAVFront, FrontLogin, Radicale, RadicaleUser, Xandikos, XandikosUser, app_password
from hub.testing.peers.base import peer_missing

__all__ = ["DAVFront", "FrontLogin", "Radicale", "RadicaleUser", "Xandikos", "XandikosUser", "ZoneServer",
           "app_password", "dns_zone", "radicale", "xandikos"]


@pytest.fixture(scope="session")
def radicale(tmp_path_factory):
    """A Radicale server for the session (see :class:`Radicale`); create a user per test."""
    if importlib.util.find_spec("radicale") is None:
        peer_missing("radicale is not installed (pip install radicale)")
    server = Radicale(tmp_path_factory.mktemp("radicale"))
    try:
        server.start()
    except (OSError, RuntimeError) as exc:
        server.stop()
        peer_missing(f"radicale did not start: {exc}")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def xandikos(tmp_path_factory):
    """Xandikos servers for the session (see :class:`Xandikos`); ``xandikos.add_user()`` per test."""
    if importlib.util.find_spec("xandikos") is None:
        peer_missing("xandikos is not installed (pip install xandikos)")
    if shutil.which("git") is None:
        peer_missing("git is not installed (Xandikos's sync tokens are git commits)")
    servers = Xandikos(tmp_path_factory.mktemp("xandikos"))
    yield servers
    servers.stop()


class ZoneServer:
    """A DNS server on loopback answering from zone text (for RFC 6764 SRV/TXT discovery).

    ``dns.records("...zone lines...")`` replaces the answers; names without records are NXDOMAIN.
    Clients are pointed at ``dns.address`` (``127.0.0.1:<port>``) — no query leaves the machine.
    """

    def __init__(self):
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self._records: list = []
        self._server = None

    def records(self, zone: str) -> None:
        from dnslib import RR

        self._records = RR.fromZone(zone)

    def resolve(self, request, handler):  # dnslib's resolver interface
        from dnslib import QTYPE, RCODE

        reply = request.reply()
        question = request.q
        answers = [rr for rr in self._records if rr.rname == question.qname
                   and (question.qtype == QTYPE.ANY or rr.rtype == question.qtype)]
        for rr in answers:
            reply.add_answer(rr)
        if not answers and not any(rr.rname == question.qname for rr in self._records):
            reply.header.rcode = RCODE.NXDOMAIN
        return reply

    def start(self) -> "ZoneServer":
        from dnslib.server import DNSLogger, DNSServer

        quiet = DNSLogger(log="-request,-reply,-truncated,-error,-recv,-send,-data", prefix=False)
        self._server = DNSServer(self, address="127.0.0.1", port=self.port, logger=quiet)
        self._server.start_thread()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server.server.server_close()
            self._server = None


@pytest.fixture
def dns_zone():
    """A loopback DNS server (dnslib) for one test; set its answers with ``dns_zone.records(zone_text)``."""
    if importlib.util.find_spec("dnslib") is None:
        peer_missing("dnslib is not installed (pip install dnslib)")
    server = ZoneServer().start()
    yield server
    server.stop()
