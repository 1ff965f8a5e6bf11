"""Shared helpers for the core tests; the fixtures themselves come from hub.testing (pytest11)."""

from __future__ import annotations

import pytest
from werkzeug.security import generate_password_hash

from hub.models import Role, User


@pytest.fixture
def make_user(hub):
    """Create a user: ``make_user("a@x.com", role=Role.ADMIN, password="pw")`` → user id."""

    def make(email: str, role: Role = Role.SALESPERSON, password: str = "secret", **fields) -> int:
        with hub.db.session() as s:
            user = User(email=email, role=role, password_hash=generate_password_hash(password), **fields)
            s.add(user)
            s.flush()
            return user.id

    return make


# The fixtures that reach the test database and Redis; a test that uses neither (a parser, an oracle, a
# peer alone) runs the same whatever HUB_TEST_DATABASE_URL / HUB_TEST_REDIS_URL say.
SERVER_FIXTURES = frozenset({"hub_db_url", "hub_redis_url"})


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects, so `-m servers` sees the mark
def pytest_collection_modifyitems(items):
    """Mark ``servers`` every test whose fixtures reach the database or Redis (CI's server step runs these)."""
    for item in items:
        if SERVER_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.servers)
