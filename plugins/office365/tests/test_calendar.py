"""Calendar hooks against the sandbox: series, show-as, time zones, faults mid-sync, duplicates."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from hub.exceptions import CursorExpired, NotSupported, ProviderUnavailable, RateLimited
from hub.types import EventChange, Participant, RemoteEvent, Window


@pytest.fixture
def window() -> Window:
    now = datetime.now(timezone.utc)
    return Window(now - timedelta(days=1), now + timedelta(days=60))


@pytest.fixture
def primary(state, account) -> str:
    return state.mailbox(account.email).default_calendar_id


def _at(days: int, hour: int, zone: str = "UTC") -> dict:
    day = date.today() + timedelta(days=days)
    return {"dateTime": f"{day}T{hour:02d}:00:00", "timeZone": zone}


def _add(state, email, subject, days, hour, calendar_id=None, **extra):
    return state.add_event(email, {"subject": subject, "start": _at(days, hour), "end": _at(days, hour + 1), **extra},
                           calendar_id)["id"]


class Mirror:
    """What the sync engine keeps: pages applied in order (upserts by id, deletions)."""

    def __init__(self):
        self.events: dict[str, RemoteEvent] = {}
        self.cursor = None

    def sync(self, hooks, account, calendar_id, window):
        while True:
            page = hooks.hub_fetch_events(account=account, calendar_id=calendar_id, cursor=self.cursor, window=window)
            for event in page.events:
                self.events[event.remote_id] = event
            for remote_id in page.deleted:
                self.events.pop(remote_id, None)
            self.cursor = page.next_cursor
            if page.done:
                return self

    def summaries(self) -> list[str]:
        return sorted(e.summary for e in self.events.values())


def test_list_calendars_maps_access(hooks, account, state):
    state.add_calendar(account.email, "Team")
    state.add_calendar(account.email, "Boss", owner="boss@contoso.example")
    state.add_calendar(account.email, "Holidays", can_edit=False, owner="h@holidays.example")
    calendars = {c.name: c for c in hooks.hub_list_calendars(account=account)}
    assert {n: c.access_role for n, c in calendars.items()} == {
        "Calendar": "owner", "Team": "owner", "Boss": "writer", "Holidays": "reader"}
    assert [n for n, c in calendars.items() if c.is_primary] == ["Calendar"]


@pytest.mark.parametrize("setting, expected", [("W. Europe Standard Time", "Europe/Berlin"),
                                               ("Europe/Berlin", "Europe/Berlin"), ("UTC", None),
                                               ("tzone://Microsoft/Utc", None), ("Mars Standard Time", None)])
def test_own_calendars_report_the_mailbox_zone(hooks, account, state, setting, expected):
    """Graph calendars have no zone; the mailbox's (Windows or IANA name) is their zone. UTC is also what
    a mailbox whose user never chose a zone reports, so it says nothing (the owner's zone applies)."""
    state.mailbox(account.email).time_zone = setting
    state.add_calendar(account.email, "Team")
    state.add_calendar(account.email, "Boss", owner="boss@contoso.example")
    zones = {c.name: c.timezone for c in hooks.hub_list_calendars(account=account)}
    assert zones == {"Calendar": expected, "Team": expected, "Boss": None}


def test_an_account_granted_before_the_mailbox_settings_scope_keeps_syncing(hooks, account, state):
    """Accounts connected before the hub asked for MailboxSettings.Read: their refresh must not ask for it
    (the identity platform would refuse with AADSTS65001), and their calendars simply report no zone."""
    state.mailbox(account.email).time_zone = "W. Europe Standard Time"
    for grant in state.grants.values():
        grant.scopes = [s for s in grant.scopes if s != "MailboxSettings.Read"]
    token = account.credentials["token"]
    account.credentials["token"] = {**token, "expires_at": 0,
                                    "scope": " ".join(s for s in token["scope"].split() if s != "MailboxSettings.Read")}
    assert [c.timezone for c in hooks.hub_list_calendars(account=account)] == [None]
    assert "MailboxSettings.Read" not in account.saved[-1]["token"]["scope"], "refreshed within the old grant"


def test_calendar_list_follows_next_links(hooks, account, state):
    for i in range(14):  # Graph pages /me/calendars at 10
        state.add_calendar(account.email, f"c{i}")
    assert len(hooks.hub_list_calendars(account=account)) == 15


def test_series_from_outlook_with_exception_and_cancellation(hooks, account, state, primary, window):
    first = date.today() + timedelta(days=2)
    master = state.add_event(account.email, {
        "subject": "weekly", "start": {"dateTime": f"{first}T10:00:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": f"{first}T10:30:00", "timeZone": "Europe/Berlin"},
        "recurrence": {"pattern": {"type": "weekly", "interval": 1, "daysOfWeek": [first.strftime("%A").lower()]},
                       "range": {"type": "numbered", "numberOfOccurrences": 5, "startDate": str(first)}}})
    mirror = Mirror().sync(hooks, account, primary, window)
    series = mirror.events[master["id"]]
    assert series.recurrence[0].startswith("RRULE:FREQ=WEEKLY") and "COUNT=5" in series.recurrence[0]
    assert series.timezone == "Europe/Berlin"
    assert len(mirror.events) == 1, "occurrences are folded into their series"

    occurrences = _occurrences(state, account.email, master["id"])
    state.update_event(account.email, occurrences[1], {"subject": "weekly (moved)", "start": _at(12, 15),
                                                       "end": _at(12, 16)})
    mirror.sync(hooks, account, primary, window)
    exception = mirror.events[occurrences[1]]
    assert (exception.recurring_event_id, exception.summary) == (master["id"], "weekly (moved)")
    assert exception.original_start.date() == first + timedelta(days=7)
    assert not [line for line in mirror.events[master["id"]].recurrence if line.startswith("EXDATE")]

    state.delete_event(account.email, occurrences[3])  # Graph's delta shows only {"id", "@removed"}
    mirror.sync(hooks, account, primary, window)
    cancelled_day = first + timedelta(days=21)
    exdates = [line for line in mirror.events[master["id"]].recurrence if line.startswith("EXDATE")]
    assert exdates and cancelled_day.strftime("%Y%m%d") in exdates[0], "a bare @removed became an EXDATE"

    state.delete_event(account.email, master["id"])
    mirror.sync(hooks, account, primary, window)
    assert master["id"] not in mirror.events


def _occurrences(state, email, master_id):
    from hub_office365.sandbox import events

    box = state.mailbox(email)
    now = datetime.now(timezone.utc)
    found = events.instances(box, list(box.calendars), now - timedelta(days=1), now + timedelta(days=90))
    return [i["id"] for i in found if i.get("seriesMasterId") == master_id]


def test_show_as_free_and_working_elsewhere_are_transparent(hooks, account, state, primary, window):
    ids = {show: _add(state, account.email, show, 3, 8 + i, showAs=show)
           for i, show in enumerate(["free", "workingElsewhere", "tentative", "busy", "oof"])}
    events = Mirror().sync(hooks, account, primary, window).events
    assert {show: events[i].transparent for show, i in ids.items()} == {
        "free": True, "workingElsewhere": True, "tentative": False, "busy": False, "oof": False}
    busy = hooks.hub_free_busy(account=account, calendar_ids=[primary], start=window.start, end=window.end)
    starts = {b.start.hour for b in busy.busy[primary]}
    assert starts == {10, 11, 12}, "getSchedule: only tentative, busy and out-of-office block"


def test_free_busy_of_another_calendar_and_an_unknown_one(hooks, account, state, primary, window):
    team = state.add_calendar(account.email, "Team")
    _add(state, account.email, "team busy", 4, 9, calendar_id=team)
    _add(state, account.email, "team free", 4, 11, calendar_id=team, showAs="free")
    answer = hooks.hub_free_busy(account=account, calendar_ids=[team, "AAMkGone"], start=window.start,
                                 end=window.end)
    assert [b.start.hour for b in answer.busy[team]] == [9]
    assert "AAMkGone" in answer.errors and "AAMkGone" not in answer.busy


def test_windows_time_zone_names(hooks, account, state, primary, window):
    event_id = _add(state, account.email, "pacific", 5, 9)
    state.update_event(account.email, event_id, {"start": _at(5, 9, "Pacific Standard Time"),
                                                 "end": _at(5, 10, "Pacific Standard Time")})
    event = Mirror().sync(hooks, account, primary, window).events[event_id]
    assert event.timezone == "America/Los_Angeles"
    nine_in_los_angeles = datetime.combine(date.today() + timedelta(days=5), time(9), ZoneInfo("America/Los_Angeles"))
    assert event.start == nine_in_los_angeles  # the same instant, PDT or PST as that day has it


def test_push_maps_show_as_attendees_and_teams(hooks, account, state, primary):
    start = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=3)
    event = RemoteEvent("", start, start + timedelta(hours=1), summary="booked", transparent=True,
                        attendees=[Participant("guest@example.org", "Guest")])
    [result] = hooks.hub_push_events(account=account, calendar_id=primary, changes=[
        EventChange("create", "client-1", event=event, want_video=True)])
    stored = state.mailbox(account.email).events[result.remote_id]
    assert stored["showAs"] == "free" and stored["transactionId"] == "client-1"
    assert [a["emailAddress"]["address"] for a in stored["attendees"]] == ["guest@example.org"]
    assert result.video_url == stored["onlineMeeting"]["joinUrl"]

    [silent] = hooks.hub_push_events(account=account, calendar_id=primary, changes=[
        EventChange("create", "client-2", event=event, send_invites=False)])
    assert state.mailbox(account.email).events[silent.remote_id]["attendees"] == []


def test_retried_create_without_transaction_id_dedupe(hooks, account, state, primary, window):
    """Graph's transactionId dedupe is [unverified]: the extended-property lookup keeps creates idempotent."""
    state.knobs.dedupe_transaction_id = False
    start = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=4)
    change = EventChange("create", "client-x", event=RemoteEvent("", start, start + timedelta(hours=1), summary="once"))
    ids = {hooks.hub_push_events(account=account, calendar_id=primary, changes=[change])[0].remote_id
           for _ in range(3)}
    assert len(ids) == 1
    assert [e.hub_marker for e in Mirror().sync(hooks, account, primary, window).events.values()] == ["client-x"]


def test_push_series_with_exdate(hooks, account, state, primary, window):
    start = datetime.combine(date.today() + timedelta(days=3), datetime.min.time(), timezone.utc).replace(hour=13)
    skip = start + timedelta(days=1)
    event = RemoteEvent("", start, start + timedelta(minutes=30), summary="daily", timezone="UTC",
                        recurrence=["RRULE:FREQ=DAILY;COUNT=4", "EXDATE:" + skip.strftime("%Y%m%dT%H%M%SZ")])
    [result] = hooks.hub_push_events(account=account, calendar_id=primary, changes=[
        EventChange("create", "series-1", event=event, send_invites=False)])
    assert result.error is None
    occurrences = _occurrences(state, account.email, result.remote_id)
    assert len(occurrences) == 3
    back = Mirror().sync(hooks, account, primary, window).events[result.remote_id]
    assert back.recurrence[1] == "EXDATE:" + skip.strftime("%Y%m%dT%H%M%SZ")


def test_unsupported_repeat_rule_fails_that_change_only(hooks, account, primary):
    start = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=3)
    hourly = RemoteEvent("", start, start + timedelta(minutes=10), summary="x", recurrence=["RRULE:FREQ=HOURLY"])
    plain = RemoteEvent("", start, start + timedelta(minutes=10), summary="y")
    results = hooks.hub_push_events(account=account, calendar_id=primary, changes=[
        EventChange("create", "bad", event=hourly), EventChange("create", "good", event=plain)])
    assert isinstance(results[0].error, NotSupported) and results[0].error.fix
    assert results[1].error is None and results[1].remote_id


# --- faults ----------------------------------------------------------------------------------------


def test_429_is_rate_limited_with_retry_after(hooks, account, state, primary, window):
    state.inject_fault(429, retry_after=7, path="calendarview/delta")
    with pytest.raises(RateLimited) as caught:
        hooks.hub_fetch_events(account=account, calendar_id=primary, cursor=None, window=window)
    assert caught.value.retry_after == 7
    assert hooks.hub_fetch_events(account=account, calendar_id=primary, cursor=None, window=window).done


def test_server_errors_and_timeouts_are_transient(hooks, account, state, primary, window):
    state.inject_fault(503)
    with pytest.raises(ProviderUnavailable):
        hooks.hub_list_calendars(account=account)
    account.context.config["timeout"] = "0.5"
    state.inject_fault(timeout=1.5)
    with pytest.raises(ProviderUnavailable):
        hooks.hub_list_calendars(account=account)


def test_rate_limit_mid_batch_keeps_what_was_applied(hooks, account, state, primary):
    start = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=3)
    changes = [EventChange("create", f"b{i}", event=RemoteEvent("", start, start + timedelta(hours=1), summary=f"b{i}"))
               for i in range(3)]
    state.inject_fault(429, retry_after=3, path="/events", method="POST")
    with pytest.raises(RateLimited):  # the first change failed: nothing applied, the batch is retried
        hooks.hub_push_events(account=account, calendar_id=primary, changes=changes)
    results = hooks.hub_push_events(account=account, calendar_id=primary, changes=changes[:1])
    assert results[0].error is None
    # one change in, then throttled: applied results are kept, the rest carry the error
    state.inject_fault(429, retry_after=3, path="/events", method="POST")
    results = hooks.hub_push_events(account=account, calendar_id=primary, changes=changes)
    assert results[0].error is None and results[0].remote_id
    assert all(isinstance(r.error, RateLimited) for r in results[1:])


def test_410_mid_delta_then_full_resync(hooks, account, state, primary, window):
    for i in range(7):
        _add(state, account.email, f"e{i}", 2 + i, 9)
    state.knobs.max_delta_page_size = 3
    mirror = Mirror()
    page = hooks.hub_fetch_events(account=account, calendar_id=primary, cursor=None, window=window)
    assert not page.done and len(page.events) == 3
    state.expire_delta_tokens()
    with pytest.raises(CursorExpired):
        hooks.hub_fetch_events(account=account, calendar_id=primary, cursor=page.next_cursor, window=window)
    state.knobs.delta_expiry_style = "invalid"
    mirror.sync(hooks, account, primary, window)  # the engine drops the cursor and starts over
    assert mirror.summaries() == [f"e{i}" for i in range(7)]
    state.expire_delta_tokens()
    with pytest.raises(CursorExpired):
        hooks.hub_fetch_events(account=account, calendar_id=primary, cursor=mirror.cursor, window=window)


def test_duplicate_and_replayed_delta_items(hooks, account, state, primary, window):
    ids = [_add(state, account.email, f"e{i}", 2 + i, 9) for i in range(4)]
    state.knobs.max_delta_page_size = 3
    state.knobs.duplicate_delta_items = True
    mirror = Mirror()
    page = hooks.hub_fetch_events(account=account, calendar_id=primary, cursor=None, window=window)
    assert len(page.events) == len({e.remote_id for e in page.events}), "duplicates within a page are folded"
    mirror.cursor = None
    mirror.sync(hooks, account, primary, window)
    assert mirror.summaries() == ["e0", "e1", "e2", "e3"]

    state.update_event(account.email, ids[0], {"subject": "e0 edited"})
    state.delete_event(account.email, ids[1])
    mirror.sync(hooks, account, primary, window)
    state.knobs.replay_delta = True  # the next round repeats the previous one's changes
    _add(state, account.email, "e4", 9, 9)
    mirror.sync(hooks, account, primary, window)
    assert mirror.summaries() == ["e0 edited", "e2", "e3", "e4"]
    assert len(mirror.events) == 4


@pytest.mark.parametrize("rule", [
    "FREQ=DAILY;INTERVAL=2;COUNT=5",
    "FREQ=WEEKLY;BYDAY=MO,WE,FR;COUNT=7",
    "FREQ=WEEKLY;INTERVAL=2;UNTIL={until}",
    "FREQ=MONTHLY;BYDAY=2TU;COUNT=3",
    "FREQ=MONTHLY;BYDAY=FR;BYSETPOS=-1;COUNT=3",
    "FREQ=MONTHLY;BYMONTHDAY=15;COUNT=3",
    "FREQ=YEARLY;BYMONTH={month};BYMONTHDAY={day};COUNT=2",
])
@pytest.mark.parametrize("all_day", [False, True])
def test_repeat_rules_round_trip_to_the_same_occurrences(hooks, account, state, primary, rule, all_day):
    """The hub's RRULE, Outlook's pattern and the occurrences Outlook shows all agree."""
    from dateutil.rrule import rrulestr

    first = date.today() + timedelta(days=3)
    until = (first + timedelta(days=40)).strftime("%Y%m%d" if all_day else "%Y%m%dT235959Z")
    rule = rule.format(until=until, month=first.month, day=first.day)
    if all_day:
        start, end, zone = first, first + timedelta(days=1), "America/Los_Angeles"
    else:
        start = datetime.combine(first, datetime.min.time(), timezone.utc).replace(hour=15)
        end, zone = start + timedelta(minutes=45), "Europe/Berlin"
    event = RemoteEvent("", start, end, summary="series", all_day=all_day, timezone=zone, recurrence=["RRULE:" + rule])
    [pushed] = hooks.hub_push_events(account=account, calendar_id=primary, changes=[
        EventChange("create", "rr-" + rule, event=event, send_invites=False)])
    assert pushed.error is None
    wide = Window(datetime.now(timezone.utc), datetime.now(timezone.utc) + timedelta(days=800))
    back = Mirror().sync(hooks, account, primary, wide).events[pushed.remote_id]

    local = back.start if all_day else back.start.astimezone(ZoneInfo(back.timezone))
    dtstart = datetime.combine(local, datetime.min.time()) if all_day else local
    expected = [o.date() if all_day else o for o in rrulestr(back.recurrence[0].split(":", 1)[1], dtstart=dtstart)
                if (o.date() if all_day else o) < (first + timedelta(days=800) if all_day else wide.end)]
    shown = sorted(state_item["originalStart"] for state_item in _instances(state, account.email, pushed.remote_id))
    assert [_key(o) for o in expected] == shown
    original = rrulestr(rule, dtstart=dtstart if all_day else start.astimezone(ZoneInfo(zone)))
    assert [_key(o.date() if all_day else o) for o in list(original)[:len(expected)]] == shown


def _instances(state, email, master_id):
    from hub_office365.sandbox import events

    box = state.mailbox(email)
    now = datetime.now(timezone.utc)
    found = events.instances(box, list(box.calendars), now - timedelta(days=1), now + timedelta(days=800))
    return [i for i in found if i.get("seriesMasterId") == master_id]


def _key(value):
    return value if isinstance(value, date) and not isinstance(value, datetime) else value.astimezone(timezone.utc)


def test_update_series_with_new_exdate(hooks, account, state, primary, window):
    start = datetime.combine(date.today() + timedelta(days=2), datetime.min.time(), timezone.utc).replace(hour=8)
    event = RemoteEvent("", start, start + timedelta(minutes=15), summary="daily", timezone="UTC",
                        recurrence=["RRULE:FREQ=DAILY;COUNT=5"])
    [made] = hooks.hub_push_events(account=account, calendar_id=primary, changes=[
        EventChange("create", "upd-series", event=event, send_invites=False)])
    skip = start + timedelta(days=2)
    changed = event.replace(remote_id=made.remote_id, summary="daily (one off)",
                            recurrence=event.recurrence + ["EXDATE:" + skip.strftime("%Y%m%dT%H%M%SZ")])
    [updated] = hooks.hub_push_events(account=account, calendar_id=primary, changes=[
        EventChange("update", "upd-series", event=changed, remote_id=made.remote_id, etag=made.etag)])
    assert updated.error is None and updated.etag != made.etag
    assert [i["subject"] for i in _instances(state, account.email, made.remote_id)] == ["daily (one off)"] * 4


def test_all_day_series_exdate_west_of_utc(hooks, account, state, primary, window):
    first = date.today() + timedelta(days=2)
    exdate = f"EXDATE;VALUE=DATE:{first + timedelta(days=1):%Y%m%d}"
    event = RemoteEvent("", first, first + timedelta(days=1), summary="all-day daily", all_day=True,
                        timezone="America/Los_Angeles", recurrence=["RRULE:FREQ=DAILY;COUNT=4", exdate])
    [made] = hooks.hub_push_events(account=account, calendar_id=primary, changes=[
        EventChange("create", "allday-ex", event=event, send_invites=False)])
    assert [i["originalStart"] for i in _instances(state, account.email, made.remote_id)] == [
        first, first + timedelta(days=2), first + timedelta(days=3)]
    back = Mirror().sync(hooks, account, primary, window).events[made.remote_id]
    assert back.recurrence[1] == exdate


def test_unreadable_cursor_means_a_full_sync(hooks, account, primary, window):
    with pytest.raises(CursorExpired):
        hooks.hub_fetch_events(account=account, calendar_id=primary, cursor="{not json", window=window)


def test_series_leaving_the_window_is_reported_gone(hooks, account, state, primary, window):
    first = date.today() + timedelta(days=3)
    master = state.add_event(account.email, {
        "subject": "short series", "start": {"dateTime": f"{first}T08:00:00", "timeZone": "UTC"},
        "end": {"dateTime": f"{first}T08:30:00", "timeZone": "UTC"},
        "recurrence": {"pattern": {"type": "daily", "interval": 1},
                       "range": {"type": "numbered", "numberOfOccurrences": 2, "startDate": str(first)}}})
    mirror = Mirror().sync(hooks, account, primary, window)
    assert master["id"] in mirror.events
    later = first + timedelta(days=90)  # moved beyond the window: its occurrences leave the view
    state.update_event(account.email, master["id"], {
        "start": {"dateTime": f"{later}T08:00:00", "timeZone": "UTC"},
        "end": {"dateTime": f"{later}T08:30:00", "timeZone": "UTC"},
        "recurrence": {"pattern": {"type": "daily", "interval": 1},
                       "range": {"type": "numbered", "numberOfOccurrences": 2, "startDate": str(later)}}})
    mirror.sync(hooks, account, primary, window)
    assert master["id"] not in mirror.events
    assert json.loads(mirror.cursor)["series"] == []


def test_free_busy_longer_than_getschedule_allows_is_asked_in_spans(hooks, account, state, primary):
    """getSchedule refuses more than 62 days: a 150-day range comes back whole, from several queries."""
    _add(state, account.email, "soon", 5, 9)
    _add(state, account.email, "later", 120, 14)
    start = datetime.now(timezone.utc).replace(microsecond=0)
    answer = hooks.hub_free_busy(account=account, calendar_ids=[primary], start=start,
                                 end=start + timedelta(days=150))
    assert primary not in answer.errors
    assert [(b.start.date(), b.start.hour) for b in answer.busy[primary]] == [
        (date.today() + timedelta(days=5), 9), (date.today() + timedelta(days=120), 14)]
    # each query within the limit (the sandbox refuses longer ones, as Graph does)
    assert [p for _, p, _, _ in state.requests if p.endswith("/getschedule")] == ["/v1.0/me/calendar/getschedule"] * 3


def test_busy_time_across_a_span_edge_is_one_interval(hooks, account, state, primary):
    start = datetime.now(timezone.utc).replace(microsecond=0, second=0, minute=0)
    edge = start + timedelta(days=60)
    state.add_event(account.email, {"subject": "across", "start": {"dateTime": (edge - timedelta(hours=1)).replace(
        tzinfo=None).isoformat(), "timeZone": "UTC"}, "end": {"dateTime": (edge + timedelta(hours=2)).replace(
        tzinfo=None).isoformat(), "timeZone": "UTC"}})
    answer = hooks.hub_free_busy(account=account, calendar_ids=[primary], start=start, end=start + timedelta(days=90))
    assert [(b.start, b.end) for b in answer.busy[primary]] == [(edge - timedelta(hours=1), edge + timedelta(hours=2))]


@pytest.mark.parametrize("zone, windows", [
    ("America/Toronto", "Eastern Standard Time"),  # not on Graph's IANA list; CLDR names New York for it
    ("Europe/Vienna", "W. Europe Standard Time"),
    ("Europe/Berlin", "W. Europe Standard Time"),
    ("Asia/Kolkata", "India Standard Time"),
])
def test_push_sends_windows_zone_names(hooks, account, state, primary, window, zone, windows):
    start = datetime.combine(date.today() + timedelta(days=3), datetime.min.time(), ZoneInfo(zone)).replace(hour=9)
    event = RemoteEvent("", start, start + timedelta(hours=1), summary="zoned", timezone=zone,
                        recurrence=["RRULE:FREQ=WEEKLY;COUNT=3"])
    [result] = hooks.hub_push_events(account=account, calendar_id=primary, changes=[
        EventChange("create", f"zoned-{zone}", event=event)])
    assert result.error is None
    stored = state.mailbox(account.email).events[result.remote_id]
    assert stored["tz"] == windows and stored["recurrence"]["range"]["recurrenceTimeZone"] == windows
    mirrored = Mirror().sync(hooks, account, primary, window).events[result.remote_id]
    assert mirrored.start == start and mirrored.start.astimezone(ZoneInfo(zone)).hour == 9


def test_zone_without_a_windows_equivalent_is_pushed_in_utc(hooks, account, state, primary):
    start = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=3)
    event = RemoteEvent("", start, start + timedelta(hours=1), summary="odd zone", timezone="Antarctica/Troll")
    [result] = hooks.hub_push_events(account=account, calendar_id=primary, changes=[
        EventChange("create", "odd-zone", event=event)])
    assert result.error is None
    stored = state.mailbox(account.email).events[result.remote_id]
    assert stored["tz"] == "UTC" and stored["start"] == start


def test_own_events_are_recognised_when_delta_items_lack_the_transaction_id(hooks, account, state, primary, window):
    """transactionId in delta items is relied on but undocumented: without it the marker property is read."""
    start = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=4)
    change = EventChange("create", "client-m", event=RemoteEvent("", start, start + timedelta(hours=1), summary="ours"))
    [made] = hooks.hub_push_events(account=account, calendar_id=primary, changes=[change])
    _add(state, account.email, "theirs", 5, 9)
    state.knobs.delta_without_transaction_id = True
    events = Mirror().sync(hooks, account, primary, window).events
    assert {e.summary: e.hub_marker for e in events.values()} == {"ours": "client-m", "theirs": None}


def test_an_outlook_html_body_becomes_readable_text_without_its_styles(hooks, account, state, primary, window):
    outlook_body = ('<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">'
                    '<style type="text/css" style="display:none">P {margin-top:0;margin-bottom:0;}</style></head>'
                    '<body dir="ltr"><div>Agenda:</div><ul><li>pricing</li><li>next steps</li></ul>'
                    '<script>track()</script></body></html>')
    event_id = _add(state, account.email, "Review", 4, 9, body={"contentType": "html", "content": outlook_body})
    event = Mirror().sync(hooks, account, primary, window).events[event_id]
    assert event.description == "Agenda:\n\npricing\n\nnext steps"  # as mail bodies read on the timeline
