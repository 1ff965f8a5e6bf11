"""Fixtures of the fault-injection suite (``pytest -m faults``).

The hub here is the production one — job functions, engines, plugins — on the test database and
Redis; the providers are the sandboxes and peers with faults injected around them:

* ``dice`` — the random fault rate shared by a sandbox and its proxy (0 until a test turns it up);
* ``google`` / ``graph`` — a :class:`~tests.faults.worlds.GoogleWorld` / ``GraphWorld``: the sandbox
  with random faults behind a :class:`~tests.faults.proxy.FaultProxy` that drops connections;
* ``dovecot_proxy`` / ``radicale_proxy`` — fault proxies in front of the session's peers;
* ``private_postgres`` — a PostgreSQL cluster of the test's own that it may stop (the private Redis
  servers are made in ``test_redis_restart.py``).
"""

from __future__ import annotations

import pytest

from tests.faults.flaky import FlakyGoogleState, FlakyGraphState, RandomRate
from tests.faults.proxy import FaultProxy
from tests.faults.servers import PrivateCluster
from tests.faults.worlds import GoogleWorld, GraphWorld

import hub_google.hooks
import hub_icloud.hooks
import hub_imap.hooks
import hub_office365.hooks

#: what a proxy in front of an HTTP sandbox adds to the sandbox's own faults: cut connections
DROPS = ("drop", "lost_answer")


@pytest.fixture
def hub_plugins():
    return [("google", hub_google.hooks), ("office365", hub_office365.hooks), ("imap", hub_imap.hooks),
            ("icloud", hub_icloud.hooks)]


@pytest.fixture
def dice() -> RandomRate:
    return RandomRate(0.0, seed=20240611)


@pytest.fixture
def google(monkeypatch, dice):
    from hub_google.sandbox import SandboxServer

    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the sandbox speaks http on loopback
    with SandboxServer(state=FlakyGoogleState(dice)) as server, \
            FaultProxy(server.port, per="request", kinds=DROPS, seed=1) as proxy:
        server.state.loopback_http_push = True  # the hub under test listens on plain http on loopback
        yield GoogleWorld(server, proxy, dice)
    assert not server.state.crashes, server.state.crashes


@pytest.fixture
def graph(monkeypatch, dice):
    from hub_office365.sandbox import serve

    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    with serve(FlakyGraphState(dice)) as sandbox, \
            FaultProxy(int(sandbox.url.rsplit(":", 1)[1]), per="request", kinds=DROPS, seed=2) as proxy:
        sandbox.state.knobs.loopback_http_push = True  # the hub under test listens on plain http on loopback
        yield GraphWorld(sandbox, proxy, dice)


@pytest.fixture
def dovecot_proxy(dovecot):
    """Dovecot's implicit-TLS port; a share of the commands (TLS records) after the TLS handshake and
    LOGIN cut, answered into the void, or slowed."""
    with FaultProxy(dovecot.ssl_port, per="request", kinds=("drop", "lost_answer", "delay"), delay=0.2, seed=3,
                    spare_first=4) as proxy:
        yield proxy


@pytest.fixture
def radicale_proxy(radicale):
    """Requests to Radicale, a share of them cut, answered into the void, or slowed."""
    with FaultProxy(radicale.port, per="request", kinds=("drop", "lost_answer", "delay"), delay=0.2, seed=4) as proxy:
        yield proxy


@pytest.fixture
def private_postgres():
    cluster = PrivateCluster().init()
    cluster.start()
    yield cluster
    cluster.remove()
