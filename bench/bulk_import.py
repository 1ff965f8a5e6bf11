"""Benchmark: the host CRM imports 100,000 contacts through ``POST /api/v1/contacts/bulk``.

For each database (SQLite in a temporary folder; PostgreSQL when ``--postgres URL`` is given — an
empty database of your own, it is wiped) the app is built as in production and driven through its
WSGI interface (Flask's test client: the whole request path, no sockets) with an integration token:
1,000 companies first, then the contacts in batches of 1,000 — one address each, every contact
pointing at a company by its external id. Then the same batches again, which must all be
"unchanged". Peer in the same run: the same rows written by one SQLAlchemy Core ``INSERT`` per
batch, with no checks at all — the floor no API can beat.

Run: ``python bench/bulk_import.py [--contacts 100000] [--postgres postgresql://postgres@127.0.0.1/issue24]``.
Goal: 100,000 contacts in minutes, not hours.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from hub import crypto
from hub.app import create_app
from hub.config import Settings
from hub.core import Hub
from hub.models import Contact, ContactAddress, IntegrationToken, Organization, OrganizationDomain, utcnow
from web.api import hash_token

BATCH = 1000
COMPANIES = 1000
TOKEN = "hubi_bench-token"


def make_hub(folder: Path, database_url: str | None) -> Hub:
    settings = Settings.load({"instance_path": folder, "database_url": database_url or f"sqlite:///{folder}/bench.db",
                              "keys": crypto.format_keys([crypto.new_key()]), "load_plugins": ""}, environ={})
    hub = Hub(settings)
    if database_url:  # a database of the benchmark's own: start empty
        with hub.db.engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    hub.db.upgrade()
    with hub.db.session() as s:
        org = Organization(name="Bench", domains=[OrganizationDomain(domain="bench.example")])
        s.add(org)
        s.flush()
        s.add(IntegrationToken(organization_id=org.id, name="bench", scopes=["read", "write"],
                               token_hash=hash_token(TOKEN)))
    return hub


def batches(contacts: int) -> list[list[dict]]:
    records = [{"external_id": f"c{n}", "name": f"Contact {n}", "emails": [f"contact{n}@client{n % COMPANIES}.example"],
                "company_external_id": f"co{n % COMPANIES}", "is_lead": n % 7 == 0} for n in range(contacts)]
    return [records[i:i + BATCH] for i in range(0, len(records), BATCH)]


def post_all(client, kind: str, chunks: list[list[dict]], expect: str) -> float:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    started = time.perf_counter()
    for chunk in chunks:
        response = client.post(f"/api/v1/{kind}/bulk", json={"records": chunk}, headers=headers)
        counts = response.json["counts"]
        if response.status_code != 200 or counts[expect] != len(chunk):
            raise SystemExit(f"unexpected answer: {response.status_code} {counts}")
    return time.perf_counter() - started


def core_insert(hub: Hub, chunks: list[list[dict]]) -> float:
    """The peer: the same contact and address rows, one Core INSERT per batch, no checks."""
    with hub.db.engine.begin() as conn:
        conn.execute(sa.delete(ContactAddress.__table__))
        conn.execute(sa.delete(Contact.__table__))
    started = time.perf_counter()
    for chunk in chunks:
        now = utcnow()
        with hub.db.engine.begin() as conn:
            ids = conn.execute(sa.insert(Contact.__table__).returning(Contact.__table__.c.id), [
                {"name": r["name"], "external_id": r["external_id"], "is_lead": r["is_lead"], "source": "crm",
                 "organization_id": 1, "created_at": now, "updated_at": now}
                for r in chunk]).scalars().all()
            conn.execute(sa.insert(ContactAddress.__table__), [
                {"contact_id": i, "email": r["emails"][0]} for i, r in zip(ids, chunk)])
    return time.perf_counter() - started


def run(label: str, database_url: str | None, contacts: int) -> tuple:
    with tempfile.TemporaryDirectory() as folder:
        hub = make_hub(Path(folder), database_url)
        client = create_app(hub=hub).test_client()
        companies = [[{"external_id": f"co{n}", "name": f"Client {n}", "domains": [f"client{n}.example"]}
                      for n in range(COMPANIES)]]
        post_all(client, "companies", companies, "created")
        chunks = batches(contacts)
        first = post_all(client, "contacts", chunks, "created")
        again = post_all(client, "contacts", chunks, "unchanged")
        floor = core_insert(hub, chunks)
        hub.close()
    return label, contacts, contacts / first, contacts / again, contacts / floor, first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--postgres", help="URL of an empty PostgreSQL database of your own (it is wiped)")
    args = parser.parse_args()
    rows = [run("SQLite", None, args.contacts)]
    if args.postgres:
        rows.append(run("PostgreSQL", args.postgres, args.contacts))
    print(f"\n{'database':<11} {'contacts':>9} {'bulk API new/s':>15} {'bulk API again/s':>17} "
          f"{'Core INSERT/s (peer)':>21} {'import took':>12}")
    for label, n, new, again, floor, took in rows:
        print(f"{label:<11} {n:>9,} {new:>15,.0f} {again:>17,.0f} {floor:>21,.0f} {took:>11.1f}s")


if __name__ == "__main__":
    main()
