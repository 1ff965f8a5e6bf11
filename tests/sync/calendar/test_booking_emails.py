"""Booking e-mails: confirmation, move and cancellation to guest and host with an .ics (same UID, rising
SEQUENCE, METHOD:CANCEL at the end), reminders through RQ's scheduler that never go out stale, and the
choice of the way out (the host's mailbox, else the hub's SMTP relay; no .ics where the provider invites).

The relay is the aiosmtpd peer (STARTTLS + AUTH); the host's calendar is at the MemoryProvider, which by
default cannot send here, so mail must arrive at the SMTP server."""

from __future__ import annotations

import email
import email.policy
from datetime import datetime, timedelta

import icalendar
import pytest
from rq.job import Job
from rq.registry import ScheduledJobRegistry

from hub.scheduling.booking import book
from hub.scheduling.self_service import cancel_booking, reschedule
from hub.testing.memory import MemoryProvider
from hub.types import CALENDAR, FREE_BUSY, VIDEO
from tests.sync.calendar_world import ALICE, local, meeting_type, next_weekday, sync

GUEST = "grace@hopper.example"


@pytest.fixture
def hub_plugins(backend, request):
    """Alice's calendar provider cannot send mail (booking e-mails take the relay), unless a test says otherwise."""
    options = getattr(request, "param", {"capabilities": {CALENDAR, FREE_BUSY, VIDEO}})
    return [("memory", MemoryProvider(backend, **options))]


@pytest.fixture
def hub_settings_overrides(smtp_server):
    user = smtp_server.user
    return {"smtp_relay_url": f"smtp://{user.username}:{user.password}@{smtp_server.host}:{smtp_server.port}",
            "smtp_relay_ca_file": str(smtp_server.cert_path), "base_url": "https://hub.example"}


@pytest.fixture
def monday():
    return next_weekday(0)


@pytest.fixture
def ready(hub, acme):
    meeting_type(hub, acme.alice, slug="alice-30", weekly_hours={"mon": [["09:00", "12:00"]]})
    sync(hub, acme.alice_account)
    return acme


def mails(smtp_server, to: str):
    """(subject, text, parsed .ics or None) of each message the relay received for ``to``, in order."""
    out = []
    for captured in smtp_server.messages:
        if to not in captured.rcpt_tos:
            continue
        msg = captured.message()
        text = msg.get_body(("plain",)).get_content()
        ics = [part for part in msg.iter_attachments() if part.get_content_type() == "text/calendar"]
        out.append((str(msg["Subject"]), text, icalendar.Calendar.from_ical(ics[0].get_content()) if ics else None))
    return out


def vevent(cal):
    [event] = cal.walk("VEVENT")
    return event


def run_scheduled(hub, worker) -> list[tuple[str, datetime]]:
    """Run every job waiting in RQ's scheduled registry now, as the scheduler would at its time."""
    queue = hub.queues.by_name["default"]
    registry = ScheduledJobRegistry(queue=queue)
    ran = []
    for job_id in registry.get_job_ids():
        job = Job.fetch(job_id, connection=hub.queues.connection)
        ran.append((job_id, registry.get_scheduled_time(job)))
        registry.remove(job)
        queue.enqueue_job(job)
    worker.drain()
    return ran


def test_booking_moving_and_cancelling_mail_guest_and_host_with_one_uid_and_a_rising_sequence(hub, ready, monday,
                                                                                            worker, smtp_server):
    booking_id = book(hub, "alice-30", local(monday, 10), "Grace Hopper", GUEST, "America/New_York")
    worker.drain()
    [(subject, text, cal)] = mails(smtp_server, GUEST)
    assert subject.startswith("Confirmed: Intro call with Alice")
    assert "04:00" in text and "America/New_York" in text, "the guest reads their own time"
    assert "https://hub.example/book/manage/reschedule/" in text and "https://hub.example/book/manage/cancel/" in text
    first = vevent(cal)
    assert str(cal["method"]) == "REQUEST" and first["sequence"] == 0
    assert first.decoded("dtstart") == local(monday, 10) and first.decoded("dtend") == local(monday, 10, 30)
    assert str(first["organizer"]) == f"mailto:{ALICE}" and str(first["attendee"]) == f"mailto:{GUEST}"
    [relayed] = [c.message() for c in smtp_server.messages if GUEST in c.rcpt_tos]
    assert (str(relayed["From"]), str(relayed["Reply-To"])) == ("Alice <bookings@hub.example>", f"Alice <{ALICE}>")
    [(host_subject, host_text, host_cal)] = mails(smtp_server, ALICE)
    assert host_subject.startswith("Confirmed: Intro call with Grace Hopper") and GUEST in host_text
    assert "/book/manage/" not in host_text, "the guest's links are the guest's"
    assert vevent(host_cal)["uid"] == first["uid"]

    reschedule(hub, booking_id, local(monday, 11))
    worker.drain()
    moved = vevent(mails(smtp_server, GUEST)[-1][2])
    assert mails(smtp_server, GUEST)[-1][0].startswith("Moved:")
    assert (moved["uid"], moved["sequence"], moved.decoded("dtstart")) == (first["uid"], 1, local(monday, 11))

    cancel_booking(hub, booking_id, reason="Snowed in")
    worker.drain()
    subject, text, cal = mails(smtp_server, GUEST)[-1]
    gone = vevent(cal)
    assert subject.startswith("Cancelled:") and "Snowed in" in text and "/book/manage/" not in text
    assert str(cal["method"]) == "CANCEL" and str(gone["status"]) == "CANCELLED"
    assert (gone["uid"], gone["sequence"]) == (first["uid"], 2)
    assert [s.split(":")[0] for s, _, _ in mails(smtp_server, ALICE)] == ["Confirmed", "Moved", "Cancelled"]
    assert len(mails(smtp_server, GUEST)) == 3
    assert worker.failed() == []


def test_reminders_are_queued_24_and_1_hours_ahead_and_a_moved_or_cancelled_booking_gets_no_stale_one(
        hub, ready, monday, worker, smtp_server):
    moved_id = book(hub, "alice-30", local(monday, 10), "Grace", GUEST)
    dropped_id = book(hub, "alice-30", local(monday, 9), "Ada", "ada@lovelace.example")
    reschedule(hub, moved_id, local(monday, 11))
    cancel_booking(hub, dropped_id)
    worker.drain()
    smtp_server.messages.clear()

    ran = run_scheduled(hub, worker)
    due = {job_id: at for job_id, at in ran}
    assert due[f"booking-reminder-{moved_id}-v2-1440"] == local(monday, 11) - timedelta(hours=24)
    assert due[f"booking-reminder-{moved_id}-v2-60"] == local(monday, 11) - timedelta(hours=1)
    assert f"booking-reminder-{moved_id}-v1-60" in due and f"booking-reminder-{dropped_id}-v1-60" in due
    reminders = mails(smtp_server, GUEST)
    assert [s.split(",")[0] for s, _, _ in reminders] == ["Reminder: Intro call with Alice"] * 2
    assert all(vevent(cal).decoded("dtstart") == local(monday, 11) and vevent(cal)["sequence"] == 1
               for _, _, cal in reminders), "only the moved time, never the old one"
    assert {"starts in 24 hours", "starts in 1 hour"} == {t.split(".")[0].split("Alice ")[1] for _, t, _ in reminders}
    assert mails(smtp_server, "ada@lovelace.example") == [], "no reminder after a cancel"
    assert worker.failed() == []


def test_reminders_lost_with_redis_are_queued_again_before_they_are_due_and_only_those(hub, ready, monday, worker,
                                                                                       smtp_server):
    from hub.scheduling.reminders import requeue_due

    booking_id = book(hub, "alice-30", local(monday, 10), "Grace", GUEST)
    registry = ScheduledJobRegistry(queue=hub.queues.by_name["default"])
    assert len(registry.get_job_ids()) == 2
    for job_id in registry.get_job_ids():  # a Redis restart without persistence
        Job.fetch(job_id, connection=hub.queues.connection).delete()
    an_hour_before = local(monday, 9)
    assert requeue_due(hub, now=an_hour_before - timedelta(minutes=30)) == 1, "only the 1 h one is due soon"
    assert registry.get_job_ids() == [f"booking-reminder-{booking_id}-v1-60"]
    assert requeue_due(hub, now=an_hour_before - timedelta(minutes=20)) == 1
    assert len(registry.get_job_ids()) == 1, "a reminder still queued is not queued twice"
    assert requeue_due(hub, now=an_hour_before + timedelta(minutes=1)) == 0, "past reminders are not resent"


@pytest.mark.parametrize("hub_plugins", [{}], indirect=True)
def test_a_mailbox_whose_provider_an_administrator_disabled_leaves_the_mail_to_the_relay(hub, ready, monday, worker,
                                                                                        smtp_server, backend):
    book(hub, "alice-30", local(monday, 10), "Grace", GUEST)
    hub.plugins.apply_disabled({"memory"})  # after the booking, before its e-mails go
    worker.drain(queues=("default",))
    hub.plugins.apply_disabled(set())
    assert worker.failed() == []
    assert backend.outbox == [] and [s for s, _, _ in mails(smtp_server, GUEST)][0].startswith("Confirmed:")


def test_a_type_can_set_its_own_reminders_or_none(hub, ready, monday, worker, smtp_server):
    from hub.models import MeetingType

    with hub.db.session() as s:
        s.query(MeetingType).update({"reminder_minutes": [15]})
    book(hub, "alice-30", local(monday, 10), "Grace", GUEST)
    assert [job_id.rsplit("-", 1)[1] for job_id, _ in run_scheduled(hub, worker)] == ["15"]
    with hub.db.session() as s:
        s.query(MeetingType).update({"reminder_minutes": []})
    book(hub, "alice-30", local(monday, 11), "Ada", "ada@lovelace.example")
    assert run_scheduled(hub, worker) == []


@pytest.mark.parametrize("hub_plugins", [{"sends_invitations": True}], indirect=True)
def test_a_host_mailbox_that_can_send_is_used_and_an_inviting_provider_gets_no_ics(hub, ready, monday, worker,
                                                                                   smtp_server, backend):
    """A provider that sends mail and invites attendees itself (as Google does): the mail leaves through
    the host's mailbox (the provider's outbox), without our .ics, and never through the relay."""
    book(hub, "alice-30", local(monday, 10), "Grace", GUEST)
    worker.drain()
    assert smtp_server.messages == [], "the relay is only for hosts without a sending mailbox"
    sent = [email.message_from_bytes(raw, policy=email.policy.default) for raw in backend.outbox]
    assert sorted(str(m["To"]) for m in sent) == sorted([f"Grace <{GUEST}>", f"Alice <{ALICE}>"])
    assert {str(m["From"]) for m in sent} == {f"Alice <{ALICE}>"}
    assert all(not list(m.iter_attachments()) for m in sent), "the provider's own invitation is the .ics"
    assert "/book/manage/reschedule/" in next(m for m in sent if GUEST in str(m["To"])).get_body(
        ("plain",)).get_content()


def test_a_notice_redis_lost_is_sent_once_by_the_reconciler_and_a_delivered_one_never_again(
        hub, ready, monday, worker, smtp_server):
    from hub.jobs.reconciler import reconcile
    from hub.models import utcnow

    delivered = book(hub, "alice-30", local(monday, 9), "Ada", "ada@lovelace.example")
    worker.drain()
    lost = book(hub, "alice-30", local(monday, 10), "Grace", GUEST)
    hub.queues.connection.flushdb()  # Redis restarts without persistence before a worker took the jobs
    assert reconcile(hub, now=utcnow()).notices == [], "a notice just queued is not lost yet"
    later = utcnow() + timedelta(minutes=3)
    assert sorted(reconcile(hub, now=later).notices) == [f"booking-notice-{lost}-v1-guest",
                                                         f"booking-notice-{lost}-v1-host"]
    worker.drain()
    assert [s.split(":")[0] for s, _, _ in mails(smtp_server, GUEST)] == ["Confirmed"]
    assert [s.split(":")[0] for s, _, _ in mails(smtp_server, ALICE)] == ["Confirmed", "Confirmed"]
    assert reconcile(hub, now=later + timedelta(minutes=5)).notices == []
    assert len(mails(smtp_server, "ada@lovelace.example")) == 1, f"booking {delivered} was mailed once"
    assert worker.failed() == []
