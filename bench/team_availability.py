"""Benchmark: 30 days of booking slots of a 3-member team type, next to one member's own type.

Three hosts as in ``bench/availability.py`` (5 synced conflict calendars each, N busy events per host
loaded through the sync engine), then the median time of :func:`hub.scheduling.availability.availability`
over 30 days for: one host's own type (the peer figure), the round-robin type of all three (union) and
the collective type (intersection). A team type reads each member's busy time, so about 3x the single
figure is expected; more than that would mean per-member work beyond the member's own query.

Run: ``python bench/team_availability.py`` (``--events 5000``, ``--runs 30``).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/availability.py's helpers

from bench.availability import CALENDARS, load, make_hub, make_user_with_calendars  # noqa: E402
from hub.models import MeetingType, MeetingTypeMember  # noqa: E402
from hub.scheduling.availability import availability  # noqa: E402

HOURS = {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}


def add_type(hub, owner: int, slug: str, kind: str, members: list[int]) -> None:
    with hub.db.session() as s:
        s.add(MeetingType(user_id=owner, name=slug, slug=slug, kind=kind, duration_minutes=30, slot_step_minutes=15,
                          buffer_before_minutes=10, buffer_after_minutes=10, timezone="Europe/Berlin",
                          weekly_hours=HOURS, min_notice_minutes=0, horizon_days=60,
                          members=[MeetingTypeMember(user_id=uid) for uid in members]))


def median_ms(hub, slug: str, runs: int) -> tuple[float, int, bool]:
    start = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    end = start + timedelta(days=30)
    availability(hub, slug, start, end)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        answer = availability(hub, slug, start, end)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), len(answer.slots), answer.limited


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000, help="busy events per host")
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        hub = make_hub(Path(folder))
        members = []
        for n in range(3):
            user_id, calendars = make_user_with_calendars(hub, f"host{n}")
            load(hub, calendars, args.events, seed=7 + n)
            members.append(user_id)
        add_type(hub, members[0], "own", "single", [])
        add_type(hub, members[0], "round-robin", "round_robin", members)
        add_type(hub, members[0], "collective", "collective", members)
        print(f"availability over 30 days, 3 hosts x {CALENDARS} conflict calendars x {args.events:,} events; "
              f"median of {args.runs} runs")
        print(f"{'type':>12} {'slots':>6} {'median ms':>10} {'x own':>6}")
        base = None
        for slug in ("own", "round-robin", "collective"):
            ms, slots, limited = median_ms(hub, slug, args.runs)
            assert not limited, "the benchmark hosts must have readable calendars"
            base = base or ms
            print(f"{slug:>12} {slots:>6} {ms:>10.2f} {ms / base:>6.1f}")
        hub.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
