"""Finding 2, continued: the booking limits come from the settings (here ``HUB_BOOKING_LIMIT_TYPE``)."""

from __future__ import annotations

import pytest

from tests.security.test_rate_limits import book, free_slots


@pytest.fixture
def hub_settings_overrides():
    return {"booking_limit_type": "2 per day"}


def test_the_limits_are_configurable_per_meeting_type(bookable, live_url):
    slots = free_slots(live_url, bookable)
    codes = [book(live_url, bookable, slots[i], f"g{i}@example.org").status_code for i in range(3)]
    assert codes == [201, 201, 429]
