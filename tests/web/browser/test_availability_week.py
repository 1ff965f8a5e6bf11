"""Availability you can see: the week behind the booking page, and "why is this time not offered?"
naming the calendar and event (or buffer, notice, hours) and linking to the setting that changes it."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from hub.models import BusyBlock, Calendar, MeetingType
from hub.types import RemoteEvent
from tests.processes import wait_until
from tests.web.browser.conftest import shot, sign_in
from tests.web.browser.test_calendars_and_mail import connect_memory
from tests.web.conftest import ALICE, PASSWORD

pytestmark = pytest.mark.browser


def _busy_blocks(hub) -> int:
    with hub.db.session() as s:
        return s.scalar(select(func.count(BusyBlock.id)))


def next_monday(now: datetime) -> datetime:
    days = 7 - now.weekday()
    return (now + timedelta(days=days)).replace(hour=0, minute=0, second=0, microsecond=0)


@pytest.fixture
def host(page, hub, people, memory, background_worker):
    """Alice: a memory calendar with "Team calendar" as a conflict calendar, a "Pipeline review" on her
    primary calendar next Monday 10:00–11:00 UTC, and a meeting type Mon–Fri 09:00–17:00 UTC with a
    15-minute buffer after meetings."""
    monday = next_monday(datetime.now(timezone.utc))
    memory.put_event(ALICE, "primary", RemoteEvent(remote_id="review", summary="Pipeline review",
                                                   start=monday + timedelta(hours=10), end=monday + timedelta(hours=11)))
    sign_in(page, ALICE, PASSWORD)
    connect_memory(page)
    wait_until(lambda: _busy_blocks(hub) == 1, 60, "the event's busy time to sync")
    with hub.db.session(write_lock=True) as s:
        calendar = s.scalar(select(Calendar).where(Calendar.remote_id == "primary"))
        s.add(MeetingType(user_id=people["alice"], name="Intro call", slug="alice-intro", duration_minutes=30,
                          buffer_after_minutes=15, min_notice_minutes=60, slot_step_minutes=30, timezone="UTC",
                          is_primary=True,
                          weekly_hours={d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}))
    return monday, calendar.id, calendar.name


def test_the_week_shows_busy_time_by_calendar_and_explains_a_blocked_time(page, host):
    monday, calendar_id, calendar_name = host
    page.goto(f"/availability/?week={monday.date().isoformat()}")
    busy = page.locator("svg.week rect.busy")
    assert busy.count() == 1
    assert busy.first.get_attribute("data-label") == f"Pipeline review · {calendar_name}"
    assert page.locator("svg.week rect.hours").count() == 5
    assert page.locator("svg.week rect.slot").count() > 0
    shot(page, "26-availability-week")

    # 10:30 is inside the event
    page.click(f"svg.week a[data-at='{monday.date().isoformat()}T10:30'] rect")
    verdict = page.wait_for_selector("#verdict")
    assert "not offered" in verdict.inner_text()
    event = page.locator("[data-reason=event]")
    assert "Pipeline review" in event.inner_text() and calendar_name in event.inner_text()
    assert event.locator("a").get_attribute("href") == f"/calendars/#conflict-{calendar_id}"
    shot(page, "26-availability-why-not")

    # 09:30 would end at 10:00, but its 15-minute buffer after touches the event
    page.goto(f"/availability/?at={monday.date().isoformat()}T09:45")
    assert page.locator("[data-reason=step]").count() == 1  # 09:45 is between two slot starts
    page.goto(f"/availability/?at={monday.date().isoformat()}T09:30")
    buffer = page.locator("[data-reason=buffer]")
    assert "15-minute buffer after" in buffer.inner_text() and "Pipeline review" in buffer.inner_text()
    assert "/meetings/" in buffer.locator("a").get_attribute("href")

    # 07:00 is outside the working hours; 11:30 is offered
    page.goto(f"/availability/?at={monday.date().isoformat()}T07:00")
    assert "Outside your working hours" in page.inner_text("[data-reason=hours]")
    page.goto(f"/availability/?at={monday.date().isoformat()}T11:30")
    assert "offered" in page.inner_text("#verdict h2") and "not offered" not in page.inner_text("#verdict h2")

    # the calendar link leads to the setting: unchecking the calendar frees 10:30
    page.goto(f"/availability/?at={monday.date().isoformat()}T10:30")
    page.click("[data-reason=event] a")
    assert page.url.endswith(f"/calendars/#conflict-{calendar_id}")
