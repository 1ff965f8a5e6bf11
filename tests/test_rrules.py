"""``hub.rrules.fast_forward`` against dateutil walking the whole series: moving a sub-daily series' start on
to near a window must leave every instance in the window as it was (RFC 5545 §3.3.10), with BY parts,
COUNT, UNTIL, INTERVAL, zones with DST changes and floating times."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from dateutil import rrule
from hypothesis import HealthCheck, example, given, reject, settings
from hypothesis import strategies as st

from hub.rrules import fast_forward

ZONES = [None, "Europe/Berlin", "America/New_York", "Australia/Sydney"]  # None: floating


@st.composite
def series(draw):
    freq = draw(st.sampled_from(["SECONDLY", "MINUTELY", "HOURLY"]))
    parts = [f"FREQ={freq}"]
    interval = draw(st.integers(1, 13))
    if interval > 1:
        parts.append(f"INTERVAL={interval}")
    if freq == "SECONDLY":
        parts.append("BYSECOND=" + ",".join(map(str, sorted(draw(st.sets(st.integers(0, 59), min_size=1,
                                                                                  max_size=3))))))
    if draw(st.booleans()):
        parts.append("BYHOUR=" + ",".join(map(str, sorted(draw(st.sets(st.integers(0, 23), min_size=1, max_size=4))))))
    if freq != "SECONDLY" and draw(st.booleans()):
        parts.append("BYMINUTE=" + ",".join(map(str, sorted(draw(st.sets(st.integers(0, 59), min_size=1,
                                                                                  max_size=3))))))
    if draw(st.booleans()):
        days = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
        parts.append("BYDAY=" + ",".join(sorted(draw(st.sets(st.sampled_from(days), min_size=1, max_size=3)))))
    zone = draw(st.sampled_from(ZONES))
    wall = datetime(2027, 1, 1) + timedelta(minutes=draw(st.integers(0, 364 * 1440)), seconds=draw(st.integers(0, 59)))
    dtstart = wall if zone is None else wall.replace(tzinfo=ZoneInfo(zone))
    reach = {"SECONDLY": 4, "MINUTELY": 30, "HOURLY": 400}[freq]
    window_start = (dtstart + timedelta(days=draw(st.integers(2, reach)), minutes=draw(st.integers(0, 1439))))
    ending = draw(st.sampled_from(["none", "count", "until"]))
    if ending == "count":
        parts.append(f"COUNT={draw(st.integers(1, 20000))}")
    elif ending == "until":
        until = window_start + timedelta(hours=draw(st.integers(-30, 30)))
        parts.append(f"UNTIL={until:%Y%m%dT%H%M%S}" if zone is None
                     else f"UNTIL={until.astimezone(timezone.utc):%Y%m%dT%H%M%SZ}")
    return "RRULE:" + ";".join(parts), dtstart, window_start, zone


def expand(line: str | None, dtstart: datetime, start: datetime, end: datetime) -> list[datetime]:
    """dateutil's instances in [start, end) (DTSTART is long before, so whether it matches does not matter)."""
    if line is None:
        return []
    return [i for i in rrule.rrulestr(line, dtstart=dtstart).between(start, end, inc=True) if i < end]


@settings(max_examples=150, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(series())
@example(("RRULE:FREQ=MINUTELY;BYHOUR=9,10", datetime(2027, 1, 1, 8, 30), datetime(2027, 3, 28, 0, 0), None))
@example(("RRULE:FREQ=MINUTELY;INTERVAL=7;COUNT=5000", datetime(2027, 3, 20, 1, 3, tzinfo=ZoneInfo("Europe/Berlin")),
          datetime(2027, 3, 23, 5, 0, tzinfo=ZoneInfo("Europe/Berlin")), "Europe/Berlin"))
def test_fast_forward_keeps_every_instance_in_the_window(case):
    line, dtstart, window_start, zone = case
    try:
        rrule.rrulestr(line, dtstart=dtstart)
    except ValueError:  # dateutil refuses a rule whose BY parts never meet its steps: no expander reads it
        reject()
    tz = ZoneInfo(zone or "UTC")
    start = window_start if window_start.tzinfo else window_start.replace(tzinfo=tz)
    end = start + timedelta(days=1)
    moved, rules = fast_forward(dtstart, [line], start, tz)
    rule = next(iter(rules), None)
    local = (lambda v: v) if zone else (lambda v: v.astimezone(tz).replace(tzinfo=None))
    expected = expand(line, dtstart, local(start), local(end))
    assert expand(rule, moved, local(start), local(end)) == expected
