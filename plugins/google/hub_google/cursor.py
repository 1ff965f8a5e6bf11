"""The plugin's sync cursors: small JSON objects the core stores opaquely.

A calendar cursor holds Google's ``syncToken`` and, mid-way through a run of pages, the
``pageToken`` (plus the window a full sync started with, because Google wants the same parameters
on every page). A mail cursor holds the Gmail ``historyId`` to continue from, and where a listing
or history run stands. A cursor that is not JSON is read as a bare Google sync token.
"""

from __future__ import annotations

import json
from typing import Any

from hub.exceptions import CursorExpired

VERSION = 1


def encode(**fields: Any) -> str:
    """A cursor string for ``fields`` (None values are left out)."""
    return json.dumps({"v": VERSION, **{k: v for k, v in fields.items() if v is not None}}, separators=(",", ":"),
                      sort_keys=True)


def decode(cursor: str | None) -> dict[str, Any] | None:
    """The fields of ``cursor``; None for no cursor. An unreadable cursor means a full sync is needed."""
    if not cursor:
        return None
    try:
        fields = json.loads(cursor)
    except ValueError:
        return {"mode": "sync", "sync": cursor}
    if not isinstance(fields, dict) or fields.get("v") != VERSION:
        raise CursorExpired("The stored Google sync cursor is from another version; a full sync is needed.")
    return fields
