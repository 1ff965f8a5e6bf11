"""Booking e-mails: the confirmation, the move and the cancellation, to the guest and to the host.

Public API:

* :func:`announce` — after a booking's change committed: queue its e-mails and its reminders;
* :func:`send_notice` — the job: one e-mail about one version of a booking to ``"guest"`` or ``"host"``;
* :func:`requeue_lost` — the reconciler's step: queue again the notices a Redis restart lost;
* :func:`send_reminder` — the job: the guest's reminder (:mod:`hub.scheduling.reminders` queues it);
* :func:`deliver` — send a booking e-mail the way the host's setup allows.

Delivery: through the host's own connected mailbox when one can send (``hub_send_mail``; the copy is in
their Sent folder and logged like any mail they send), else the hub's relay (``HUB_SMTP_RELAY_URL``,
:mod:`hub.mail_relay`); with neither the e-mail is not sent and the job says so.

No duplicates: when the provider of the calendar holding the booking mails the attendees itself
(``ProviderInfo.sends_invitations``: Google, Microsoft 365), the guest already has the provider's
invitation, update or cancellation, so our e-mails carry no ``.ics`` — only the words and the
self-service links. Otherwise they carry :func:`hub.scheduling.invitation.booking_ics`.

A notice is about one version of the booking: when the job runs after a later change, it sends nothing
(that change queued its own notice), so nobody reads a time that no longer holds.

Nothing lost: the notice's job lives in Redis, its outcome in the database (``Booking.guest_notified_version``
/ ``host_notified_version``, written once the e-mail went out or could not go out at all). A booking changed
a while ago whose recipient still lags its version had its job lost (a Redis restart without persistence):
:func:`requeue_lost` queues it again under the same job id, so a notice still waiting is never doubled.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from rq.job import Job

from hub import mail_relay, work
from hub.core import Hub
from hub.exceptions import NotSupported
from hub.models import Account, Booking, BookingStatus, Meeting, MeetingType, User, utcnow
from hub.scheduling import invitation, reminders
from hub.scheduling.links import link
from hub.sending import send_mail
from hub.sync.calendars import usable
from hub.types import SEND, Address, OutgoingAttachment, OutgoingMessage

log = logging.getLogger(__name__)

WHO = ("guest", "host")
#: a notice is lost, not late, when its booking changed longer ago than this (the request that changed it
#: queued it at once; a retrying job keeps its place in Redis)
LOST_AFTER = timedelta(minutes=2)
#: a notice lost for longer than this is not sent any more: news of a day ago is no news
LOST_FOR_AT_MOST = timedelta(days=1)


def announce(hub: Hub, booking_id: int, version: int) -> None:
    """Queue the e-mails about ``version`` of a booking to its guest and host, and its reminders."""
    for who in WHO:
        work.enqueue_booking_notice(hub, booking_id, version, who)
    reminders.schedule(hub, booking_id, version)


@dataclass
class Facts:
    """What one e-mail about a booking says, read in one session."""

    booking: Booking
    meeting_type: MeetingType
    host: User
    video_url: str | None
    #: the host's calendar provider mails the attendees itself
    provider_invites: bool
    #: (account id, address) of the host's accounts that can send mail now, the booking's calendar account first
    senders: list[tuple[int, str]]


def facts(hub: Hub, booking_id: int) -> Facts | None:
    with hub.db.session() as s:
        booking = s.get(Booking, booking_id)
        if booking is None:
            return None
        meeting_type = s.get(MeetingType, booking.meeting_type_id)
        host = s.get(User, booking.host_user_id)
        meeting = s.get(Meeting, booking.meeting_id) if booking.meeting_id else None
        calendar_account = s.get(Account, booking.account_id) if booking.account_id else None
        provider_invites = calendar_account is not None and _provider_invites(hub, calendar_account.provider)
        accounts = s.scalars(sa.select(Account).where(Account.user_id == host.id).order_by(Account.id)).all()
        senders = [(a.id, a.email) for a in sorted(accounts, key=lambda a: a.id != booking.account_id)
                   if usable(a) and _can_send(hub, a.provider)]
        s.expunge_all()
        return Facts(booking, meeting_type, host, meeting.video_url if meeting else None, provider_invites, senders)


def _provider_invites(hub: Hub, provider: str) -> bool:
    info = hub.plugins.providers.get(provider)  # a disabled provider's calendar still holds the event
    return bool(info and info.sends_invitations)


def _can_send(hub: Hub, provider: str) -> bool:
    try:
        return hub.plugins.provider(provider).can(SEND)
    except NotSupported:  # uninstalled or disabled by an administrator: the relay's turn
        return False


def send_notice(hub: Hub, booking_id: int, version: int, who: str) -> str:
    """The job: e-mail ``who`` about ``version`` of the booking. Returns what happened (for the job log)."""
    found = facts(hub, booking_id)
    if found is None or found.booking.version != version:
        return "superseded"
    booking, host = found.booking, found.host
    kind = ("cancelled" if booking.status == BookingStatus.CANCELLED
            else "booked" if version == 1 else "rescheduled")
    title = f"{found.meeting_type.name} with {host.name if who == 'guest' else booking.guest_name}"
    zone = _zone(booking.guest_timezone if who == "guest" else host.timezone)
    when = _when(booking, zone)
    subject = {"booked": "Confirmed", "rescheduled": "Moved", "cancelled": "Cancelled"}[kind] + f": {title}, {when}"
    lines = [{"booked": f"{title} is booked.", "rescheduled": f"{title} has moved to a new time.",
              "cancelled": f"{title} is cancelled."}[kind], "", f"When: {when} ({zone.key})"]
    if kind == "cancelled" and booking.cancel_reason:
        lines += [f"Reason: {booking.cancel_reason}"]
    if kind != "cancelled" and found.video_url:
        lines += [f"Video call: {found.video_url}"]
    if who == "host":
        lines += [f"Guest: {booking.guest_name} <{booking.guest_email}>"]
    elif kind != "cancelled":
        lines += ["", f"Need another time? Reschedule: {link(hub, booking.id, 'reschedule')}",
                  f"Can't make it? Cancel: {link(hub, booking.id, 'cancel')}"]
    to = (Address(booking.guest_email, booking.guest_name) if who == "guest"
          else Address(host.email, host.name))
    outcome = deliver(hub, found, to, subject, "\n".join(lines) + "\n")
    _handled(hub, booking_id, version, who)
    return outcome


def _handled(hub: Hub, booking_id: int, version: int, who: str) -> None:
    column = Booking.guest_notified_version if who == "guest" else Booking.host_notified_version
    with hub.db.session() as s:
        s.execute(sa.update(Booking).where(Booking.id == booking_id).values({column: version})
                  .execution_options(synchronize_session=False))


def requeue_lost(hub: Hub, now: datetime | None = None) -> list[str]:
    """Queue the notices of bookings changed between :data:`LOST_AFTER` and :data:`LOST_FOR_AT_MOST` ago
    whose guest or host has not had the current version's and whose job Redis no longer knows; returns
    their job ids. A job Redis still knows is waiting, running, or failed after its retries (kept for
    the failed-jobs page, not tried every few minutes)."""
    now = now or utcnow()
    with hub.db.session() as s:
        rows = s.execute(sa.select(Booking.id, Booking.version, Booking.guest_notified_version,
                                   Booking.host_notified_version).where(
            Booking.updated_at < now - LOST_AFTER, Booking.updated_at > now - LOST_FOR_AT_MOST,
            sa.or_(sa.func.coalesce(Booking.guest_notified_version, 0) < Booking.version,
                   sa.func.coalesce(Booking.host_notified_version, 0) < Booking.version))).all()
    asked = []
    for booking_id, version, guest_done, host_done in rows:
        for who, done in (("guest", guest_done), ("host", host_done)):
            job_id = work.booking_notice_id(booking_id, version, who)
            if (done or 0) < version and not Job.exists(job_id, connection=hub.queues.connection):
                work.enqueue_booking_notice(hub, booking_id, version, who)
                asked.append(job_id)
    return asked


def send_reminder(hub: Hub, booking_id: int, version: int, minutes: int) -> str:
    """The job: remind the guest, unless the booking moved or was cancelled since this was queued."""
    found = facts(hub, booking_id)
    if found is None or found.booking.version != version or found.booking.status != BookingStatus.CONFIRMED:
        return "stale: not sent"
    booking, host = found.booking, found.host
    zone = _zone(booking.guest_timezone)
    when = _when(booking, zone)
    title = f"{found.meeting_type.name} with {host.name}"
    ahead = f"{minutes // 60} hours" if minutes % 60 == 0 and minutes >= 120 else (
        "1 hour" if minutes == 60 else f"{minutes} minutes")
    lines = [f"A reminder: {title} starts in {ahead}.", "", f"When: {when} ({zone.key})"]
    if found.video_url:
        lines += [f"Video call: {found.video_url}"]
    lines += ["", f"Need another time? Reschedule: {link(hub, booking.id, 'reschedule')}",
              f"Can't make it? Cancel: {link(hub, booking.id, 'cancel')}"]
    return deliver(hub, found, Address(booking.guest_email, booking.guest_name), f"Reminder: {title}, {when}",
                   "\n".join(lines) + "\n")


def deliver(hub: Hub, found: Facts, to: Address, subject: str, text: str) -> str:
    """Send one booking e-mail from the host (their mailbox, else the relay); ``.ics`` unless the provider
    invites. Provider and relay errors propagate, so the job retries with backoff."""
    booking, host = found.booking, found.host
    attachments = []
    if not found.provider_invites:
        ics = invitation.booking_ics(
            booking, domain=_domain(hub), title=f"{found.meeting_type.name}: {booking.guest_name} and {host.name}",
            organizer=(host.email, host.name), location=found.video_url or "")
        method = "CANCEL" if booking.status == BookingStatus.CANCELLED else "REQUEST"
        attachments.append(OutgoingAttachment("invite.ics", f"text/calendar; method={method}", ics))
    if found.senders:
        account_id, address = found.senders[0]
        message = OutgoingMessage(sender=Address(address, host.name), to=[to], subject=subject, text_body=text,
                                  attachments=attachments)
        send_mail(hub, host.id, account_id, message)
        return "sent from the host's mailbox"
    if mail_relay.configured(hub.settings):
        # from the relay's address (the host's domain would fail SPF/DMARC there); answers go to the host
        message = OutgoingMessage(sender=Address("", host.name), to=[to], subject=subject, text_body=text,
                                  attachments=attachments, reply_to=Address(host.email, host.name))
        mail_relay.send(hub.settings, message)
        return "sent through the relay"
    log.warning("booking %s: no mailbox of the host can send and no HUB_SMTP_RELAY_URL is set", booking.id)
    return "not sent: no way to send"


def _domain(hub: Hub) -> str:
    return urlsplit(hub.settings.base_url).hostname or "localhost"


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def _when(booking: Booking, zone: ZoneInfo) -> str:
    start: datetime = booking.start.astimezone(zone)
    return f"{start:%A %d %B %Y, %H:%M}–{booking.end.astimezone(zone):%H:%M}"
