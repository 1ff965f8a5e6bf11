"""Re-encrypt every stored secret with the newest key (``hub rotate-keys``).

Finds every column of type :class:`~hub.models.base.EncryptedJSON`, so a new encrypted column is
covered without being listed here. Works on the raw tokens (no ORM objects are loaded), one table
at a time in one transaction each.
"""

from __future__ import annotations

import sqlalchemy as sa

from hub.crypto import keyring
from hub.models import Base
from hub.models.base import EncryptedJSON


def encrypted_columns() -> list[tuple[sa.Table, sa.Column]]:
    return [(table, column) for table in Base.metadata.sorted_tables for column in table.columns
            if isinstance(column.type, EncryptedJSON)]


def reencrypt_all(hub) -> dict[str, int]:
    """Re-encrypt with ``keyring.current``; returns how many values per ``table.column``."""
    counts: dict[str, int] = {}
    current = keyring.current.id
    for table, column in encrypted_columns():
        pk = list(table.primary_key.columns)
        raw = sa.literal_column(column.name, sa.LargeBinary)  # bypass the type: read tokens as stored
        with hub.db.engine.begin() as conn:
            rows = conn.execute(sa.select(*pk, raw).select_from(table).where(column.is_not(None))).all()
            n = 0
            for row in rows:
                token = bytes(row[-1])
                if keyring.key_id_of(token) == current:
                    continue
                fresh = keyring.encrypt(keyring.decrypt(token))
                conn.execute(sa.update(table).where(*(c == v for c, v in zip(pk, row[:-1])))
                             .values({column.name: sa.literal(fresh, sa.LargeBinary)}))
                n += 1
        counts[f"{table.name}.{column.name}"] = n
    return counts
