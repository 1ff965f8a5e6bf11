"""Signed self-service links of a booking: no login, one purpose each, usable until the meeting is over.

Public API: :func:`token`, :func:`link`, :func:`booking_for_link`, :func:`check_changeable`,
:class:`InvalidLink`.

A link carries the booking id signed with the hub's secret key (itsdangerous), with one salt per
purpose, so a reschedule link cannot cancel. Nothing is stored: whether it still works is decided when
it is used — the booking must be confirmed and its meeting not over — so a moved booking's links follow
it, and a cancelled or past one's stop.
"""

from __future__ import annotations

from datetime import datetime

from itsdangerous import BadSignature, URLSafeSerializer

from hub.core import Hub
from hub.exceptions import NotActive
from hub.models import Booking, BookingStatus, utcnow

PURPOSES = ("reschedule", "cancel")


class InvalidLink(NotActive):
    """A self-service link that is forged, for another purpose, for an unknown booking, or no longer usable
    (HTTP 410, like a booking link that is not active)."""


def _serializer(hub: Hub, purpose: str) -> URLSafeSerializer:
    if purpose not in PURPOSES:
        raise ValueError(f"unknown link purpose {purpose!r}")
    return URLSafeSerializer(hub.settings.resolve_secret_key(), salt=f"booking-{purpose}")


def token(hub: Hub, booking_id: int, purpose: str) -> str:
    """The signed token of ``purpose`` for ``booking_id``."""
    return _serializer(hub, purpose).dumps(booking_id)


def link(hub: Hub, booking_id: int, purpose: str) -> str:
    """The absolute self-service URL (served by ``web/self_service.py``)."""
    return f"{hub.settings.base_url.rstrip('/')}/book/manage/{purpose}/{token(hub, booking_id, purpose)}"


def booking_for_link(hub: Hub, signed: str, purpose: str, now: datetime | None = None) -> int:
    """The booking id behind a link of ``purpose`` that can still be used.

    :raises InvalidLink: forged, another purpose's, unknown booking, cancelled, or the meeting is over.
    """
    try:
        booking_id = _serializer(hub, purpose).loads(signed)
    except BadSignature:
        raise InvalidLink("This link is not valid.", fix="Use the link from your latest e-mail.") from None
    if not isinstance(booking_id, int):
        raise InvalidLink("This link is not valid.")
    with hub.db.session() as s:
        booking = s.get(Booking, booking_id)
        if booking is None:
            raise InvalidLink("This booking does not exist any more.")
        check_changeable(booking, now or utcnow())
    return booking_id


def check_changeable(booking: Booking, now: datetime) -> None:
    """InvalidLink unless the booking can still be moved or cancelled."""
    if booking.status == BookingStatus.CANCELLED:
        raise InvalidLink("This booking was cancelled.", fix="Book a new time from the booking page.")
    if booking.end <= now:
        raise InvalidLink("This meeting is over, so it can no longer be changed.")
