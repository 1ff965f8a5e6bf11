"""Calendar behaviour of the plugin beyond the conformance suite: series made in Google with a moved
and a cancelled occurrence, shared calendars, invitations, Meet links, windows and free/busy."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from hub.types import EventChange, Participant, RemoteEvent, Window

from hub_google import hooks
from hub_google.mapping import event_id_for
from hub_google.sandbox.recurrence import instance_id
from hub_google.testing import SANDBOX_USER

CAL = SANDBOX_USER
BERLIN = ZoneInfo("Europe/Berlin")


def window(days: int = 60) -> Window:
    now = datetime.now(timezone.utc)
    return Window(now - timedelta(days=1), now + timedelta(days=days))


def fetch_all(account, cursor=None, win=None, calendar_id=CAL):
    events, deleted = {}, set()
    for _ in range(50):
        page = hooks.hub_fetch_events(account=account, calendar_id=calendar_id, cursor=cursor, window=win or window())
        for event in page.events:
            events[event.remote_id] = event
        deleted.update(page.deleted)
        cursor = page.next_cursor
        if page.done:
            return events, deleted, cursor
    raise AssertionError("never done")


def test_series_made_in_google_with_moved_and_cancelled_occurrences(google_sandbox, google_account):
    state = google_sandbox.state
    monday = date.today() + timedelta(days=7 - date.today().weekday())
    first = datetime.combine(monday, datetime.min.time(), BERLIN).replace(hour=9, minute=30)
    master = state.create_event(SANDBOX_USER, CAL, {
        "summary": "Stand-up", "recurrence": ["RRULE:FREQ=DAILY;COUNT=5"],
        "start": {"dateTime": first.isoformat(), "timeZone": "Europe/Berlin"},
        "end": {"dateTime": (first + timedelta(minutes=15)).isoformat(), "timeZone": "Europe/Berlin"}})
    moved_id = instance_id(master["id"], first + timedelta(days=1))
    state.update_event(SANDBOX_USER, CAL, moved_id, {
        "start": {"dateTime": (first + timedelta(days=1, hours=2)).isoformat(), "timeZone": "Europe/Berlin"},
        "end": {"dateTime": (first + timedelta(days=1, hours=2, minutes=15)).isoformat(),
                "timeZone": "Europe/Berlin"}}, replace=False)
    cancelled_id = instance_id(master["id"], first + timedelta(days=2))
    state.delete_event(SANDBOX_USER, CAL, cancelled_id)

    events, deleted, cursor = fetch_all(google_account)
    series = events[master["id"]]
    assert series.recurrence == ["RRULE:FREQ=DAILY;COUNT=5"] and series.timezone == "Europe/Berlin"
    assert series.start == first and series.start.utcoffset() == first.utcoffset()
    moved = events[moved_id]
    assert moved.recurring_event_id == master["id"] and moved.original_start == first + timedelta(days=1)
    assert moved.start == first + timedelta(days=1, hours=2) and moved.status == "confirmed"
    gone = events[cancelled_id]
    assert gone.status == "cancelled" and gone.recurring_event_id == master["id"]
    assert gone.original_start == first + timedelta(days=2)
    assert not deleted

    state.delete_event(SANDBOX_USER, CAL, master["id"])  # the whole series goes, exceptions with it
    events, deleted, _ = fetch_all(google_account, cursor)
    assert {master["id"], moved_id} <= deleted and not any(e.status != "cancelled" for e in events.values())


def test_all_day_event_from_google_and_the_hub_marker(google_sandbox, google_account):
    day = date.today() + timedelta(days=3)
    made = google_sandbox.state.create_event(SANDBOX_USER, CAL, {
        "summary": "Offsite", "start": {"date": day.isoformat()}, "end": {"date": (day + timedelta(days=2)).isoformat()}})
    events, _, _ = fetch_all(google_account)
    offsite = events[made["id"]]
    assert offsite.all_day and (offsite.start, offsite.end) == (day, day + timedelta(days=2))
    assert offsite.hub_marker is None, "an event made in Google is not the hub's"
    assert offsite.organizer.email == SANDBOX_USER and offsite.ical_uid == made["iCalUID"]


def test_event_moved_out_of_the_window_counts_as_deleted(google_sandbox, google_account):
    state = google_sandbox.state
    start = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=2)
    made = state.create_event(SANDBOX_USER, CAL, {"summary": "soon", "start": {"dateTime": start.isoformat()},
                                                  "end": {"dateTime": (start + timedelta(hours=1)).isoformat()}})
    events, _, cursor = fetch_all(google_account, win=window(10))
    assert made["id"] in events
    later = start + timedelta(days=40)
    state.update_event(SANDBOX_USER, CAL, made["id"], {"start": {"dateTime": later.isoformat()},
                                                       "end": {"dateTime": (later + timedelta(hours=1)).isoformat()}},
                       replace=False)
    events, deleted, _ = fetch_all(google_account, cursor, win=window(10))
    assert made["id"] in deleted and made["id"] not in events


def test_calendars_with_access_roles(google_sandbox, google_account):
    state = google_sandbox.state
    state.add_user("bob@example.com", "Bob")
    team = state.add_calendar("bob@example.com", "Bob's team")
    state.share(team.id, SANDBOX_USER, "reader")
    holidays = state.add_public_calendar("en.usa#holiday@group.v.calendar.google.com", "Holidays")
    state.share(holidays.id, SANDBOX_USER, "freeBusyReader")
    calendars = {c.remote_id: c for c in hooks.hub_list_calendars(account=google_account)}
    assert calendars[CAL].is_primary and calendars[CAL].access_role == "owner"
    assert calendars[team.id].access_role == "reader" and calendars[team.id].name == "Bob's team"
    assert calendars[holidays.id].access_role == "freeBusyReader"
    assert sum(c.is_primary for c in calendars.values()) == 1


def test_invites_are_sent_only_when_asked(google_sandbox, google_account):
    start = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=5)
    guests = [Participant("guest@acme.example", "Guest"), Participant(SANDBOX_USER, organizer=True)]
    quiet = EventChange("create", "quiet", event=RemoteEvent("", start, start + timedelta(hours=1), summary="q",
                                                             attendees=guests), send_invites=False)
    loud = EventChange("create", "loud", event=RemoteEvent("", start, start + timedelta(hours=1), summary="l",
                                                           attendees=guests), send_invites=True)
    results = hooks.hub_push_events(account=google_account, calendar_id=CAL, changes=[quiet, loud])
    assert all(r.error is None for r in results)
    invitations = google_sandbox.state.invitations
    assert [(i["event_id"], i["method"], i["recipients"]) for i in invitations] == [
        (event_id_for("loud"), "created", ["guest@acme.example"])]
    assert results[1].remote_id == event_id_for("loud"), "the event id derives from the client id"


def test_meet_link_even_when_google_answers_pending(google_sandbox, google_account):
    google_sandbox.state.calendars[CAL].meet_pending = True
    start = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=6)
    change = EventChange("create", "video-call", event=RemoteEvent("", start, start + timedelta(minutes=30)),
                         want_video=True, send_invites=False)
    [result] = hooks.hub_push_events(account=google_account, calendar_id=CAL, changes=[change])
    assert result.video_url and result.video_url.startswith("https://meet.google.com/")
    [again] = hooks.hub_push_events(account=google_account, calendar_id=CAL, changes=[change])
    assert again.video_url == result.video_url, "a retried create keeps the same meeting"


def test_update_adds_a_meet_link_and_delete_twice_is_fine(google_sandbox, google_account):
    start = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=6)
    event = RemoteEvent("", start, start + timedelta(minutes=30), summary="plain")
    [made] = hooks.hub_push_events(account=google_account, calendar_id=CAL,
                                   changes=[EventChange("create", "later-video", event=event, send_invites=False)])
    assert made.video_url is None
    [updated] = hooks.hub_push_events(account=google_account, calendar_id=CAL, changes=[
        EventChange("update", "later-video", event=event, remote_id=made.remote_id, etag=made.etag,
                    want_video=True, send_invites=False)])
    assert updated.video_url and updated.etag != made.etag
    delete = EventChange("delete", "later-video", remote_id=made.remote_id, etag=updated.etag, send_invites=False)
    [first] = hooks.hub_push_events(account=google_account, calendar_id=CAL, changes=[delete])
    [second] = hooks.hub_push_events(account=google_account, calendar_id=CAL, changes=[delete])  # a retried job
    assert first.error is None and second.error is None
    assert google_sandbox.state.calendars[CAL].events[made.remote_id]["status"] == "cancelled"


def test_free_busy_reports_unreadable_calendars(google_sandbox, google_account):
    start = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=2)
    google_sandbox.state.create_event(SANDBOX_USER, CAL, {
        "summary": "busy", "start": {"dateTime": start.isoformat()},
        "end": {"dateTime": (start + timedelta(hours=1)).isoformat()}})
    answer = hooks.hub_free_busy(account=google_account, calendar_ids=[CAL, "nobody@example.com"],
                                 start=start - timedelta(hours=2), end=start + timedelta(hours=3))
    assert [(b.start, b.end) for b in answer.busy[CAL]] == [(start, start + timedelta(hours=1))]
    assert answer.errors == {"nobody@example.com": "notFound"}


@pytest.mark.parametrize("cursor", ["not-json-and-not-a-token"])
def test_a_bare_token_cursor_is_read_as_a_sync_token(google_sandbox, google_account, cursor):
    from hub.exceptions import ProviderError

    with pytest.raises(ProviderError):  # Google answers 400 for an unknown token: no silent full sync
        hooks.hub_fetch_events(account=google_account, calendar_id=CAL, cursor=cursor, window=window())


def test_retried_create_of_an_event_deleted_in_google_is_not_resurrected(google_sandbox, google_account):
    from hub.exceptions import AlreadyExists

    start = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=8)
    change = EventChange("create", "made-then-deleted", event=RemoteEvent("", start, start + timedelta(hours=1)),
                         send_invites=False)
    [made] = hooks.hub_push_events(account=google_account, calendar_id=CAL, changes=[change])
    google_sandbox.state.delete_event(SANDBOX_USER, CAL, made.remote_id)
    [again] = hooks.hub_push_events(account=google_account, calendar_id=CAL, changes=[change])
    assert isinstance(again.error, AlreadyExists)
    assert google_sandbox.state.calendars[CAL].events[made.remote_id]["status"] == "cancelled"


def test_free_busy_over_the_whole_sync_window_is_asked_in_spans(google_sandbox, google_account):
    """Google refuses free/busy ranges over ~90 days; the engine asks for its whole window (≥ 92 days)."""
    now = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    span = timedelta(days=60)  # the plugin's span: an event across its edge must come back whole
    busy = [(now + timedelta(days=5), timedelta(hours=1)), (now + span - timedelta(hours=1), timedelta(hours=3)),
            (now + timedelta(days=150), timedelta(hours=2))]
    for start, length in busy:
        google_sandbox.state.create_event(SANDBOX_USER, CAL, {
            "summary": "busy", "start": {"dateTime": start.isoformat()},
            "end": {"dateTime": (start + length).isoformat()}})
    answer = hooks.hub_free_busy(account=google_account, calendar_ids=[CAL], start=now,
                                 end=now + timedelta(days=200))
    assert answer.errors == {}
    assert [(b.start, b.end) for b in answer.busy[CAL]] == [(s, s + length) for s, length in busy]
