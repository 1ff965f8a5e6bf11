"""Scale-out: several ``hub worker`` processes on one PostgreSQL and one Redis, accounts across the
Google and Microsoft sandboxes and Dovecot.

Every cycle, two schedulers poll at once (as two machines would); the workers then drain the queues.
Each account must be synced exactly once per cycle — counted in the workers' logs (job runs) and at
the providers (sync starts, IMAP logins) — and at the end hub and providers agree for every account.
The CI size is small; ``python bench/scale_out.py`` runs the full size and prints the figures.
"""

from __future__ import annotations

import pytest

from tests.scale.cluster import report

pytestmark = pytest.mark.slow

ACCOUNTS = 24


def test_each_account_is_synced_exactly_once_per_cycle_by_1_2_and_4_workers(scale_world, capsys):
    world = scale_world
    world.populate(ACCOUNTS)
    initial = world.cycle(workers=4, poll=False)  # the first syncs, queued when the accounts connected
    assert world.exactly_once(initial) == [] and not initial.failed
    for workers in (1, 2, 4):
        world.remote_changes()
        cycle = world.cycle(workers=workers)
        assert world.exactly_once(cycle) == [], f"{workers} workers"
        assert not cycle.failed
    assert world.disagreements() == []
    with capsys.disabled():
        print(f"\nscale-out, {ACCOUNTS} accounts (initial sync with 4 workers, then 1, 2, 4):\n{report(world.cycles)}")
