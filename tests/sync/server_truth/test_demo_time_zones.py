"""``hub demo``'s calendar written elsewhere: an all-day series across the next DST change, an Outlook
invitation with a Windows zone name and a floating event, blocked right — in busy time and on the
booking page's slots."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from hub.demo import seed_time_zone_cases
from hub.models import MeetingType
from hub.scheduling.availability import compute
from tests.sync.caldav_truth import UTC, transition_days

BERLIN = ZoneInfo("Europe/Berlin")


def at(day, hour: int) -> datetime:
    return datetime.combine(day, time(hour), BERLIN).astimezone(UTC)


def test_the_demo_calendar_is_blocked_right(caldav, hub):
    assert seed_time_zone_cases(caldav.radicale, caldav.user, caldav.home, caldav.user.name) == 3
    caldav.sync()
    blocks = set(caldav.blocks())
    today = datetime.now(BERLIN).date()
    first = today + timedelta(days=3)
    change = min(transition_days(BERLIN, today).values())
    fair = [change - timedelta(days=1) + timedelta(days=i) for i in range(4)]
    assert {(at(d, 0), at(d + timedelta(days=1), 0)) for d in fair} <= blocks, "whole Berlin days"
    assert {(at(first + timedelta(weeks=i), 10), at(first + timedelta(weeks=i), 11)) for i in range(8)} <= blocks
    [dentist] = [s.astimezone(BERLIN).date() for s, e in blocks if e - s == timedelta(hours=1)
                 and s.astimezone(BERLIN).time() == time(14) and e.astimezone(BERLIN).time() == time(15)]
    assert dentist > first, "floating: 14:00–15:00 in the calendar's zone"

    with hub.db.session() as s:
        mt = MeetingType(user_id=caldav.user_id, name="Intro", slug="demo-intro", duration_minutes=30,
                         timezone="Europe/Berlin", min_notice_minutes=0, horizon_days=30, slot_step_minutes=30,
                         weekly_hours={d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")})
        s.add(mt)
        s.flush()
        slots = set(compute(s, mt, at(dentist, 0), at(dentist + timedelta(days=1), 0)).slots)
    assert at(dentist, 14) not in slots and at(dentist, 14) + timedelta(minutes=30) not in slots
    assert at(dentist, 13) in slots and at(dentist, 15) in slots
