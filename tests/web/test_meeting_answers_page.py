"""The meetings page marks meetings cancelled in the calendar and invitations the user declined."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from hub.models import Meeting, MeetingParticipant
from tests.web.conftest import ALICE


def test_cancelled_and_declined_meetings_are_shown_as_such(alice, hub, people):
    start = datetime.now(timezone.utc) + timedelta(days=2)
    with hub.db.session() as s:
        for title, cancelled, answer in (("Kick-off", True, "accepted"), ("Pitch", False, "declined"),
                                         ("Review", False, "accepted")):
            s.add(Meeting(owner_user_id=people["alice"], title=title, start=start, end=start + timedelta(hours=1),
                          cancelled=cancelled, origin="calendar", participants=[
                              MeetingParticipant(email=ALICE, user_id=people["alice"], response=answer),
                              MeetingParticipant(email="dan@globex.example", response="accepted", organizer=True)]))
    page = alice.get("/meetings/").get_data(as_text=True)
    rows = {re.search(r"</td><td>([A-Za-z-]+)", r).group(1): r
            for r in re.findall(r'<tr data-meeting="\d+">(.*?)</tr>', page, re.S)}
    assert set(rows) == {"Kick-off", "Pitch", "Review"}
    assert "Cancelled" in rows["Kick-off"] and "You declined" not in rows["Kick-off"]
    assert "You declined" in rows["Pitch"] and "Cancelled" not in rows["Pitch"]
    assert "Cancelled" not in rows["Review"] and "You declined" not in rows["Review"]
