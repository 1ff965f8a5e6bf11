"""Finding 2: the booking page was an invitation relay.

17 bookings in 1.3 s were all accepted, each sending an invitation to an arbitrary address. Now the
public booking endpoints are limited per client IP, per meeting type and per guest address
(Flask-Limiter on the hub's Redis), with 429 + Retry-After, also shown on the booking page.
"""

from __future__ import annotations

import requests

from tests.security.conftest import slots_on


def free_slots(live_url: str, slug: str) -> list[str]:
    return [s["start"] for s in requests.get(f"{live_url}/api/v1/meeting-types/{slug}/availability",
                                             params={"end": None}, timeout=30).json()["slots"]]


def book(live_url: str, slug: str, start: str, email: str) -> requests.Response:
    return requests.post(f"{live_url}/api/v1/bookings", timeout=60, json={
        "slug": slug, "start": start, "guest_name": "Guest", "guest_email": email})


def test_a_burst_of_bookings_from_one_address_is_cut_off(bookable, live_url):
    slots = free_slots(live_url, bookable)
    answers = [book(live_url, bookable, slots[i], f"guest{i}@example.org") for i in range(17)]
    codes = [a.status_code for a in answers]
    assert codes[:5] == [201] * 5
    assert set(codes[5:]) == {429}
    refused = answers[5]
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert "Try again in 1 minute" in refused.json()["fix"]


def test_one_guest_address_books_at_most_three_times_a_day(bookable, live_url):
    slots = free_slots(live_url, bookable)
    codes = [book(live_url, bookable, slots[i], "victim@example.org").status_code for i in range(4)]
    assert codes == [201, 201, 201, 429]


def test_a_typo_does_not_count_against_the_address(bookable, live_url):
    slots = free_slots(live_url, bookable)
    assert book(live_url, bookable, "2001-01-01T00:00:00Z", "typo@example.org").status_code == 409
    assert [book(live_url, bookable, slots[i], "typo@example.org").status_code for i in range(3)] == [201] * 3


def test_the_booking_page_says_how_long_to_wait(bookable, live_url):
    page = requests.get(f"{live_url}/book/{bookable}?tz=UTC", timeout=30)
    slots = slots_on(page.text)
    answers = [requests.post(f"{live_url}/book/{bookable}?tz=UTC", allow_redirects=False, timeout=60, data={
        "start": slots[i], "guest_name": "Guest", "guest_email": f"web{i}@example.org", "tz": "UTC"})
        for i in range(6)]
    assert [a.status_code for a in answers[:5]] == [302] * 5
    refused = answers[5]
    assert refused.status_code == 429 and "Retry-After" in refused.headers
    assert "Too many booking requests" in refused.text and "Try again in 1 minute" in refused.text


def test_reschedule_and_cancel_posts_are_limited_per_client_ip(live_url):
    """A guest's change links act on a booking and send mail: their POSTs count as booking attempts
    of the client's IP (5 a minute), like the booking form's — so a token cannot be guessed at speed."""
    answers = [requests.post(f"{live_url}/book/manage/{action}/not-a-link-{i}", allow_redirects=False, timeout=30,
                             data={"start": "2030-01-01T09:00:00+00:00", "reason": "x"})
               for i, action in enumerate(["cancel", "reschedule"] * 3)]
    codes = [a.status_code for a in answers]
    assert 429 not in codes[:5] and codes[5] == 429
    assert "Too many booking requests" in answers[5].text and 0 < int(answers[5].headers["Retry-After"]) <= 60
    # reading a link stays a read (the public read limit), not an attempt
    assert requests.get(f"{live_url}/book/manage/cancel/not-a-link", timeout=30).status_code != 429
