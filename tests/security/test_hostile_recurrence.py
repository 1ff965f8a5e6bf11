"""Finding 7: a hostile recurring invitation from an outsider cannot exhaust a worker.

An outsider's invitation lands in the host's calendar on the server; the hub's worker then expands it.
Here the objects sit on a real CalDAV server (Radicale, read through the iCloud plugin) and in a
published feed (the ICS plugin), and a real ``hub worker`` process syncs them next to an ordinary
account: every sync finishes, each series stores at most ``HUB_MAX_OCCURRENCES`` busy rows, the error
log names what was cut, and the other events and the other account sync as usual. A series the
expander would have to step through too long (every second for a year, 20,000 RDATEs) is refused
instead: only its first occurrence blocks time, and the log says why.

The worker's time and peak memory are printed (``-s``) for docs/security.md, not asserted.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from hub import work
from hub.accounts import connect_account
from hub.models import Account, AccountError, AccountStatus, BusyBlock, Calendar, CalendarEvent
from hub.sync.calendars import refresh_calendars, set_conflict
from tests.faults.accounts import add_user
from tests.faults.driving import WorkerProcess, failed_jobs, quiet, wait_for
from tests.sync.caldav_truth import UTC, today, vcalendar

import hub_icloud.hooks
import hub_ics.hooks

CAP = 500


@pytest.fixture
def hub_plugins():
    return [("icloud", hub_icloud.hooks), ("ics", hub_ics.hooks)]


@pytest.fixture
def hub_settings_overrides():
    return {"max_occurrences": CAP}


def stamp(days: int, hour: int = 10, minute: int = 0, second: int = 0) -> str:
    moment = datetime.combine(today() + timedelta(days=days), datetime.min.time(), UTC)
    return (moment + timedelta(hours=hour, minutes=minute, seconds=second)).strftime("%Y%m%dT%H%M%SZ")


def invitation(uid: str, start_days: int, *lines: str, seconds: int = 60) -> str:
    """An invitation from an outsider, as their client would send it."""
    return vcalendar("\n".join([
        f"UID:{uid}", "DTSTAMP:20260101T000000Z", f"DTSTART:{stamp(start_days)}",
        f"DTEND:{stamp(start_days, 10, 0, seconds)}", f"SUMMARY:{uid}", "ORGANIZER:mailto:mallory@evil.example",
        "ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:alice@acme.example", *lines]))


def every_second_of_the_day() -> str:
    return ("RRULE:FREQ=DAILY;BYHOUR=" + ",".join(map(str, range(24))) + ";BYMINUTE="
            + ",".join(map(str, range(60))) + ";BYSECOND=" + ",".join(map(str, range(60))))


#: uid → the invitation; every one has more occurrences than the cap within the 92-day window
HOSTILE = {
    "minutely-for-a-year": invitation("minutely-for-a-year", -365, "RRULE:FREQ=MINUTELY"),
    "secondly-for-a-year": invitation("secondly-for-a-year", -365, "RRULE:FREQ=SECONDLY", seconds=1),
    "secondly-by-second": invitation("secondly-by-second", -365, "RRULE:FREQ=SECONDLY;BYSECOND=0,20,40", seconds=1),
    "every-second-by-parts": invitation("every-second-by-parts", -365, every_second_of_the_day(), seconds=1),
    "huge-count": invitation("huge-count", 1, "RRULE:FREQ=SECONDLY;COUNT=2000000000", seconds=1),
    "many-rdates": invitation("many-rdates", 1, *(f"RDATE:{stamp(1 + i // 600, 0, i % 600)}" for i in range(20000))),
}


#: what becomes of each: expanded up to the cap, or (too many steps for the expander: hub.rrules.STEP_BUDGET)
#: refused, so that only its first occurrence blocks time — a year ago for those begun then
CAPPED = {"minutely-for-a-year", "secondly-by-second", "huge-count"}
REFUSED = {"secondly-for-a-year": 0, "every-second-by-parts": 0, "many-rdates": 1}
#: what Radicale itself cannot serve: it answers 400 to the huge COUNT, and its own expansion of a
#: time-range query over the others takes 40 s to minutes (the hub's read timeout covers a server that
#: slow); a feed serves them at once, and both paths go through the same parser (hub_caldav.ical)
ONLY_IN_THE_FEED = {"huge-count", "secondly-for-a-year", "secondly-by-second", "every-second-by-parts"}


def good(uid: str, days: int) -> str:
    return vcalendar(f"UID:{uid}\nDTSTAMP:20260101T000000Z\nDTSTART:{stamp(days)}\nDTEND:{stamp(days, 11)}\n"
                     f"SUMMARY:{uid}")


def busy_rows(hub, account_id: int) -> dict[str, int]:
    """Busy rows per event (remote id) of the account."""
    with hub.db.session() as s:
        rows = s.execute(sa.select(CalendarEvent.remote_id, sa.func.count(BusyBlock.id))
                         .join(BusyBlock, BusyBlock.event_id == CalendarEvent.id)
                         .join(Calendar, Calendar.id == CalendarEvent.calendar_id)
                         .where(Calendar.account_id == account_id).group_by(CalendarEvent.remote_id)).all()
    return {remote_id: count for remote_id, count in rows}


def peak_memory_mb(pid: int) -> float:
    """The process's peak resident memory so far (VmHWM)."""
    with open(f"/proc/{pid}/status") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def test_hostile_recurring_invitations_cannot_exhaust_a_worker(caldav, hub, radicale, dovecot, smtp_server,
                                                              feed_server, tmp_path):
    from hub_icloud.testing import new_user

    for uid, text in HOSTILE.items():
        if uid not in ONLY_IN_THE_FEED:
            caldav.put(uid, text)
    caldav.put("good", good("good", 3))
    # another account on the same hub: a colleague whose calendar is ordinary
    other = new_user(radicale, dovecot, smtp_server)
    colleague = connect_account(hub, add_user(hub, "bob@acme.example"), "icloud",
                                {"email": other.name, "password": other.password})
    with hub.db.session() as s:
        s.get(Account, colleague).mail_enabled = False
    radicale.put_object(other, f"/{other.name}/home/standup.ics", good("standup", 2))
    # and a published feed carrying the same invitations
    feed_server.objects = {uid: text for uid, text in HOSTILE.items()} | {"offsite": good("offsite", 4)}
    carol = add_user(hub, "carol@acme.example")
    feed = connect_account(hub, carol, "ics", {"url": feed_server.url})
    refresh_calendars(hub, feed)
    with hub.db.session() as s:
        feed_calendar = s.scalar(sa.select(Calendar.id).where(Calendar.account_id == feed))
    set_conflict(hub, carol, feed_calendar, True)  # "Use more calendars": a feed is read for conflicts only
    accounts = {"caldav": caldav.account_id, "colleague": colleague, "feed": feed}

    worker = WorkerProcess(hub, "icloud,ics", tmp_path / "worker.log", extra_env={"HUB_MAX_OCCURRENCES": str(CAP)})
    try:
        began = time.monotonic()
        for account_id in accounts.values():
            work.enqueue_account_sync(hub, account_id)
        wait_for(lambda: quiet(hub), worker)
        took = time.monotonic() - began
        peak = peak_memory_mb(worker.process.pid)
    finally:
        worker.stop()
    print(f"\nfinding 7: {len(HOSTILE)} hostile series × 2 accounts + 1 ordinary account synced by one worker "
          f"in {took:.1f} s, worker peak RSS {peak:.0f} MB (cap {CAP})")

    assert failed_jobs(hub) == [], worker.output()[-3000:]
    for name in ("caldav", "feed"):
        rows = busy_rows(hub, accounts[name])
        served = [uid for uid in HOSTILE if name == "feed" or uid not in ONLY_IN_THE_FEED]
        stored = {uid: next((n for remote_id, n in rows.items() if uid in remote_id), 0) for uid in served}
        assert stored == {uid: CAP if uid in CAPPED else REFUSED[uid] for uid in served}, name
        with hub.db.session() as s:
            logged = s.execute(sa.select(AccountError.error, AccountError.message)
                               .where(AccountError.account_id == accounts[name])).all()
            assert s.get(Account, accounts[name]).status == AccountStatus.ENABLED
        for uid in CAPPED & set(served):  # each cut series named once, with the cap
            assert len([m for e, m in logged if e == "TooManyOccurrences" and uid in m
                        and f"only its first {CAP}" in m]) == 1, (name, uid, logged)
        for uid in REFUSED.keys() & set(served):
            assert len([m for e, m in logged if e == "UnreadableItem" and uid in m
                        and "repeats too often" in m and "only its first occurrence" in m]) == 1, (name, uid, logged)
    assert any("good" in r for r in busy_rows(hub, accounts["caldav"])), "the ordinary event beside them syncs"
    assert any("offsite" in r for r in busy_rows(hub, accounts["feed"]))
    assert [n for r, n in busy_rows(hub, colleague).items() if "standup" in r] == [1], "the other account syncs"
    with hub.db.session() as s:
        assert s.get(Account, colleague).status == AccountStatus.ENABLED
