"""``seed_demo`` gives `hub demo` a lived-in mailbox the plugin reads like any other."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hub.testing.conformance import fetch_all, sync_mail_all
from hub.types import Window

from hub_office365.sandbox import seed_demo


def test_demo_mailbox_through_the_plugin(hooks, account, state):
    seed_demo(state, account.email)
    calendars = {c.name: c for c in hooks.hub_list_calendars(account=account)}
    assert {n: c.access_role for n, c in calendars.items()} == {
        "Calendar": "owner", "Team": "owner", "Public holidays": "reader"}

    now = datetime.now(timezone.utc)
    window = Window(now - timedelta(days=14), now + timedelta(days=60))
    events = fetch_all(hooks, account, calendars["Calendar"].remote_id, None, window).events.values()
    series = [e for e in events if e.recurrence]
    assert len(series) == 1 and any(line.startswith("EXDATE") for line in series[0].recurrence)
    assert [e.summary for e in events if e.recurring_event_id] == ["1:1 with Ben (moved)"]
    assert {e.summary for e in events if e.transparent} == {"Focus time", "Working from the Hamburg office"}
    assert any(e.video_url for e in events) and any(e.all_day for e in events)
    team = fetch_all(hooks, account, calendars["Team"].remote_id, None, window).events.values()
    assert [e.all_day for e in team] == [True]

    inbox, _, _ = sync_mail_all(hooks, account, "inbox", None, 25, now - timedelta(days=30))
    sent, _, _ = sync_mail_all(hooks, account, "sent", None, 25, now - timedelta(days=30))
    assert len(inbox) + len(sent) == 40 and len(sent) == 10
    assert any(m.attachments for m in inbox + sent)
    assert any(m.in_reply_to for m in inbox + sent)
