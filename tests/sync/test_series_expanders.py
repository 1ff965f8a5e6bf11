"""``hub.sync.series.rule_starts`` (dateutil directly, the fast path) against ``library_starts``
(recurring-ical-events, the library it stands in for): on generated series — IANA zones with DST changes,
UTC, floating times and dates; DTSTARTs in gaps and overlaps; FREQ from HOURLY to YEARLY with INTERVAL,
COUNT or UNTIL (of DTSTART's kind or not), BYDAY with and without ordinals, BYMONTHDAY, BYMONTH,
BYSETPOS, BYHOUR and WKST — both must give the same start times, in the same order, from any point on.
Where the fast path declines a series (``None``), the library alone expands it."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from itertools import islice
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from hub.sync import busy
from hub.sync.series import library_starts, rule_starts
from hub.types import RemoteEvent

ZONES = ["Europe/Berlin", "America/New_York", "Australia/Sydney", "America/Santiago", "UTC", None, "all-day"]
DAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
#: days around DST changes in 2027 (Europe, North America, Australia/Chile)
NEAR = [date(2027, 3, 28), date(2027, 10, 31), date(2027, 3, 14), date(2027, 11, 7), date(2027, 4, 4),
        date(2027, 9, 5), date(2027, 1, 15)]


@st.composite
def series(draw):
    kind = draw(st.sampled_from(ZONES))
    day = draw(st.sampled_from(NEAR)) + timedelta(days=draw(st.integers(-10, 10)))
    hour, minute = draw(st.sampled_from([(0, 0), (1, 30), (2, 0), (2, 30), (3, 0), (9, 15), (23, 30)]))
    wall = datetime.combine(day, time(hour, minute))
    if kind == "all-day":
        dtstart: datetime | date = day
        tzid, tz = None, ZoneInfo("Europe/Berlin")
    elif kind is None:
        dtstart, tzid, tz = wall, None, ZoneInfo("Europe/Berlin")
    else:
        tz = ZoneInfo(kind)
        dtstart, tzid = wall.replace(tzinfo=tz, fold=draw(st.integers(0, 1))), kind
    # (an HOURLY rule on dates is nonsense the library walks for ever: left out)
    freq = draw(st.sampled_from((["HOURLY"] if kind != "all-day" else []) + ["DAILY", "WEEKLY", "MONTHLY", "YEARLY"]))
    parts = [f"FREQ={freq}"]
    if draw(st.booleans()):
        parts.append(f"INTERVAL={draw(st.integers(1, 4))}")
    if freq in ("WEEKLY", "MONTHLY", "YEARLY") and draw(st.booleans()):
        ordinal = freq != "WEEKLY" and draw(st.booleans())
        days = sorted(draw(st.sets(st.sampled_from(DAYS), min_size=1, max_size=3)))
        parts.append("BYDAY=" + ",".join((f"{draw(st.sampled_from([1, 2, -1]))}{d}" if ordinal else d) for d in days))
    if freq in ("MONTHLY", "YEARLY") and draw(st.booleans()):
        parts.append("BYMONTHDAY=" + ",".join(map(str, sorted(draw(st.sets(st.integers(1, 31), min_size=1,
                                                                              max_size=2))))))
    if freq == "YEARLY" and draw(st.booleans()):
        parts.append(f"BYMONTH={draw(st.integers(1, 12))}")
    if freq in ("DAILY", "WEEKLY") and kind != "all-day" and draw(st.booleans()):
        parts.append("BYHOUR=" + ",".join(map(str, sorted(draw(st.sets(st.integers(0, 23), min_size=1, max_size=2))))))
    if any(p.startswith("BYDAY") for p in parts) and draw(st.booleans()):
        parts.append(f"BYSETPOS={draw(st.sampled_from([1, -1, 2]))}")
    if draw(st.booleans()):
        parts.append(f"WKST={draw(st.sampled_from(['MO', 'SU']))}")
    ending = draw(st.sampled_from(["none", "count", "until", "until-other-kind"]))
    if ending == "count":
        parts.append(f"COUNT={draw(st.integers(1, 30))}")
    elif ending.startswith("until"):
        until = wall + timedelta(days=draw(st.integers(-2, 200)), hours=draw(st.integers(-3, 3)))
        utc = (until.replace(tzinfo=tz).astimezone(timezone.utc) if kind else until)
        forms = {"utc": f"{utc:%Y%m%dT%H%M%SZ}", "floating": f"{until:%Y%m%dT%H%M%S}", "date": f"{until:%Y%m%d}"}
        own = "date" if kind == "all-day" else "floating" if kind is None else "utc"
        form = own if ending == "until" else draw(st.sampled_from(sorted(set(forms) - {own})))
        parts.append(f"UNTIL={forms[form]}")
    first = wall + timedelta(days=draw(st.integers(-3, 120)), hours=draw(st.integers(0, 23)))
    if kind == "all-day":
        first_value: datetime | date = first.date()
    elif kind is None:
        first_value = first
    else:
        first_value = first.replace(tzinfo=tz).astimezone(timezone.utc)
    return dtstart, ["RRULE:" + ";".join(parts)], tzid, tz, first_value


def shown(values) -> list[tuple[str, str]]:
    """Start times as compared: their kind and their ISO text (an aware one with its offset)."""
    return [(type(v).__name__, v.isoformat()) for v in values]


@settings(max_examples=250, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(series())
@example((datetime(2027, 3, 28, 2, 30, tzinfo=ZoneInfo("Europe/Berlin")), ["RRULE:FREQ=DAILY;COUNT=5"],
          "Europe/Berlin", ZoneInfo("Europe/Berlin"), datetime(2027, 3, 20, tzinfo=timezone.utc)))
@example((date(2027, 3, 28), ["RRULE:FREQ=DAILY;UNTIL=20270328"], None, ZoneInfo("Europe/Berlin"), date(2027, 3, 20)))
@example((datetime(2027, 10, 31, 2, 30, tzinfo=ZoneInfo("Europe/Berlin"), fold=1),
          ["RRULE:FREQ=WEEKLY;UNTIL=20271114T013000Z"], "Europe/Berlin", ZoneInfo("Europe/Berlin"),
          datetime(2027, 10, 1, tzinfo=timezone.utc)))
def test_rule_starts_agree_with_the_library(case):
    dtstart, rules, tzid, tz, first = case
    fast = rule_starts(dtstart, rules, tzid, tz, first)
    library = library_starts(dtstart, rules, tzid, tz, None, first)
    if fast is None:  # declined: only an UNTIL of another kind than DTSTART may make it do so
        assert "UNTIL=" in rules[0]
        return
    assert shown(islice(fast, 40)) == shown(islice(library, 40)), rules


def test_an_all_day_series_on_following_days_is_expanded_from_inside_it():
    """recurring-ical-events' ``after`` steps through time in slices that shrink to 15 minutes; given a date it
    never moves past a day that holds an occurrence (a date plus 12 hours is the same date), so a daily
    all-day series begun before the window held the sync for good. Both expanders get past it."""
    tz = ZoneInfo("Europe/Berlin")
    rules = ["RRULE:FREQ=DAILY", "RDATE;VALUE=DATE:20270501"]  # the RDATE keeps it on the library's path
    master = RemoteEvent(remote_id="daily", start=date(2027, 3, 28), end=date(2027, 3, 29), all_day=True,
                         recurrence=rules)
    got = busy.blocks(master, [], datetime(2027, 4, 2, tzinfo=timezone.utc), datetime(2027, 4, 5, tzinfo=timezone.utc),
                      "Europe/Berlin")
    assert [b.astimezone(tz).date() for b, _e in got] == [date(2027, 4, d) for d in (2, 3, 4, 5)]
    assert shown(islice(library_starts(date(2027, 3, 28), rules[:1], None, tz, None, date(2027, 4, 1)), 5)) == \
        shown(islice(rule_starts(date(2027, 3, 28), rules[:1], None, tz, date(2027, 4, 1)), 5))
