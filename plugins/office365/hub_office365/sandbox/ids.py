"""Ids, change keys and the clock of the sandbox (shared by the stores and the state)."""

from __future__ import annotations

import base64
import secrets
import uuid
from datetime import datetime, timezone


def new_id(prefix: str = "AAMkAD") -> str:
    """An opaque Exchange-looking id (base64url of random bytes behind a fixed prefix)."""
    return prefix + base64.urlsafe_b64encode(uuid.uuid4().bytes + secrets.token_bytes(8)).decode().rstrip("=")


def new_change_key() -> str:
    """A fresh Exchange change key; an item's ``@odata.etag`` is ``W/"<changeKey>"``."""
    return base64.b64encode(secrets.token_bytes(12)).decode()


def now() -> datetime:
    """The sandbox's clock (aware UTC)."""
    return datetime.now(timezone.utc)
