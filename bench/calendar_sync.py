"""Benchmark: CalDAV calendar sync of 2,000 and 20,000 events on Radicale, the hub against its peers.

One command::

    .venv/bin/python bench/calendar_sync.py          # --sizes 2000,20000 --runs 3 [--no-postgres]

It starts Radicale (pip; the test suite's launcher :class:`hub.testing.peers.caldav.Radicale`, on its
default settings) and fills one calendar per size: events spread over the hub's sync window in
Europe/Berlin, 10 % weekly series with EXDATEs and an override, 5 % all-day, 20 % with a client as
attendee (those become CRM meetings). Then, each tool in a
process of its own, three times (a fresh database / folder each time; run 1 of every tool, then run 2 …),
medians printed:

* **hub (SQLite)** and **hub (PostgreSQL)**: ``hub.sync.calendar_pull.sync_calendar`` through the CalDAV
  plugin — initial sync, a no-op re-sync, and a re-sync after 10 events changed on the server;
* **vdirsyncer** (pip): CalDAV → filesystem, the same three steps (``vdirsyncer sync``);
* **raw caldav** (the floor): the ``caldav`` library's client sending the requests a sync needs —
  calendar-query hrefs then calendar-multiget in batches (a single REPORT is refused past 10,000
  events on Radicale), a sync-collection for the no-op, and sync-collection + multiget of the
  changed ones — keeping the bytes, parsing nothing.

Goals (issue 18): initial ≤ 1.0× vdirsyncer and ≤ 1.5× the floor at 2,000 events; no-op and
10-changed ≤ 1.5× the floor; the hub's 20,000 within 12× of its 2,000.
PostgreSQL uses a database ``calendar_bench`` it creates on ``--postgres`` (default
``postgresql://postgres@127.0.0.1:5432``); ``--no-postgres`` leaves it out.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ZONE = "Europe/Berlin"
CHANGED = 10
STEPS = ("initial", "noop", "changed")


# --- the calendar ----------------------------------------------------------------------------------

#: Europe/Berlin as calendar clients (Thunderbird, Apple Calendar) write it: two yearly rules
VTIMEZONE = "\r\n".join([
    "BEGIN:VTIMEZONE", f"TZID:{ZONE}",
    "BEGIN:DAYLIGHT", "TZOFFSETFROM:+0100", "TZOFFSETTO:+0200", "TZNAME:CEST", "DTSTART:19700329T020000",
    "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU", "END:DAYLIGHT",
    "BEGIN:STANDARD", "TZOFFSETFROM:+0200", "TZOFFSETTO:+0100", "TZNAME:CET", "DTSTART:19701025T030000",
    "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU", "END:STANDARD",
    "END:VTIMEZONE",
])


def local(moment: datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%S")


def make_event(rng: random.Random, uid: str, start: datetime, zone_text: str, summary: str) -> str:
    """One resource: a single event, an all-day one, or a weekly series with EXDATEs and an override."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//hub bench//EN", zone_text]
    kind = rng.random()
    common = [f"UID:{uid}", "DTSTAMP:20260101T000000Z", f"SUMMARY:{summary}"]
    if rng.random() < 0.2:  # a meeting with a client (the CRM imports it); the rest are the user's own
        common += ["ORGANIZER:mailto:me@acme.example",
                   f"ATTENDEE;CN=Guest;PARTSTAT=ACCEPTED:mailto:guest{rng.randrange(300)}@client{rng.randrange(40)}.example"]
    if kind < 0.05:
        day = start.date()
        lines += ["BEGIN:VEVENT", *common, f"DTSTART;VALUE=DATE:{day:%Y%m%d}",
                  f"DTEND;VALUE=DATE:{day + timedelta(days=1):%Y%m%d}", "TRANSP:TRANSPARENT", "END:VEVENT"]
    elif kind < 0.15:
        end = start + timedelta(minutes=45)
        lines += ["BEGIN:VEVENT", *common, f"DTSTART;TZID={ZONE}:{local(start)}", f"DTEND;TZID={ZONE}:{local(end)}",
                  "RRULE:FREQ=WEEKLY;COUNT=12",
                  f"EXDATE;TZID={ZONE}:{local(start + timedelta(weeks=2))}",
                  f"EXDATE;TZID={ZONE}:{local(start + timedelta(weeks=5))}", "END:VEVENT"]
        moved = start + timedelta(weeks=3)
        lines += ["BEGIN:VEVENT", *common, f"RECURRENCE-ID;TZID={ZONE}:{local(moved)}",
                  f"DTSTART;TZID={ZONE}:{local(moved + timedelta(hours=2))}",
                  f"DTEND;TZID={ZONE}:{local(moved + timedelta(hours=2, minutes=45))}", "END:VEVENT"]
    else:
        end = start + timedelta(minutes=rng.choice((30, 60, 90)))
        lines += ["BEGIN:VEVENT", *common, f"DTSTART;TZID={ZONE}:{local(start)}", f"DTEND;TZID={ZONE}:{local(end)}",
                  "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"


def generate(count: int, days: int, seed: int = 18) -> dict[str, str]:
    rng = random.Random(seed)
    zone_text = VTIMEZONE
    today = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
    out = {}
    for i in range(count):
        start = today + timedelta(days=rng.randrange(days), hours=rng.randrange(7, 19), minutes=rng.choice((0, 30)))
        out[f"ev{i:06d}.ics"] = make_event(rng, f"ev{i:06d}@bench", start, zone_text, f"Meeting {i}")
    return out


def change_ten(radicale, user, calendar: str, objects: dict[str, str], round_: int) -> None:
    """Edit 10 events through the server, as another client would."""
    for name in sorted(objects)[round_ * CHANGED:(round_ + 1) * CHANGED]:
        text = objects[name].replace("SUMMARY:Meeting", f"SUMMARY:Edited {round_} Meeting", 1)
        radicale.put_object(user, calendar + name, text)


# --- tools (each runs in a child process: `calendar_sync.py --tool NAME --spec JSON`) ------------------

def tool_hub(spec: dict) -> dict:
    import sqlalchemy as sa

    from hub import crypto
    from hub.config import Settings
    from hub.core import Hub
    from hub.models import Account, Calendar, Organization, OrganizationDomain, User
    from hub.sync.calendar_pull import sync_calendar
    from hub.sync.calendars import refresh_calendars

    import hub_caldav.hooks

    folder = Path(spec["folder"])
    settings = Settings.load({"instance_path": folder, "database_url": spec["database_url"],
                              "keys": crypto.format_keys([crypto.new_key()]), "load_plugins": "",
                              "allow_private_hosts": True}, environ={})
    hub = Hub(settings, extra_plugins=[("caldav", hub_caldav.hooks)])
    hub.db.upgrade()
    with hub.db.session() as s:
        org = Organization(name="Acme", domains=[OrganizationDomain(domain="acme.example")])
        s.add(org)
        s.flush()
        me = User(email="me@acme.example", organization_id=org.id)
        s.add(me)
        s.flush()
        user_id = me.id
    result = hub.plugins.call("hub_connect", context=hub.provider_context("caldav"),
                              params={"server": spec["url"], "username": spec["user"], "password": spec["password"]})
    with hub.db.session() as s:
        account = Account(user_id=user_id, provider="caldav", email=result.email, credentials=result.credentials,
                          settings=result.settings)
        s.add(account)
        s.flush()
        account_id = account.id
    refresh_calendars(hub, account_id)
    with hub.db.session() as s:
        calendar_id = s.scalars(sa.select(Calendar.id).where(Calendar.remote_id == spec["calendar"])).one()
    times = {}
    for step in STEPS:
        wait_for_parent(step)
        started = time.perf_counter()
        sync_calendar(hub, account_id, calendar_id)
        times[step] = time.perf_counter() - started
    hub.close()
    return times


def tool_vdirsyncer(spec: dict) -> dict:
    folder = Path(spec["folder"])
    (folder / "events").mkdir(parents=True, exist_ok=True)
    config = folder / "config"
    config.write_text(f"""[general]
status_path = "{folder / 'status'}"

[pair bench]
a = "remote"
b = "local"
collections = null
conflict_resolution = "a wins"

[storage remote]
type = "caldav"
url = "{spec['url'].rstrip('/')}{spec['calendar']}"
username = "{spec['user']}"
password = "{spec['password']}"

[storage local]
type = "filesystem"
path = "{folder / 'events'}"
fileext = ".ics"
""")
    binary = str(Path(sys.executable).parent / "vdirsyncer")
    env = {**os.environ, "VDIRSYNCER_CONFIG": str(config)}
    subprocess.run([binary, "discover"], env=env, check=True, capture_output=True, input=b"y\n" * 4)
    times = {}
    for step in STEPS:
        wait_for_parent(step)
        started = time.perf_counter()
        done = subprocess.run([binary, "sync"], env=env, capture_output=True)
        times[step] = time.perf_counter() - started
        if done.returncode:
            raise SystemExit(f"vdirsyncer failed: {done.stderr.decode()[-500:]}")
    return times


def tool_raw(spec: dict) -> dict:
    from caldav import DAVClient
    from caldav.elements import cdav, dav
    from lxml import etree

    client = DAVClient(url=spec["url"], username=spec["user"], password=spec["password"], auth_type="basic")
    url = spec["url"].rstrip("/") + spec["calendar"]
    xml = {"Content-Type": "application/xml; charset=utf-8"}

    def report(body, depth: str):
        response = client.request(url, "REPORT", etree.tostring(body.xmlelement()), {**xml, "Depth": depth})
        assert response.status == 207, response.status
        return etree.fromstring(response.raw.encode() if isinstance(response.raw, str) else response.raw)

    def hrefs(tree) -> list[str]:
        return [r.findtext("{DAV:}href") for r in tree.iter("{DAV:}response")
                if r.find(".//{DAV:}getetag") is not None]

    def multiget(names: list[str]) -> int:
        size = 0
        for first in range(0, len(names), 500):
            body = cdav.CalendarMultiGet() + [dav.Prop() + [dav.GetEtag(), cdav.CalendarData()]] + \
                [dav.Href(value=h) for h in names[first:first + 500]]
            size += len(etree.tostring(report(body, "1")))
        return size

    def sync(token: str | None):
        body = dav.SyncCollection() + [dav.SyncToken(value=token), dav.SyncLevel(value="1"), dav.Prop() + [dav.GetEtag()]]
        tree = report(body, "0")
        return hrefs(tree), tree.findtext("{DAV:}sync-token")

    now = datetime.now(timezone.utc)
    times = {}
    wait_for_parent("initial")
    started = time.perf_counter()
    token = client.propfind(url, props='<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop><d:sync-token/>'
                                       '</d:prop></d:propfind>', depth=0).tree.findtext(".//{DAV:}sync-token")
    query = cdav.CalendarQuery() + [dav.Prop() + [dav.GetEtag()], cdav.Filter() + (
        cdav.CompFilter("VCALENDAR") + (cdav.CompFilter("VEVENT") + cdav.TimeRange(now - timedelta(days=1),
                                                                                  now + timedelta(days=93))))]
    multiget(hrefs(report(query, "1")))
    times["initial"] = time.perf_counter() - started
    wait_for_parent("noop")
    started = time.perf_counter()
    _, token = sync(token)
    times["noop"] = time.perf_counter() - started
    wait_for_parent("changed")
    started = time.perf_counter()
    changed, token = sync(token)
    multiget(changed)
    times["changed"] = time.perf_counter() - started
    return times


TOOLS = {"hub": tool_hub, "vdirsyncer": tool_vdirsyncer, "raw": tool_raw}


def wait_for_parent(step: str) -> None:
    """Tell the parent the child is ready for ``step`` and wait until it says go (it edits in between)."""
    print(f"ready {step}", flush=True)
    line = sys.stdin.readline().strip()
    if line != "go":
        raise SystemExit(f"expected go, got {line!r}")


# --- the parent ----------------------------------------------------------------------------------------

def run_tool(tool: str, spec: dict, on_step) -> dict | None:
    """Run ``tool`` in a child process; ``on_step(step)`` runs before each timed step. ``None``: it failed."""
    child = subprocess.Popen([sys.executable, __file__, "--tool", tool, "--spec", json.dumps(spec)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    for line in child.stdout:
        line = line.strip()
        if line.startswith("ready "):
            on_step(line.split()[1])
            child.stdin.write("go\n")
            child.stdin.flush()
        elif line.startswith("result "):
            child.wait()
            return json.loads(line[7:])
    child.wait()
    print(f"{tool} failed (exit {child.returncode})", file=sys.stderr)
    return None


def postgres_url(base: str) -> str | None:
    name = "calendar_bench"
    host = base.split("@", 1)[1].split(":")[0]
    subprocess.run(["dropdb", "--if-exists", "-h", host, "-U", "postgres", name], capture_output=True)
    made = subprocess.run(["createdb", "-h", host, "-U", "postgres", name], capture_output=True)
    return f"{base.rstrip('/')}/{name}" if made.returncode == 0 else None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="2000,20000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tools", default="hub-sqlite,hub-postgres,vdirsyncer,raw")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--tool")
    parser.add_argument("--spec")
    args = parser.parse_args(argv)
    if args.tool:  # a child: run one tool and report its times
        print("result " + json.dumps(TOOLS[args.tool](json.loads(args.spec))), flush=True)
        return

    sys.path.insert(0, str(ROOT))
    from hub.testing.peers.caldav import Radicale

    tools = [t for t in args.tools.split(",") if not (args.no_postgres and t == "hub-postgres")]
    if "vdirsyncer" in tools and shutil.which("vdirsyncer", path=str(Path(sys.executable).parent)) is None:
        print("vdirsyncer is not installed (pip install vdirsyncer): left out", file=sys.stderr)
        tools.remove("vdirsyncer")
    tmp = Path(tempfile.mkdtemp(prefix="calendar-bench-"))
    (tmp / "radicale").mkdir()
    radicale = Radicale(tmp / "radicale").start()
    results: dict[tuple[int, str], dict[str, float]] = {}
    failed: set[tuple[int, str]] = set()
    try:
        for size in [int(s) for s in args.sizes.split(",")]:
            user = radicale.add_user()
            calendar = radicale.make_calendar(user, "work", "Work")
            objects = generate(size, days=90)
            radicale.write_objects(user, calendar, objects)
            radicale.request(user, "PROPFIND", calendar, "", {"Depth": "1"}, timeout=3600)  # Radicale builds its cache once
            base = {"url": radicale.url, "user": user.name, "password": user.password, "calendar": calendar}
            # round-robin (run 1 of every tool, then run 2 …): on a shared machine whose load swings,
            # every tool meets the same stretches of it, so the ratios hold up better than the seconds
            runs = {tool: {step: [] for step in STEPS} for tool in tools}
            for run in range(args.runs):
                for number, tool in enumerate(tools):
                    if (size, tool) in failed:
                        continue
                    folder = tmp / f"{tool}-{size}-{run}"
                    folder.mkdir()
                    spec = {**base, "folder": str(folder)}
                    if tool.startswith("hub"):
                        url = f"sqlite:///{folder / 'hub.db'}" if tool == "hub-sqlite" else postgres_url(args.postgres)
                        if url is None:
                            print("PostgreSQL is not reachable: hub-postgres left out", file=sys.stderr)
                            failed.add((size, tool))
                            continue
                        spec["database_url"] = url
                    round_ = run * len(tools) + number

                    def on_step(step: str, round_=round_, user=user, calendar=calendar, objects=objects,
                                size=size) -> None:
                        if step == "changed":
                            change_ten(radicale, user, calendar, objects, round_ % (size // CHANGED))

                    times = run_tool(tool.split("-")[0], spec, on_step)
                    if times is None:
                        failed.add((size, tool))
                        continue
                    for step in STEPS:
                        runs[tool][step].append(times[step])
                    print(f"{size:>6} {tool:<13} run {run + 1}: " + "  ".join(f"{s} {times[s]:.3f}s" for s in STEPS),
                          file=sys.stderr, flush=True)
            for tool in tools:
                if (size, tool) not in failed and all(runs[tool].values()):
                    results[(size, tool)] = {step: statistics.median(values) for step, values in runs[tool].items()}
    finally:
        radicale.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print_table(results, failed)


def print_table(results: dict[tuple[int, str], dict[str, float]], failed: set[tuple[int, str]] = frozenset()) -> None:
    print()
    print(f"{'events':>7} {'tool':<13} {'initial':>9} {'no-op':>9} {'10 changed':>11}   "
          f"{'÷vdirsyncer':>12} {'÷floor (init/noop/10)':>22}")
    for (size, tool), times in sorted(results.items(), key=lambda item: (item[0][0], item[0][1])):
        floor = results.get((size, "raw"))
        vdir = results.get((size, "vdirsyncer"))
        vs_vdir = f"{times['initial'] / vdir['initial']:.2f}×" if vdir else "-"
        vs_floor = "/".join(f"{times[s] / floor[s]:.1f}" for s in STEPS) if floor else "-"
        print(f"{size:>7} {tool:<13} {times['initial']:>8.2f}s {times['noop']:>8.3f}s {times['changed']:>10.3f}s   "
              f"{vs_vdir:>12} {vs_floor:>22}")
    for size, tool in sorted(failed):
        print(f"{size:>7} {tool:<13} {'failed':>9}")
    sizes = sorted({size for size, _ in results})
    if len(sizes) > 1:
        for tool in sorted({tool for _, tool in results}):
            if (sizes[0], tool) in results and (sizes[-1], tool) in results:
                growth = results[(sizes[-1], tool)]["initial"] / results[(sizes[0], tool)]["initial"]
                print(f"{tool}: initial sync at {sizes[-1]:,} events takes {growth:.1f}× its {sizes[0]:,}")


if __name__ == "__main__":
    main()
