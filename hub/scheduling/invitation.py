"""The ``.ics`` sent with booking e-mails (RFC 5546 iTIP): METHOD:REQUEST for a booking and each move,
METHOD:CANCEL for a cancellation, one UID per booking and SEQUENCE = the booking's version - 1, so the
guest's calendar program updates or removes the one entry it holds.

Public API: :func:`booking_ics`, :func:`uid`.
"""

from __future__ import annotations

from datetime import datetime

import icalendar

from hub.models import Booking, BookingStatus, utcnow

PRODID = "-//CRM integration hub//booking//EN"


def uid(booking: Booking, domain: str) -> str:
    """The booking's iCalendar UID: the same for its whole life, whatever the push named the event."""
    return f"booking-{booking.id}@{domain}"


def booking_ics(booking: Booking, *, domain: str, title: str, organizer: tuple[str, str], description: str = "",
                location: str = "", now: datetime | None = None) -> bytes:
    """The booking as an iTIP message from the host (``organizer`` = (email, name)) to the guest."""
    cancelled = booking.status == BookingStatus.CANCELLED
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("method", "CANCEL" if cancelled else "REQUEST")
    event = icalendar.Event()
    event.add("uid", uid(booking, domain))
    event.add("sequence", booking.version - 1)
    event.add("dtstamp", now or utcnow())
    event.add("dtstart", booking.start)
    event.add("dtend", booking.end)
    event.add("summary", title)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    if description:
        event.add("description", description)
    if location:
        event.add("location", location)
    host = icalendar.vCalAddress(f"mailto:{organizer[0]}")
    host.params["cn"] = icalendar.vText(organizer[1] or organizer[0])
    event.add("organizer", host)
    guest = icalendar.vCalAddress(f"mailto:{booking.guest_email}")
    guest.params.update({"cn": icalendar.vText(booking.guest_name), "role": icalendar.vText("REQ-PARTICIPANT"),
                         "partstat": icalendar.vText("ACCEPTED"), "rsvp": icalendar.vText("FALSE")})
    event.add("attendee", guest)
    cal.add_component(event)
    return cal.to_ical()
