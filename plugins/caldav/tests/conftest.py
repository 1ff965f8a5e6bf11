"""Shared fixtures of the CalDAV plugin's tests. The peers (``radicale``, ``xandikos``) come from
:mod:`hub.testing.peers`; helpers from :mod:`hub_caldav.testing`."""

from __future__ import annotations

import pytest

from hub_caldav.testing import plugin_hooks


@pytest.fixture
def hooks():
    """The hooks of a real plugin manager holding only the CalDAV plugin."""
    return plugin_hooks()


@pytest.fixture
def radicale_user(radicale):
    """A fresh Radicale user with a Home calendar and a VTODO-only task list."""
    user = radicale.add_user()
    radicale.make_calendar(user, "home", "Home")
    radicale.make_calendar(user, "tasks", "Tasks", components=("VTODO",))
    return user
