"""iCloud calendar behaviour beyond the conformance suite, against Radicale.

Series with overrides and cancelled occurrences, all-day series, a DST change, objects the hub
cannot read, paging over truncated replies, the window moving forward, and what the hub writes.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import icalendar
import pytest

from hub.exceptions import AlreadyExists, CursorExpired
from hub.testing.conformance import fetch_all
from hub.types import EventChange, RemoteEvent, Window

from hub_icloud.testing import connect

BERLIN = ZoneInfo("Europe/Berlin")
UTC = timezone.utc


@pytest.fixture(scope="module", params=["sync-token", "no-sync-token"])
def caldav_url(request, radicale):
    return radicale.split_host(sync_tokens=request.param == "sync-token").url


@pytest.fixture
def account(hooks, caldav_url, user, mail):
    return connect(hooks, caldav_url, user, **mail)


@pytest.fixture
def calendar(user) -> str:
    return f"/{user.name}/home/"


def ics(*vevents: str, timezones: str = "") -> str:
    body = "".join(f"BEGIN:VEVENT\r\n{v.strip()}\r\nEND:VEVENT\r\n" for v in vevents)
    return f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//another client//EN\r\n{timezones}{body}END:VCALENDAR\r\n"


def lines(*items: str) -> str:
    return "\r\n".join(items)


# --- series -----------------------------------------------------------------------------------------

SERIES = ics(
    lines("UID:series-1", "DTSTAMP:20270101T000000Z", "DTSTART;TZID=Europe/Berlin:20270301T100000",
          "DTEND;TZID=Europe/Berlin:20270301T110000", "RRULE:FREQ=WEEKLY;COUNT=6", "SUMMARY:Standup",
          "EXDATE;TZID=Europe/Berlin:20270315T100000"),
    lines("UID:series-1", "DTSTAMP:20270101T000000Z", "RECURRENCE-ID;TZID=Europe/Berlin:20270308T100000",
          "DTSTART;TZID=Europe/Berlin:20270308T140000", "DTEND;TZID=Europe/Berlin:20270308T150000",
          "SUMMARY:Standup (moved)"),
    lines("UID:series-1", "DTSTAMP:20270101T000000Z", "RECURRENCE-ID;TZID=Europe/Berlin:20270322T100000",
          "DTSTART;TZID=Europe/Berlin:20270322T100000", "DTEND;TZID=Europe/Berlin:20270322T110000",
          "STATUS:CANCELLED", "SUMMARY:Standup"),
)
SERIES_WINDOW = Window(datetime(2027, 2, 1, tzinfo=UTC), datetime(2027, 5, 1, tzinfo=UTC))


def occurrence(day: int, hour: int = 10) -> datetime:
    return datetime(2027, 3, day, hour, tzinfo=BERLIN)


def test_series_with_override_and_cancellations(hooks, account, radicale, user, calendar):
    href = calendar + "series-1.ics"
    radicale.put_object(user, href, SERIES)
    events = fetch_all(hooks, account, calendar, None, SERIES_WINDOW).events

    master = events[href]
    assert master.recurrence[0] == "RRULE:FREQ=WEEKLY;COUNT=6"
    assert "EXDATE;TZID=Europe/Berlin:20270315T100000" in master.recurrence
    assert (master.start, master.timezone) == (occurrence(1), "Europe/Berlin")

    moved = [e for e in events.values() if e.recurring_event_id == href and e.status != "cancelled"]
    assert [(e.original_start, e.start, e.summary) for e in moved] == [(occurrence(8), occurrence(8, 14),
                                                                        "Standup (moved)")]
    cancelled = sorted(e.original_start for e in events.values() if e.status == "cancelled")
    assert cancelled == [occurrence(15), occurrence(22)], "EXDATE and a STATUS:CANCELLED override"
    assert all(e.recurring_event_id == href for e in events.values() if e.status == "cancelled")


def test_hub_edits_one_occurrence_and_cancels_another(hooks, account, radicale, user, calendar):
    href = calendar + "series-1.ics"
    radicale.put_object(user, href, SERIES)
    full = fetch_all(hooks, account, calendar, None, SERIES_WINDOW)
    [moved] = [e for e in full.events.values() if e.original_start == occurrence(8)]

    [edited] = hooks.hub_push_events(account=account, calendar_id=calendar, changes=[EventChange(
        "update", "crm-7", event=moved.replace(summary="Standup (hub)"), remote_id=moved.remote_id, etag=moved.etag)])
    assert edited.error is None and edited.remote_id == moved.remote_id
    fifth = full.events[href].replace(remote_id="", recurrence=[], recurring_event_id=href,
                                      original_start=occurrence(29), start=occurrence(29), end=occurrence(29, 11),
                                      status="cancelled")
    [cancel] = hooks.hub_push_events(account=account, calendar_id=calendar, changes=[EventChange(
        "create", "crm-8", event=fifth, etag=edited.etag)])
    assert cancel.error is None

    after = fetch_all(hooks, account, calendar, full.cursor, SERIES_WINDOW).events
    assert after[moved.remote_id].summary == "Standup (hub)"
    assert after[moved.remote_id].start == occurrence(8, 14), "the override keeps its own time"
    assert after[cancel.remote_id].status == "cancelled" and after[cancel.remote_id].original_start == occurrence(29)
    stored = icalendar.Calendar.from_ical(radicale.request(user, "GET", href).text)
    assert {str(v["UID"]) for v in stored.walk("VEVENT")} == {"series-1"}, "one UID per resource"


def test_hub_made_series_with_an_override_and_a_cancellation(hooks, account, radicale, user, calendar):
    start = occurrence(2, 9)
    master = RemoteEvent("", start, start + timedelta(hours=1), summary="Review", timezone="Europe/Berlin",
                         recurrence=["RRULE:FREQ=WEEKLY;COUNT=4"])
    [series] = hooks.hub_push_events(account=account, calendar_id=calendar,
                                     changes=[EventChange("create", "crm-series", event=master)])
    moved = master.replace(recurrence=[], recurring_event_id=series.remote_id, original_start=occurrence(9, 9),
                           start=occurrence(10, 16), end=occurrence(10, 17), summary="Review (Wednesday)")
    [override] = hooks.hub_push_events(account=account, calendar_id=calendar,
                                       changes=[EventChange("create", "crm-series-2", event=moved)])
    assert override.error is None and override.remote_id.startswith(series.remote_id + "#")

    events = fetch_all(hooks, account, calendar, None, SERIES_WINDOW).events
    assert events[series.remote_id].recurrence == ["RRULE:FREQ=WEEKLY;COUNT=4"]
    back = events[override.remote_id]
    assert (back.start, back.original_start, back.summary) == (occurrence(10, 16), occurrence(9, 9), moved.summary)
    assert back.hub_marker == "crm-series-2" and back.recurring_event_id == series.remote_id

    [gone] = hooks.hub_push_events(account=account, calendar_id=calendar, changes=[EventChange(
        "delete", "crm-series-2", remote_id=override.remote_id, etag=override.etag)])
    assert gone.error is None
    after = fetch_all(hooks, account, calendar, None, SERIES_WINDOW).events
    assert after[override.remote_id].status == "cancelled", "deleting one occurrence cancels it (EXDATE)"
    assert "EXDATE;TZID=Europe/Berlin:20270309T090000" in after[series.remote_id].recurrence
    stored = icalendar.Calendar.from_ical(radicale.request(user, "GET", series.remote_id).text)
    assert len(stored.walk("VEVENT")) == 1, "the override went with the occurrence"


def test_master_update_keeps_overrides_and_other_clients_properties(hooks, account, radicale, user, calendar):
    href = calendar + "series-1.ics"
    radicale.put_object(user, href, SERIES.replace("SUMMARY:Standup\r\nEXDATE",
                                                   "SUMMARY:Standup\r\nX-APPLE-TRAVEL-ADVISORY-BEHAVIOR:AUTOMATIC\r\n"
                                                   "BEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:Soon\r\n"
                                                   "TRIGGER:-PT10M\r\nEND:VALARM\r\nEXDATE"))
    full = fetch_all(hooks, account, calendar, None, SERIES_WINDOW)
    master = full.events[href]
    [result] = hooks.hub_push_events(account=account, calendar_id=calendar, changes=[EventChange(
        "update", "crm-9", event=master.replace(summary="Daily sync"), remote_id=href, etag=master.etag)])
    assert result.error is None

    stored = icalendar.Calendar.from_ical(radicale.request(user, "GET", href).text)
    [main] = [v for v in stored.walk("VEVENT") if "RECURRENCE-ID" not in v]
    assert str(main["SUMMARY"]) == "Daily sync" and str(main["X-CRM-HUB-MARKER"]) == "crm-9"
    assert str(main["X-APPLE-TRAVEL-ADVISORY-BEHAVIOR"]) == "AUTOMATIC"
    assert [str(a["TRIGGER"].to_ical().decode()) for a in main.walk("VALARM")] == ["-PT10M"]
    assert len(stored.walk("VEVENT")) == 3, "both overrides survive"


def test_removed_override_is_reported_deleted(hooks, account, radicale, user, calendar):
    href = calendar + "series-1.ics"
    radicale.put_object(user, href, SERIES)
    full = fetch_all(hooks, account, calendar, None, SERIES_WINDOW)
    [moved] = [e for e in full.events.values() if e.original_start == occurrence(8)]
    master_only = ics(SERIES.split("BEGIN:VEVENT\r\n")[1].split("END:VEVENT")[0])
    radicale.put_object(user, href, master_only)  # another client dropped the overrides

    delta = fetch_all(hooks, account, calendar, full.cursor, SERIES_WINDOW)
    assert moved.remote_id in delta.deleted
    assert href in delta.events and href not in delta.deleted


def test_deleting_a_series_deletes_its_occurrences(hooks, account, radicale, user, calendar):
    href = calendar + "series-1.ics"
    radicale.put_object(user, href, SERIES)
    full = fetch_all(hooks, account, calendar, None, SERIES_WINDOW)
    radicale.request(user, "DELETE", href)
    delta = fetch_all(hooks, account, calendar, full.cursor, SERIES_WINDOW)
    assert set(full.events) <= delta.deleted


# --- all-day and time zones --------------------------------------------------------------------------


def test_all_day_recurring_series_round_trip(hooks, account, calendar):
    first = date(2027, 3, 5)
    event = RemoteEvent("", first, first + timedelta(days=1), all_day=True, summary="Holiday",
                        recurrence=["RRULE:FREQ=WEEKLY;COUNT=4", "EXDATE;VALUE=DATE:20270312"])
    [pushed] = hooks.hub_push_events(account=account, calendar_id=calendar,
                                     changes=[EventChange("create", "crm-all-day", event=event)])
    events = fetch_all(hooks, account, calendar, None, SERIES_WINDOW).events
    back = events[pushed.remote_id]
    assert back.all_day and (back.start, back.end) == (first, first + timedelta(days=1))
    assert type(back.start) is date
    assert "RRULE:FREQ=WEEKLY;COUNT=4" in back.recurrence
    [cancelled] = [e for e in events.values() if e.status == "cancelled"]
    assert cancelled.original_start == date(2027, 3, 12) and type(cancelled.start) is date

    busy = hooks.hub_free_busy(account=account, calendar_ids=[calendar], start=datetime(2027, 3, 1, tzinfo=UTC),
                               end=datetime(2027, 4, 1, tzinfo=UTC)).busy[calendar]
    assert [(b.start.date(), b.end - b.start) for b in busy] == [
        (date(2027, 3, 5), timedelta(days=1)), (date(2027, 3, 19), timedelta(days=1)),
        (date(2027, 3, 26), timedelta(days=1))]


def test_weekly_event_keeps_local_time_across_the_dst_change(hooks, account, radicale, user, calendar):
    start = datetime(2027, 3, 15, 10, tzinfo=BERLIN)  # Europe/Berlin moves to summer time on 28 March
    event = RemoteEvent("", start, start + timedelta(hours=1), summary="Weekly", timezone="Europe/Berlin",
                        recurrence=["RRULE:FREQ=WEEKLY;COUNT=4"])
    [pushed] = hooks.hub_push_events(account=account, calendar_id=calendar,
                                     changes=[EventChange("create", "crm-dst", event=event)])
    text = radicale.request(user, "GET", pushed.remote_id).text
    assert "DTSTART;TZID=Europe/Berlin:20270315T100000" in text.replace("\r\n", "\n").splitlines()

    busy = hooks.hub_free_busy(account=account, calendar_ids=[calendar], start=datetime(2027, 3, 14, tzinfo=UTC),
                               end=datetime(2027, 4, 10, tzinfo=UTC)).busy[calendar]
    assert [b.start for b in busy] == [datetime(2027, 3, 15, 9, tzinfo=UTC), datetime(2027, 3, 22, 9, tzinfo=UTC),
                                       datetime(2027, 3, 29, 8, tzinfo=UTC), datetime(2027, 4, 5, 8, tzinfo=UTC)]
    back = fetch_all(hooks, account, calendar, None, SERIES_WINDOW).events[pushed.remote_id]
    assert back.start == start and back.timezone == "Europe/Berlin"


def test_other_clients_vtimezone_and_free_busy_of_overrides(hooks, account, radicale, user, calendar):
    radicale.put_object(user, calendar + "series-1.ics", SERIES)
    busy = hooks.hub_free_busy(account=account, calendar_ids=[calendar], start=datetime(2027, 3, 1, tzinfo=UTC),
                               end=datetime(2027, 4, 10, tzinfo=UTC)).busy[calendar]
    starts = [b.start.astimezone(BERLIN) for b in busy]
    # 1st, moved 8th (14:00), 15th (EXDATE) and 22nd (cancelled) are free, then 29th and 5 April
    assert starts == [occurrence(1), occurrence(8, 14), occurrence(29), datetime(2027, 4, 5, 10, tzinfo=BERLIN)]


def test_free_busy_of_a_missing_calendar_is_an_error_not_a_failure(hooks, account, radicale, user, calendar):
    radicale.put_object(user, calendar + "e1.ics", good_event("e1", 4))
    answer = hooks.hub_free_busy(account=account, calendar_ids=[calendar, f"/{user.name}/gone/"],
                                 start=datetime(2027, 3, 1, tzinfo=UTC), end=datetime(2027, 3, 10, tzinfo=UTC))
    assert list(answer.errors) == [f"/{user.name}/gone/"]
    assert [b.start.day for b in answer.busy[calendar]] == [4]


# --- objects the hub cannot read ---------------------------------------------------------------------

BROKEN = {
    "ends-before-start.ics": ics(lines("UID:broken-1", "DTSTAMP:20270101T000000Z", "DTSTART:20270302T100000Z",
                                       "DTEND:20270302T090000Z", "SUMMARY:broken")),
    "unknown-zone.ics": ics(lines("UID:broken-2", "DTSTAMP:20270101T000000Z",
                                  "DTSTART;TZID=Nowhere/Land:20270303T100000",
                                  "DTEND;TZID=Nowhere/Land:20270303T110000", "SUMMARY:broken")),
}


def good_event(uid: str, day: int) -> str:
    return ics(lines(f"UID:{uid}", "DTSTAMP:20270101T000000Z", f"DTSTART:202703{day:02d}T100000Z",
                     f"DTEND:202703{day:02d}T110000Z", f"SUMMARY:{uid}"))


def test_unreadable_objects_are_logged_and_skipped(hooks, account, radicale, user, calendar, caplog):
    radicale.put_object(user, calendar + "good-1.ics", good_event("good-1", 4))
    for name, text in BROKEN.items():  # Radicale accepts these; they still break RFC 5545
        radicale.put_object(user, calendar + name, text)
    with caplog.at_level(logging.WARNING, logger="hub_caldav"):
        full = fetch_all(hooks, account, calendar, None, SERIES_WINDOW)
    assert set(full.events) == {calendar + "good-1.ics"}
    assert all(any(name in r.getMessage() for r in caplog.records) for name in BROKEN)
    assert sorted(href.rsplit("/", 1)[-1] for href, _reason in full.unreadable) == sorted(BROKEN)

    radicale.put_object(user, calendar + "good-2.ics", good_event("good-2", 5))
    radicale.put_object(user, calendar + "broken-3.ics", BROKEN["ends-before-start.ics"].replace("broken-1", "b3"))
    delta = fetch_all(hooks, account, calendar, full.cursor, SERIES_WINDOW)
    assert set(delta.events) == {calendar + "good-2.ics"}, "the incremental page goes on past the bad object"

    busy = hooks.hub_free_busy(account=account, calendar_ids=[calendar], start=datetime(2027, 3, 1, tzinfo=UTC),
                               end=datetime(2027, 3, 10, tzinfo=UTC))
    assert not busy.errors and [b.start.day for b in busy.busy[calendar]] == [4, 5]


# --- the window, paging, cursors -----------------------------------------------------------------------


def test_events_that_leave_or_enter_the_window(hooks, account, radicale, user, calendar):
    radicale.put_object(user, calendar + "inside.ics", good_event("inside", 4))
    radicale.put_object(user, calendar + "later.ics", good_event("later", 30))
    window = Window(datetime(2027, 3, 1, tzinfo=UTC), datetime(2027, 3, 20, tzinfo=UTC))
    full = fetch_all(hooks, account, calendar, None, window)
    assert set(full.events) == {calendar + "inside.ics"}

    radicale.put_object(user, calendar + "inside.ics", good_event("inside", 25))  # moved out of the window
    delta = fetch_all(hooks, account, calendar, full.cursor, window)
    assert calendar + "inside.ics" in delta.deleted

    wider = Window(window.start, datetime(2027, 4, 5, tzinfo=UTC))  # days passed: the window grew
    grown = fetch_all(hooks, account, calendar, delta.cursor, wider)
    assert {calendar + "inside.ics", calendar + "later.ics"} <= set(grown.events)
    assert not grown.deleted

    later = Window(datetime(2027, 3, 10, tzinfo=UTC), wider.end)  # an event that ended is not "deleted"
    quiet = fetch_all(hooks, account, calendar, grown.cursor, later)
    assert not quiet.deleted and not quiet.events


def test_truncated_sync_replies_continue_over_pages(hooks, radicale, user, mail):
    account = connect(hooks, radicale.split_host(sync_page_size=2).url, user, **mail)
    calendar = f"/{user.name}/home/"
    cursor = fetch_all(hooks, account, calendar, None, SERIES_WINDOW).cursor
    for day in range(1, 6):
        radicale.put_object(user, f"{calendar}e{day}.ics", good_event(f"e{day}", day))
    delta = fetch_all(hooks, account, calendar, cursor, SERIES_WINDOW)
    assert delta.pages == 3, "five changes in pages of two"
    assert set(delta.events) == {f"{calendar}e{day}.ics" for day in range(1, 6)}


@pytest.mark.parametrize("sync_tokens", [True, False])
def test_a_quiet_calendar_costs_one_request(hooks, radicale, user, mail, sync_tokens):
    front = radicale.split_host(sync_tokens=sync_tokens)
    account = connect(hooks, front.url, user, **mail)
    calendar = f"/{user.name}/home/"
    radicale.put_object(user, calendar + "e1.ics", good_event("e1", 4))
    cursor = fetch_all(hooks, account, calendar, None, SERIES_WINDOW).cursor
    front.home.requests.clear()
    fetch_all(hooks, account, calendar, cursor, SERIES_WINDOW)
    expected = "REPORT" if sync_tokens else "PROPFIND"  # sync-collection, or the ctag alone
    assert [r.split()[0] for r in front.home.requests] == [expected]


def test_unreadable_cursor_means_full_sync(hooks, account, calendar):
    with pytest.raises(CursorExpired):
        hooks.hub_fetch_events(account=account, calendar_id=calendar, cursor="not json", window=SERIES_WINDOW)


# --- what the hub writes -------------------------------------------------------------------------------


def test_written_icalendar_is_valid_and_marked(hooks, account, radicale, user, calendar):
    start = datetime(2027, 3, 2, 15, tzinfo=BERLIN)
    event = RemoteEvent("", start, start + timedelta(minutes=30), summary="Demo; with, specials\\",
                        description="Line 1\nLine 2", location="Room 4", timezone="Europe/Berlin",
                        transparent=True)
    [pushed] = hooks.hub_push_events(account=account, calendar_id=calendar,
                                     changes=[EventChange("create", "crm/odd id+1", event=event, send_invites=False)])
    assert pushed.error is None and pushed.remote_id.endswith(".ics") and "/" not in pushed.remote_id[len(calendar):]
    stored = icalendar.Calendar.from_ical(radicale.request(user, "GET", pushed.remote_id).text)
    [vevent] = stored.walk("VEVENT")
    assert str(vevent["X-CRM-HUB-MARKER"]) == "crm/odd id+1"
    assert (str(vevent["SUMMARY"]), str(vevent["DESCRIPTION"])) == (event.summary, event.description)
    assert str(vevent["TRANSP"]) == "TRANSPARENT"
    [zone] = stored.walk("VTIMEZONE")
    tz = zone.to_tz(lookup_tzid=False)  # the definition as stored: other clients rely on it
    for day, hours in ((date(2027, 1, 10), 1), (date(2028, 7, 10), 2), (date(2030, 12, 1), 1), (date(2031, 6, 1), 2)):
        assert datetime.combine(day, datetime.min.time(), tz).utcoffset() == timedelta(hours=hours)
    assert vevent.decoded("DTSTART") == start

    back = fetch_all(hooks, account, calendar, None, SERIES_WINDOW).events[pushed.remote_id]
    assert back.hub_marker == "crm/odd id+1" and back.transparent


def test_create_where_another_event_lives_is_already_exists(hooks, account, radicale, user, calendar):
    radicale.put_object(user, calendar + "crm-taken.ics", good_event("someone-else", 6))
    event = RemoteEvent("", datetime(2027, 3, 6, 9, tzinfo=UTC), datetime(2027, 3, 6, 10, tzinfo=UTC), summary="x")
    [result] = hooks.hub_push_events(account=account, calendar_id=calendar,
                                     changes=[EventChange("create", "crm-taken", event=event)])
    assert isinstance(result.error, AlreadyExists)
    assert "someone-else" in radicale.request(user, "GET", calendar + "crm-taken.ics").text


def test_delete_of_an_event_already_gone_succeeds(hooks, account, calendar):
    [result] = hooks.hub_push_events(account=account, calendar_id=calendar, changes=[EventChange(
        "delete", "crm-gone", remote_id=calendar + "never-there.ics", etag='"abc"')])
    assert result.error is None
