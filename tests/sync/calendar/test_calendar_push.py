"""Pushing CRM meetings through the outbox: idempotent creates, no echoes, etag conflicts and the merge
policy, stale and failed entries, directions, "Save without inviting", and the jobs end to end."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from hub import work
from hub.crm import meetings as crm
from hub.exceptions import ProviderUnavailable, ValidationError
from hub.models import Meeting, OutboxEntry, SyncDirection, utcnow
from hub.sync import calendar_push
from hub.sync.calendars import set_preferences
from tests.sync.calendar_world import (
    ALICE,
    BOB,
    DAN,
    at,
    busy_blocks,
    calendar_id,
    links,
    meetings,
    outbox,
    push,
    remote_events,
    sync,
)


def one_meeting(hub, meeting_id) -> Meeting:
    [m] = meetings(hub, Meeting.id == meeting_id)
    return m


def test_a_crm_meeting_becomes_an_event_with_attendees_and_a_video_link(hub, backend, acme):
    meeting_id = crm.create_meeting(hub, acme.alice, "Demo", at(3, 14), at(3, 15), attendees=[DAN, BOB],
                                    description="Agenda: pricing", location="Room 4", want_video=True,
                                    timezone_name="Europe/Berlin")
    [entry] = outbox(hub)
    assert (entry.op, entry.meeting_version, entry.send_invites, entry.done_at) == ("create", 1, True, None)
    assert push(hub, acme.alice_account) == {"pushed": 1}

    [remote] = remote_events(backend)
    assert (remote.summary, remote.description, remote.location) == ("Demo", "Agenda: pricing", "Room 4")
    assert (remote.start, remote.end, remote.timezone) == (at(3, 14), at(3, 15), "Europe/Berlin")
    assert {a.email for a in remote.attendees} == {ALICE, BOB, DAN}
    assert remote.hub_marker == entry.client_id
    assert {email for _, email in backend.invitations} == {BOB, DAN}
    meeting = one_meeting(hub, meeting_id)
    assert meeting.video_url == remote.video_url and meeting.video_url.startswith("https://")
    assert meeting.ical_uid == remote.ical_uid
    [link] = links(hub, meeting_id)
    assert (link.remote_id, link.etag, link.client_id) == (remote.remote_id, remote.etag, entry.client_id)
    assert busy_blocks(hub, calendar_id(hub, acme.alice_account)) == [(at(3, 14), at(3, 15))]


def test_save_without_inviting_creates_the_event_silently(hub, backend, acme):
    crm.create_meeting(hub, acme.alice, "Prep", at(3, 9), at(3, 10), attendees=[DAN], send_invites=False)
    push(hub, acme.alice_account)
    assert len(remote_events(backend)) == 1 and backend.invitations == []


def test_the_hubs_own_writes_never_come_back_as_changes(hub, backend, acme):
    meeting_id = crm.create_meeting(hub, acme.alice, "Demo", at(3, 14), at(3, 15), attendees=[DAN])
    push(hub, acme.alice_account)
    before = one_meeting(hub, meeting_id)
    assert sync(hub, acme.alice_account) == {"unchanged": 1}
    crm.update_meeting(hub, meeting_id, title="Demo v2")
    push(hub, acme.alice_account)
    assert sync(hub, acme.alice_account) == {"unchanged": 1}
    after = one_meeting(hub, meeting_id)
    assert (after.updated_at, after.version) != (before.updated_at, before.version)
    assert outbox(hub, OutboxEntry.done_at.is_(None)) == [], "pulling our own write queued nothing"


def test_flaky_etags_are_absorbed(hub, backend, acme):
    backend.flaky_etags = True  # every write's etag is replaced right after it is returned
    meeting_id = crm.create_meeting(hub, acme.alice, "Demo", at(3, 14), at(3, 15), attendees=[DAN])
    push(hub, acme.alice_account)
    crm.update_meeting(hub, meeting_id, location="Online")
    stats = push(hub, acme.alice_account)
    assert stats["conflicts"] == 1 and stats["pushed"] == 1
    [remote] = remote_events(backend)
    assert (remote.summary, remote.location) == ("Demo", "Online")


def test_a_concurrent_edit_is_merged_field_by_field(hub, backend, acme):
    meeting_id = crm.create_meeting(hub, acme.alice, "Demo", at(3, 14), at(3, 15), attendees=[DAN])
    push(hub, acme.alice_account)
    [remote] = remote_events(backend)
    # the user moves the meeting and renames it in their calendar app …
    backend.put_event(ALICE, "primary", remote.replace(summary="Demo (calendar)", start=at(3, 16), end=at(3, 17)))
    # … while the CRM renames it and changes the place
    crm.update_meeting(hub, meeting_id, title="Demo (CRM)", location="Globex HQ")

    stats = push(hub, acme.alice_account)
    assert stats["conflicts"] == 1 and stats["pushed"] == 1
    [remote] = remote_events(backend)
    meeting = one_meeting(hub, meeting_id)
    # the CRM edited title and location since the last push: its values win; the time came from the calendar
    assert (remote.summary, remote.location, remote.start) == ("Demo (CRM)", "Globex HQ", at(3, 16))
    assert (meeting.title, meeting.location, meeting.start) == ("Demo (CRM)", "Globex HQ", at(3, 16))
    assert sync(hub, acme.alice_account) == {"unchanged": 1}


def test_a_create_retried_after_a_crash_makes_one_event(hub, backend, acme, monkeypatch):
    meeting_id = crm.create_meeting(hub, acme.alice, "Demo", at(3, 14), at(3, 15), attendees=[DAN])
    monkeypatch.setattr(calendar_push, "_store_result", lambda *a: (_ for _ in ()).throw(RuntimeError("worker killed")))
    with pytest.raises(RuntimeError):
        push(hub, acme.alice_account)
    monkeypatch.undo()
    [entry] = outbox(hub)
    assert entry.done_at is None, "the entry is still pending after the crash"
    assert push(hub, acme.alice_account) == {"pushed": 1}
    [remote] = remote_events(backend)
    assert [link.remote_id for link in links(hub, meeting_id)] == [remote.remote_id]


def test_only_the_newest_version_is_pushed(hub, backend, acme):
    meeting_id = crm.create_meeting(hub, acme.alice, "v1", at(3, 14), at(3, 15), attendees=[DAN])
    crm.update_meeting(hub, meeting_id, title="v2")
    crm.update_meeting(hub, meeting_id, title="v3")
    stats = push(hub, acme.alice_account)
    assert stats == {"pushed": 1, "superseded": 2}
    assert backend.calls["hub_push_events"] == 1
    [remote] = remote_events(backend)
    assert remote.summary == "v3"
    assert all(e.done_at is not None for e in outbox(hub))


def test_an_entry_older_than_its_meeting_is_skipped(hub, backend, acme):
    meeting_id = crm.create_meeting(hub, acme.alice, "v1", at(3, 14), at(3, 15), attendees=[DAN])
    with hub.db.session() as s:
        s.get(Meeting, meeting_id).version = 5  # a newer version exists (its entry went elsewhere)
    assert push(hub, acme.alice_account) == {"skipped": 1}
    [entry] = outbox(hub)
    assert entry.done_at is not None and "stale" in entry.last_error
    assert remote_events(backend) == []


def test_a_failed_push_stays_pending_with_its_error_and_is_retried_later(hub, backend, acme):
    crm.create_meeting(hub, acme.alice, "Demo", at(3, 14), at(3, 15), attendees=[DAN])
    backend.fail_next("hub_push_events", ProviderUnavailable("503 from the provider"))
    with pytest.raises(ProviderUnavailable):
        push(hub, acme.alice_account)
    [entry] = outbox(hub)
    assert (entry.attempts, entry.done_at) == (1, None) and "503" in entry.last_error
    assert entry.next_attempt_at > utcnow()
    assert push(hub, acme.alice_account) == {}, "not due yet"
    assert push(hub, acme.alice_account, now=utcnow() + timedelta(hours=1)) == {"pushed": 1}
    assert len(remote_events(backend)) == 1


def test_updates_and_deletions_reach_the_calendar(hub, backend, acme):
    meeting_id = crm.create_meeting(hub, acme.alice, "Demo", at(3, 14), at(3, 15), attendees=[DAN])
    push(hub, acme.alice_account)
    crm.update_meeting(hub, meeting_id, start=at(4, 9), end=at(4, 10), attendees=[DAN, "new@globex.com"])
    push(hub, acme.alice_account)
    [remote] = remote_events(backend)
    assert remote.start == at(4, 9) and {a.email for a in remote.attendees} == {ALICE, DAN, "new@globex.com"}
    assert busy_blocks(hub, calendar_id(hub, acme.alice_account)) == [(at(4, 9), at(4, 10))]
    crm.delete_meeting(hub, meeting_id)
    push(hub, acme.alice_account)
    assert remote_events(backend) == []
    assert links(hub, meeting_id) == [] and busy_blocks(hub, calendar_id(hub, acme.alice_account)) == []


def test_an_update_of_an_event_deleted_meanwhile_in_the_calendar_cancels_the_meeting(hub, backend, acme):
    meeting_id = crm.create_meeting(hub, acme.alice, "Demo", at(3, 14), at(3, 15), attendees=[DAN])
    push(hub, acme.alice_account)
    [remote] = remote_events(backend)
    backend.delete_event(ALICE, "primary", remote.remote_id)
    crm.update_meeting(hub, meeting_id, title="Demo v2")
    assert push(hub, acme.alice_account) == {"gone": 1}
    assert one_meeting(hub, meeting_id).cancelled, "the deletion beats the edit"
    assert remote_events(backend) == []


def test_a_meeting_that_is_over_keeps_its_date_and_time(hub, acme):
    meeting_id = crm.create_meeting(hub, acme.alice, "Yesterday", at(-1, 9), at(-1, 10), attendees=[DAN])
    with pytest.raises(ValidationError) as caught:
        crm.update_meeting(hub, meeting_id, start=at(2, 9), end=at(2, 10))
    assert caught.value.field == "start"
    crm.update_meeting(hub, meeting_id, description="Notes: went well")
    assert one_meeting(hub, meeting_id).start == at(-1, 9)


def test_bad_meetings_are_refused_with_the_field_named(hub, acme):
    cases = [
        dict(start=at(3, 10), end=at(3, 9)),
        dict(start=at(3, 10).replace(tzinfo=None), end=at(3, 11)),
        dict(start=at(3, 10), end=at(3, 11), attendees=["not an address"]),
        dict(start=at(3, 10), end=at(3, 11), timezone_name="Mars/Olympus"),
    ]
    for case in cases:
        with pytest.raises(ValidationError) as caught:
            crm.create_meeting(hub, acme.alice, "x", **case)
        assert caught.value.field
    assert meetings(hub) == []


def test_calendar_to_crm_only_calendars_get_no_pushes(hub, backend, acme):
    set_preferences(hub, acme.alice, calendar_id(hub, acme.alice_account), sync_direction=SyncDirection.FROM_CALENDAR)
    crm.create_meeting(hub, acme.alice, "Demo", at(3, 14), at(3, 15), attendees=[DAN])
    assert outbox(hub) == []


def test_without_deletion_propagation_a_crm_deletion_leaves_the_event(hub, backend, acme):
    meeting_id = crm.create_meeting(hub, acme.alice, "Demo", at(3, 14), at(3, 15), attendees=[DAN])
    push(hub, acme.alice_account)
    set_preferences(hub, acme.alice, calendar_id(hub, acme.alice_account), propagate_deletions=False)
    crm.delete_meeting(hub, meeting_id)
    push(hub, acme.alice_account)
    assert len(remote_events(backend)) == 1


def test_an_all_day_meeting_round_trips(hub, backend, acme):
    from tests.sync.calendar_world import day

    meeting_id = crm.create_meeting(hub, acme.alice, "Offsite", day(5), day(7), all_day=True, attendees=[BOB])
    push(hub, acme.alice_account)
    [remote] = remote_events(backend)
    assert (remote.all_day, remote.start, remote.end) == (True, day(5), day(7))
    assert sync(hub, acme.alice_account) == {"unchanged": 1}
    assert one_meeting(hub, meeting_id).all_day


def test_the_jobs_push_and_pull_end_to_end(hub, backend, acme, worker):
    meeting_id = crm.create_meeting(hub, acme.alice, "Demo", at(3, 14), at(3, 15), attendees=[DAN])
    worker.drain()
    assert worker.failed() == []
    [remote] = remote_events(backend)
    backend.put_event(ALICE, "primary", remote.replace(summary="Demo (moved)", start=at(3, 16), end=at(3, 17)))
    work.enqueue_calendar_sync(hub, acme.alice_account, calendar_id(hub, acme.alice_account))
    worker.drain()
    meeting = one_meeting(hub, meeting_id)
    assert (meeting.title, meeting.start) == ("Demo (moved)", at(3, 16))
    with hub.db.session() as s:
        assert s.scalar(sa.select(sa.func.count(OutboxEntry.id)).where(OutboxEntry.done_at.is_(None))) == 0
