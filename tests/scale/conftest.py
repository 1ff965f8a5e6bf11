"""Fixtures of the scale-out test: PostgreSQL always (the workers are separate processes sharing it),
the sandboxes over HTTP and Dovecot, and a :class:`~tests.scale.cluster.ScaleWorld` on them.

The database is one of our own on the machine's PostgreSQL server (``HUB_TEST_DATABASE_URL``, else
``postgresql://postgres@127.0.0.1:5432/test``), created for the session and dropped afterwards.
"""

from __future__ import annotations

import os
import uuid

import pytest
import sqlalchemy as sa

from hub.testing.fixtures import _migrated
from hub.testing.peers.base import peer_missing

import hub_google.hooks
import hub_imap.hooks
import hub_office365.hooks

SERVER = "postgresql://postgres@127.0.0.1:5432/test"


@pytest.fixture(scope="session")
def hub_db_url():
    url = sa.engine.make_url(os.environ.get("HUB_TEST_DATABASE_URL") or SERVER).set(drivername="postgresql+psycopg")
    server = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    name = f"hub_scale_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    try:
        with server.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        server.dispose()
        peer_missing(f"the scale-out test needs PostgreSQL at {url.render_as_string()}: {exc.orig}")
    try:
        yield _migrated(url.set(database=name).render_as_string(hide_password=False))
    finally:
        with server.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


@pytest.fixture
def hub_plugins():
    return [("google", hub_google.hooks), ("office365", hub_office365.hooks), ("imap", hub_imap.hooks)]


@pytest.fixture
def scale_world(hub, monkeypatch, dovecot, smtp_server, tmp_path):
    from tests.scale.cluster import ScaleWorld

    from hub_google.sandbox import SandboxServer
    from hub_office365.sandbox import serve

    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the sandboxes speak http on loopback
    with SandboxServer() as google, serve() as graph:
        google.state.loopback_http_push = graph.state.knobs.loopback_http_push = True  # the hub: http on loopback
        yield ScaleWorld(hub, google, graph, dovecot, smtp_server, tmp_path)
