"""Benchmark: 30 days of booking slots for a host with 5 conflict calendars.

Builds a host in a fresh SQLite database (temporary folder) whose 5 conflict calendars hold N busy
events spread over the sync window (10% of them recurring — daily or weekly series, some with
exceptions — plus a few all-day and "free" events), loaded through the sync engine's own page
applier (:func:`hub.sync.calendar_pull.apply_page`), so recurring events are expanded into busy blocks at
sync time exactly as in production. Then it times :func:`hub.scheduling.availability.availability` for a
Mon–Fri 09:00–17:00 meeting type over 30 days, and prints the median, and how it grows with N.

Run: ``python bench/availability.py`` (sizes 500, 5,000, 50,000; ``--sizes 500,5000`` to choose,
``--runs 50`` for more repetitions). Goal: under 20 ms at 5,000 events, growing about linearly.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa

from hub import crypto
from hub.config import Settings
from hub.core import Hub
from hub.models import Account, BusyBlock, Calendar, MeetingType, SyncCursor, User
from hub.scheduling.availability import availability
from hub.sync import calendar_pull
from hub.types import EventPage, Participant, RemoteEvent

CALENDARS = 5
PAGE = 500
WINDOW_DAYS = 92


def make_hub(folder: Path) -> Hub:
    """A Hub on a fresh SQLite database in ``folder`` (no plugins, no Redis needed)."""
    settings = Settings.load({"instance_path": folder, "database_url": f"sqlite:///{folder}/bench.db",
                              "keys": crypto.format_keys([crypto.new_key()]), "load_plugins": "",
                              "sync_window_days": WINDOW_DAYS}, environ={})
    hub = Hub(settings)
    hub.db.upgrade()
    return hub


def make_user_with_calendars(hub: Hub, name: str = "host") -> tuple[int, list[int]]:
    """A user with one account and 5 synced conflict calendars; returns (user id, calendar ids)."""
    with hub.db.session() as s:
        user = User(email=f"{name}@bench.example", name=name.title(), timezone="Europe/Berlin")
        s.add(user)
        s.flush()
        account = Account(user_id=user.id, provider="memory", email=user.email,
                          connected_at=datetime.now(timezone.utc) - timedelta(days=1))
        s.add(account)
        s.flush()
        calendars = []
        for i in range(CALENDARS):
            cal = Calendar(account_id=account.id, remote_id=f"cal{i}", name=f"Calendar {i}", is_conflict=True,
                           is_default=i == 0, sync_enabled=True, import_meetings=False, timezone="Europe/Berlin")
            s.add(cal)
            s.flush()
            calendars.append(cal.id)
            s.add(SyncCursor(account_id=account.id, kind="calendar", key=cal.remote_id, cursor="bench",
                             initial_done=True))
        return user.id, calendars


def make_host(hub: Hub) -> tuple[int, list[int]]:
    """A host with its calendars (:func:`make_user_with_calendars`) and the meeting type "intro"."""
    user_id, calendars = make_user_with_calendars(hub)
    with hub.db.session() as s:
        s.add(MeetingType(user_id=user_id, name="Intro", slug="intro", duration_minutes=30, slot_step_minutes=15,
                          buffer_before_minutes=10, buffer_after_minutes=10, timezone="Europe/Berlin",
                          weekly_hours={d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
                          min_notice_minutes=0, horizon_days=60))
    return user_id, calendars


def events(n: int, rng: random.Random) -> list[RemoteEvent]:
    """``n`` events over the window: 10% recurring (with a few exceptions), 3% all-day, 5% free."""
    now = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    out: list[RemoteEvent] = []
    for i in range(n):
        start = now + timedelta(days=rng.randrange(WINDOW_DAYS), hours=rng.randrange(-6, 10),
                                minutes=rng.choice((0, 15, 30, 45)))
        length = timedelta(minutes=rng.choice((15, 30, 30, 45, 60, 60, 90, 120)))
        ev = RemoteEvent(remote_id=f"e{i}", start=start, end=start + length, summary=f"Event {i}",
                         timezone="Europe/Berlin", attendees=[Participant("someone@example.org")])
        roll = rng.random()
        if roll < 0.10:
            ev.recurrence = [rng.choice(["RRULE:FREQ=WEEKLY;COUNT=12", "RRULE:FREQ=DAILY;COUNT=20",
                                         "RRULE:FREQ=WEEKLY;BYDAY=MO,WE,FR;COUNT=24"])]
            out.append(ev)
            if rng.random() < 0.3:  # a moved occurrence and a cancelled one
                first = start + timedelta(days=7 if "WEEKLY" in ev.recurrence[0] else 1)
                out.append(RemoteEvent(f"e{i}x", first + timedelta(hours=2), first + timedelta(hours=2) + length,
                                       recurring_event_id=ev.remote_id, original_start=first, timezone="Europe/Berlin"))
            continue
        if roll < 0.13:
            ev.all_day, ev.start, ev.end = True, start.date(), start.date() + timedelta(days=1)
        elif roll < 0.18:
            ev.transparent = True
        out.append(ev)
    return out


def load(hub: Hub, calendars: list[int], n: int, seed: int = 7) -> float:
    """Apply ``n`` events, split over the calendars, through the engine in pages; returns seconds."""
    rng = random.Random(seed)
    all_events = events(n, rng)
    began = time.perf_counter()
    for index, cal_id in enumerate(calendars):
        mine = [e for e in all_events if int((e.recurring_event_id or e.remote_id)[1:].rstrip("x")) % CALENDARS == index]
        for i in range(0, len(mine), PAGE):
            with hub.db.session() as s:
                ctx = calendar_pull.load_context(s, cal_id, WINDOW_DAYS)
                calendar_pull.apply_page(s, ctx, EventPage(events=mine[i:i + PAGE], next_cursor="bench", done=False))
    return time.perf_counter() - began


def measure(hub: Hub, runs: int) -> tuple[float, int, bool]:
    """Median milliseconds of 30 days of availability, the slot count, and whether it was limited."""
    start = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    end = start + timedelta(days=30)
    availability(hub, "intro", start, end)  # warm the connection pool and statement cache
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        answer = availability(hub, "intro", start, end)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), len(answer.slots), answer.limited


def main(argv: list[str] | None = None) -> int:
    """Run the sizes asked for and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="500,5000,50000", help="comma list of event counts")
    parser.add_argument("--runs", type=int, default=30, help="timed runs per size")
    args = parser.parse_args(argv)
    sizes = [int(x) for x in args.sizes.split(",")]
    print(f"availability over 30 days, {CALENDARS} conflict calendars, Mon–Fri 09:00–17:00, 30-minute slots "
          f"every 15 minutes; median of {args.runs} runs")
    print(f"{'events':>8} {'busy blocks':>12} {'load (s)':>9} {'slots':>6} {'median ms':>10} {'ms / 1k events':>15}")
    rows = []
    for n in sizes:
        with tempfile.TemporaryDirectory() as folder:
            hub = make_hub(Path(folder))
            user_id, calendars = make_host(hub)
            loaded = load(hub, calendars, n)
            with hub.db.session() as s:
                blocks = s.scalar(sa.select(sa.func.count(BusyBlock.id)).where(BusyBlock.user_id == user_id))
            median, slots, limited = measure(hub, args.runs)
            hub.close()
        assert not limited, "the benchmark host must have readable calendars"
        rows.append((n, median))
        print(f"{n:>8,} {blocks:>12,} {loaded:>9.1f} {slots:>6} {median:>10.2f} {median / n * 1000:>15.3f}")
    if len(rows) > 1:
        (n0, m0), (n1, m1) = rows[0], rows[-1]
        print(f"growth {n0:,} → {n1:,} events: x{n1 / n0:.0f} events, x{m1 / m0:.1f} time")
    at_5000 = dict(rows).get(5000)
    if at_5000 is not None:
        print(f"goal: under 20 ms at 5,000 events — {'met' if at_5000 < 20 else 'NOT met'} ({at_5000:.2f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
