"""Regenerate the initial migration from the models (only while the schema is unreleased).

Run: ``python -m hub.migrations.regenerate``. Once a release ships, add new revisions with
``alembic revision --autogenerate`` instead of rewriting this one.
"""

import tempfile
from pathlib import Path

from alembic import command

from hub.database import alembic_config

VERSIONS = Path(__file__).parent / "versions"

if __name__ == "__main__":
    for old in VERSIONS.glob("0001_*.py"):
        old.unlink()
    with tempfile.TemporaryDirectory() as tmp:
        command.revision(alembic_config(f"sqlite:///{tmp}/empty.db"), message="initial schema",
                         autogenerate=True, rev_id="0001")
