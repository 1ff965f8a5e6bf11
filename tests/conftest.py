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
