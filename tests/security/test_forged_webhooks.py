"""Finding 8: forged webhook notifications wrote the sender's text into the user's error log, and
205 of them in 2 s replaced the 200-entry log. Now one fixed entry per account per window, shown to
administrators only; the account's status never changes."""

from __future__ import annotations

import requests
import sqlalchemy as sa

from hub.account_status import log_error
from hub.exceptions import HubError
from hub.jobs.push_channels import ensure_channels
from hub.models import Account, AccountError, AccountStatus, PushChannelRecord
from tests.security.conftest import ALICE, http_session

REFUSED = "did not verify"  # the admin-only entry's wording
OWNERS = "The mailbox answered slowly (owner-visible control entry)."


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
    assert "ATTACKER" not in entries[0].message and REFUSED in entries[0].message

    # The owner, an ordinary salesperson, sees the account's own errors where they are shown (page and
    # API) — an entry of theirs is there — but not the refused notification; an administrator sees it.
    with hub.db.session() as s:
        log_error(s, s.get(Account, account_id), HubError(OWNERS), "sync")
    owner = http_session(live_url, ALICE)
    page = owner.get(f"{live_url}/mail/", timeout=30).text
    listed = owner.get(f"{live_url}/api/v1/accounts/{account_id}/errors", timeout=30)
    assert listed.status_code == 200
    assert OWNERS in page and REFUSED not in page
    assert [e["message"] for e in listed.json()] == [OWNERS]
    health = http_session(live_url, "admin@corp.test").get(f"{live_url}/admin/health", timeout=30)
    assert health.status_code == 200 and REFUSED in health.text and "ATTACKER" not in health.text
