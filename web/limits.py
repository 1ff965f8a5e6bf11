"""Rate limits of the public endpoints (Flask-Limiter, counted in the hub's Redis).

The booking page and API answer strangers, and a booking sends an invitation from the host's
calendar to any address: without limits they are a relay. Each limit is a Flask-Limiter string
("5 per minute; 30 per day") from the settings:

========================  ===================================  ====================================
setting (``HUB_…``)       counts                               default
========================  ===================================  ====================================
``booking_limit_ip``      booking attempts per client IP       5 per minute; 30 per day
                          (also reschedule and cancel POSTs)
``booking_limit_type``    bookings made per meeting type       60 per day
``booking_limit_email``   bookings made per guest address      3 per day
``public_limit_ip``       public page and availability reads   120 per minute
========================  ===================================  ====================================

Attempts per IP count every POST; the per-type and per-address limits count only bookings that
went through, so a guest's typo costs nothing. ``HUB_RATE_LIMITS=0`` turns them all off (benchmarks).
A refused request gets 429 with ``Retry-After`` and, on the booking page, a message saying how long
to wait. The limiter is built per app (each app has its own hub and Redis).
"""

from __future__ import annotations

import math
import time

from flask import Flask, request
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address

from hub.exceptions import UserError

#: (endpoint, method) of the booking views, and of the public reads
BOOKING_VIEWS = ("booking.page", "booking.embed", "api.create_booking")
#: the guest's change links: their POSTs move or cancel a booking and send mail, so they count as
#: booking attempts of the client's IP (and a link's token cannot be guessed at speed)
CHANGE_VIEWS = ("self_service.reschedule_page", "self_service.cancel_page")
READ_VIEWS = ("booking.page", "booking.embed", "booking.confirmed", "booking.confirmed_status", "api.availability",
              "self_service.reschedule_page", "self_service.cancel_page")


def _slug() -> str:
    body = request.get_json(silent=True) if request.is_json else None
    slug = (request.view_args or {}).get("slug") or (body.get("slug") if isinstance(body, dict) else None)
    return f"type:{str(slug or '')[:100]}"


def _guest() -> str:
    body = request.get_json(silent=True) if request.is_json else None
    email = request.form.get("guest_email") or (body.get("guest_email") if isinstance(body, dict) else None)
    return f"guest:{str(email or '').strip().lower()[:254]}"


def _booked(response) -> bool:
    return response.status_code in (201, 302)


def _is_post() -> bool:
    return request.method == "POST"


def init_app(app: Flask, settings, redis_connection) -> Limiter:
    """Attach the limits to ``app``'s public views (call after the blueprints are registered)."""
    limiter = Limiter(
        get_remote_address, app=app, storage_uri="redis://",
        storage_options={"connection_pool": redis_connection.connection_pool},
        key_prefix="hub-limits", strategy="fixed-window",  # Retry-After only on a 429 (below), never on other answers
        headers_enabled=False,
        enabled=settings.rate_limits, swallow_errors=True,  # Redis away: serve rather than refuse everyone
    )
    for endpoint in BOOKING_VIEWS:
        view = app.view_functions[endpoint]
        view = limiter.limit(settings.booking_limit_ip, methods=["POST"], scope="booking-ip")(view)
        view = limiter.limit(settings.booking_limit_type, key_func=_slug, methods=["POST"], scope="booking-type",
                             deduct_when=_booked)(view)
        view = limiter.limit(settings.booking_limit_email, key_func=_guest, methods=["POST"],
                             scope="booking-email", deduct_when=_booked)(view)
        app.view_functions[endpoint] = view
    change_attempts = limiter.shared_limit(settings.booking_limit_ip, scope="change-ip", methods=["POST"])
    for endpoint in CHANGE_VIEWS:  # one count for both: a guessed token is tried on either
        app.view_functions[endpoint] = change_attempts(app.view_functions[endpoint])
    for endpoint in READ_VIEWS:
        app.view_functions[endpoint] = limiter.limit(settings.public_limit_ip, scope="public-read",
                                                     exempt_when=_is_post)(app.view_functions[endpoint])

    @app.errorhandler(RateLimitExceeded)
    def too_many(error: RateLimitExceeded):
        from web.errors import _render

        current = limiter.current_limit
        # reset_at is rounded up a second; the window's own length bounds the wait
        wait = max(1, min(math.ceil(current.reset_at - time.time()), current.limit.get_expiry())) if current else 60
        minutes = max(1, math.ceil(wait / 60))
        response = app.make_response(_render(UserError(
            "Too many booking requests from your network or for this address." if _is_post()
            else "Too many requests from your network.",
            fix=f"Try again in {minutes} minute{'s' if minutes != 1 else ''}."), 429))
        response.headers["Retry-After"] = str(wait)
        return response

    return limiter
