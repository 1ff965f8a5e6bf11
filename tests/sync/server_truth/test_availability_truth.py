"""End-to-end property: generated calendars synced through a real CalDAV server (Radicale, the iCloud plugin,
the engine) into the hub; no slot the availability computation offers intersects a busy interval of the
RFC oracle, and every slot the oracle leaves free inside the meeting type's hours is offered."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from hub.models import MeetingType
from hub.scheduling.availability import compute
from tests.sync.test_busy_oracle import UTC, Spec, ends_before_start, ics, oracle, specs

SLOT = timedelta(minutes=15)


def meeting_type(hub, user_id: int) -> int:
    """Bookable all day every day, in quarter hours, in UTC — so every quarter hour is a candidate."""
    with hub.db.session() as s:
        existing = s.query(MeetingType).filter_by(user_id=user_id).one_or_none()
        if existing is not None:
            return existing.id
        row = MeetingType(user_id=user_id, name="Call", slug=f"call-{user_id}", duration_minutes=15,
                          weekly_hours={d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
                          timezone="UTC", min_notice_minutes=0, horizon_days=800, slot_step_minutes=15)
        s.add(row)
        s.flush()
        return row.id


def offered(hub, type_id: int, start: datetime, end: datetime) -> list[datetime]:
    with hub.db.session() as s:
        answer = compute(s, s.get(MeetingType, type_id), start, end)
        assert not answer.limited
        return answer.slots


@settings(max_examples=30, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
@given(spec=specs().filter(lambda s: not ends_before_start(s)), serial=st.integers(0, 10 ** 9))
@example(spec=Spec("all-day", "America/Santiago", datetime(2027, 9, 4), 1440, False, "DAILY", 1, 3, None, None,
                   None), serial=1)
@example(spec=Spec("windows+vtimezone", "Europe/Berlin", datetime(2027, 3, 27, 2, 30), 60, False, "DAILY", 1, 3,
                   None, None, None), serial=2)
def test_no_offered_slot_meets_oracle_busy_time_and_every_free_one_is_offered(caldav, hub, spec, serial):
    caldav.set_owner_zone(spec.calendar_zone)  # the calendar names no zone: all-day and floating are the owner's
    type_id = meeting_type(hub, caldav.user_id)
    name = f"gen-{serial}"
    caldav.put(name, ics(spec).replace("UID:oracle", f"UID:oracle-{serial}"))
    try:
        caldav.sync()
        busy = oracle(spec)
        now = datetime.now(UTC)
        start = max(now + timedelta(days=1), (busy[0][0] if busy else now) - timedelta(days=1))
        start = start.replace(minute=0, second=0, microsecond=0)
        window_end = now + timedelta(days=hub.settings.sync_window_days - 1)  # the hub knows busy time up to here
        end = max(start, min((busy[-1][1] if busy else start) + timedelta(days=1), start + timedelta(days=40),
                             window_end))
        slots = set(offered(hub, type_id, start, end))
        quarter = start
        while quarter + SLOT <= end:
            blocked = any(b < quarter + SLOT and e > quarter for b, e in busy)
            assert (quarter in slots) == (not blocked), (quarter, blocked, ics(spec))
            quarter += SLOT
    finally:
        caldav.delete(name)
        caldav.sync()
