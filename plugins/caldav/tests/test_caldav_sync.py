"""Legal server answers the sync must live with, each against the server that gives it:
servers capping one REPORT (Radicale: 10,000 VEVENTs), time ranges that must not shrink to nothing
(Xandikos answers 500 to an empty one), a busy server's Retry-After, and what a quiet calendar costs."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from urllib.parse import quote

import pytest

from hub.exceptions import RateLimited
from hub.testing.conformance import fetch_all
from hub.types import Window

from hub_caldav.sync import BATCH
from hub_caldav.testing import connect

UTC = timezone.utc
DAY = datetime(2027, 3, 1, 10, 0, tzinfo=UTC)
WINDOW = Window(DAY - timedelta(days=1), DAY + timedelta(days=60))


def event(uid: str, start: datetime) -> str:
    stamp = start.strftime("%Y%m%dT%H%M%SZ")
    end = (start + timedelta(hours=1)).strftime("%Y%m%dT%H%M%SZ")
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//hub tests//EN\r\nBEGIN:VEVENT\r\n"
            f"UID:{uid}\r\nDTSTAMP:20270101T000000Z\r\nDTSTART:{stamp}\r\nDTEND:{end}\r\nSUMMARY:{uid}\r\n"
            "END:VEVENT\r\nEND:VCALENDAR\r\n")


@pytest.fixture(params=["radicale", "xandikos"])
def served(request, hooks):
    """(peer, user, front, account, calendar path) on each server; the front counts requests."""
    if request.param == "radicale":
        peer = request.getfixturevalue("radicale")
        user = peer.add_user()
        calendar = peer.make_calendar(user, "home", "Home")
        front = peer.front()
    else:
        peer = request.getfixturevalue("xandikos")
        user = peer.add_user()
        calendar = "/user/calendars/calendar/"
        front = peer._fronts[-1]
    account = connect(hooks, user, server=front.url, username=user.name)
    return peer, user, front, account, calendar


def reports(front) -> list[str]:
    return [r for r in front.requests if r.startswith("REPORT")]


def test_a_window_that_moved_by_seconds_costs_one_report(hooks, served):
    peer, user, front, account, calendar = served
    peer.put_object(user, calendar + "a.ics", event("a", DAY + timedelta(days=3)))
    cursor = fetch_all(hooks, account, calendar, None, WINDOW).cursor
    for moved in (timedelta(milliseconds=400), timedelta(seconds=30), timedelta(minutes=5)):
        front.requests.clear()
        later = Window(WINDOW.start + moved, WINDOW.end + moved)
        result = fetch_all(hooks, account, calendar, cursor, later)
        assert front.requests == [f"REPORT {calendar} 0"], "one sync-collection and nothing else"
        assert not result.events and not result.deleted
        cursor = result.cursor


def test_the_window_grows_by_whole_days_once_a_day(hooks, served):
    peer, user, front, account, calendar = served
    far = DAY + timedelta(days=61, hours=2)  # outside the window until it grows past the next midnight
    peer.put_object(user, calendar + "far.ics", event("far", far))
    cursor = fetch_all(hooks, account, calendar, None, WINDOW).cursor

    same_day = Window(WINDOW.start + timedelta(hours=13), WINDOW.end + timedelta(hours=13))  # 23:00
    quiet = fetch_all(hooks, account, calendar, cursor, same_day)
    assert not quiet.events

    front.requests.clear()
    next_day = Window(WINDOW.start + timedelta(hours=16), WINDOW.end + timedelta(hours=16))  # 02:00 next day
    grown = fetch_all(hooks, account, calendar, quiet.cursor, next_day)
    assert calendar + "far.ics" in grown.events
    assert len(reports(front)) == 3, "sync-collection, the new day's calendar-query, its multiget"

    front.requests.clear()
    fetch_all(hooks, account, calendar, grown.cursor, Window(next_day.start, next_day.end + timedelta(hours=3)))
    assert len(front.requests) == 1, "the next day was imported already"


@pytest.fixture
def capped_radicale(radicale, tmp_path):
    """Radicale refusing a REPORT with more than 600 VEVENTs: its 10,000 by default, lowered so that
    the test stays quick (bench/calendar_sync.py syncs 20,000 events on the default settings)."""
    from hub.testing.peers.caldav import Radicale

    server = Radicale(tmp_path, {"--reporting-max-expand-occurrence": "600"}).start()
    yield server
    server.stop()


def test_more_events_than_radicale_returns_in_one_report(hooks, capped_radicale):
    radicale = capped_radicale
    user = radicale.add_user()
    calendar = radicale.make_calendar(user, "big", "Big")
    count = 1_250
    radicale.write_objects(user, calendar, {f"e{i}.ics": event(f"e{i}", DAY + timedelta(minutes=7 * i))
                                            for i in range(count)})
    account = connect(hooks, user, server=radicale.url, username=user.name)
    window = Window(DAY - timedelta(days=1), DAY + timedelta(days=60))
    result = fetch_all(hooks, account, calendar, None, window)
    assert len(result.events) == count and not result.unreadable
    assert result.pages == 3, "pages of at most BATCH (500) events, as the hook contract asks"


def test_a_large_first_import_comes_in_pages_and_resumes_after_a_failure(hooks, radicale):
    user = radicale.add_user()
    calendar = radicale.make_calendar(user, "big", "Big")
    names = {f"{calendar}e{i}.ics" for i in range(2 * BATCH + 20)}
    radicale.write_objects(user, calendar, {name.rsplit("/", 1)[1]: event(name, DAY + timedelta(minutes=7 * i))
                                            for i, name in enumerate(sorted(names))})
    front = radicale.front()
    account = connect(hooks, user, server=front.url, username=user.name)
    first = hooks.hub_fetch_events(account=account, calendar_id=calendar, cursor=None, window=WINDOW)
    assert len(first.events) == BATCH and not first.done

    front.answer_next(503, {"Retry-After": "5"})
    with pytest.raises(RateLimited):
        hooks.hub_fetch_events(account=account, calendar_id=calendar, cursor=first.next_cursor, window=WINDOW)
    front.requests.clear()
    rest = fetch_all(hooks, account, calendar, first.next_cursor, WINDOW)
    assert rest.pages == 2 and len(reports(front)) == 2, "one multiget a page; the listing is not asked again"
    assert {e.remote_id for e in first.events} | set(rest.events) == names
    assert not {e.remote_id for e in first.events} & set(rest.events)

    front.requests.clear()
    assert not fetch_all(hooks, account, calendar, rest.cursor, WINDOW).events
    assert front.requests == [f"REPORT {calendar} 0"], "after the import, the sync token"


@pytest.mark.parametrize("status,header,seconds", [(429, "120", 120), (503, "30", 30)])
def test_a_busy_server_says_when_to_come_back(hooks, radicale, status, header, seconds):
    user = radicale.add_user()
    calendar = radicale.make_calendar(user, "home", "Home")
    front = radicale.front()
    account = connect(hooks, user, server=front.url, username=user.name)
    cursor = fetch_all(hooks, account, calendar, None, WINDOW).cursor
    front.answer_next(status, {"Retry-After": header})
    with pytest.raises(RateLimited) as caught:
        hooks.hub_fetch_events(account=account, calendar_id=calendar, cursor=cursor, window=WINDOW)
    assert caught.value.retry_after == seconds and "127.0.0.1" in caught.value.message


@pytest.mark.parametrize("status", [301, 308])
def test_a_calendar_home_that_moved_is_followed(hooks, radicale, status):
    user = radicale.add_user()
    calendar = radicale.make_calendar(user, "home", "Home")
    radicale.put_object(user, calendar + "a.ics", event("a", DAY + timedelta(days=3)))
    front = radicale.front()
    account = connect(hooks, user, server=front.url, username=user.name)
    old_home = f"/old-home/{user.name}/"  # the front matches decoded paths
    front.moved[old_home] = (status, f"/{quote(user.name)}/")
    account.settings["calendar_home_url"] = front.origin + quote(old_home)  # where the account was found once
    [listed] = hooks.hub_list_calendars(account=account)
    assert listed.remote_id == calendar
    assert any(r.startswith(f"PROPFIND {old_home}") for r in front.requests)
    assert set(fetch_all(hooks, account, calendar, None, WINDOW).events) == {calendar + "a.ics"}
