"""Finding 8: forged webhook notifications wrote the sender's text into the user's error log, and
205 of them in 2 s replaced the 200-entry log. Now one fixed entry per account per window, shown to
administrators only; the account's status never changes."""

from __future__ import annotations

import requests
import sqlalchemy as sa

from hub.jobs.push_channels import ensure_channels
from hub.models import Account, AccountError, AccountStatus, PushChannelRecord
from tests.security.conftest import ALICE, http_session


def test_a_flood_of_forged_notifications_leaves_one_admin_only_entry(bookable, hub, live_url):
    with hub.db.session() as s:
        account_id = s.scalar(sa.select(Account.id))
    ensure_channels(hub, account_id)
    with hub.db.session() as s:
        channel = s.scalar(sa.select(PushChannelRecord.channel_id))
    for i in range(205):
        answer = requests.post(f"{live_url}/webhooks/memory/{account_id}", timeout=30, headers={
            "X-Memory-Channel": channel, "X-Memory-Token": f"forged-{i}-ATTACKER-TEXT"})
        assert answer.status_code == 403
    with hub.db.session() as s:
        entries = s.execute(sa.select(AccountError.area, AccountError.message)).all()
        assert s.get(Account, account_id).status == AccountStatus.ENABLED
    assert len(entries) == 1 and entries[0].area == "webhook"
    assert "ATTACKER" not in entries[0].message
    assert "did not verify" not in http_session(live_url, ALICE).get(f"{live_url}/mail/", timeout=30).text
