"""The calendars page shows the zone each calendar's all-day and floating events are read in, and its source."""

from __future__ import annotations

import html as html_lib
import re

from hub.models import User
from tests.web.conftest import ALICE, connect_memory


def zone_cells(html: str) -> dict[str, tuple[str, str]]:
    """Calendar name → (source, text) of its "Time zone" cell."""
    rows = re.findall(r'<tr data-calendar="\d+" data-name="([^"]+)">(.*?)</tr>', html, re.S)
    out = {}
    for name, row in rows:
        source, text = re.search(r'<td class="zone" data-zone-source="(\w+)">(.*?)</td>', row, re.S).groups()
        out[name] = (source, html_lib.unescape(re.sub(r"<[^>]+>", " ", text)).split("All-day")[0].strip())
    return out


def test_each_calendar_shows_its_zone_and_where_it_came_from(alice, worker, hub, memory):
    memory.accounts[ALICE].calendars["primary"].info.timezone = "W. Europe Standard Time"  # as Graph names it
    memory.accounts[ALICE].calendars["team"].info.timezone = None  # a CalDAV calendar without calendar-timezone
    with hub.db.session() as s:
        s.query(User).filter_by(email=ALICE).one().timezone = "America/New_York"
    connect_memory(alice, worker)
    cells = zone_cells(alice.get("/calendars/").get_data(as_text=True))
    assert cells["primary"] == ("calendar", "Europe/Berlin (the calendar's own)")
    assert cells["Team calendar"] == ("owner", "America/New_York (from your profile)")


def test_no_zone_known_is_said_on_the_page(alice, worker, hub, memory):
    memory.accounts[ALICE].calendars["team"].info.timezone = None
    connect_memory(alice, worker)  # Alice never chose a zone, and the team calendar names none
    html = alice.get("/calendars/").get_data(as_text=True)
    cells = zone_cells(html)
    assert cells["Team calendar"] == ("none", "UTC — no time zone known")
    assert "Set your time zone" in html
