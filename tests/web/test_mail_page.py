"""The Mail sync page: status, initial-sync progress (page and API), error log, usage, BCC, disabling."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from hub.exceptions import ConnectFailed
from hub.models import Account, AccountError, AccountStatus, MailMessage, SyncCursor, TimelineEntry, User
from tests.web.conftest import ALICE, connect_memory
from tests.web.mailboxes import add_maria, deliver_thread, raw_mail


def test_progress_as_the_sync_stores_it(alice, hub, worker):
    connect_memory(alice, worker)
    with hub.db.session() as s:  # an initial sync under way in the inbox: 3,200 of 10,000
        inbox = s.scalar(select(SyncCursor).where(SyncCursor.kind == "mail", SyncCursor.key == "inbox"))
        inbox.initial_done, inbox.progress_done, inbox.progress_total = False, 3200, 10000
    html = alice.get("/mail/").get_data(as_text=True)
    assert "3,200 of 10,000 messages" in html and 'value="32"' in html
    status = alice.get("/api/v1/accounts/1/sync-status").json
    inbox_status = next(f for f in status["folders"] if f["folder"] == "inbox")
    assert inbox_status == {"folder": "inbox", "done": 3200, "total": 10000, "finished": False, "percent": 32}
    assert status["finished"] is False


def test_before_the_first_sync_it_says_starting_and_after_it_complete(alice, hub, worker, memory):
    for n in range(7):
        memory.deliver(ALICE, "inbox", raw_mail("maria@acme.test", ALICE, f"Note {n}")[0])
    alice.post("/connect/memory", data={"email": ALICE, "password": "mailbox-secret"})
    assert "Initial sync starting" in alice.get("/mail/").get_data(as_text=True)
    assert alice.get("/api/v1/accounts/1/sync-status").json["finished"] is False
    worker.drain()
    html = alice.get("/mail/").get_data(as_text=True)
    assert "Initial sync complete (7 messages)" in html
    assert alice.get("/api/v1/accounts/1/sync-status").json["finished"] is True


def test_daily_usage_against_the_plan_cap(alice, hub, worker, memory):
    for n in range(105):
        memory.deliver(ALICE, "inbox", raw_mail("maria@acme.test", ALICE, f"Note {n}")[0])
    connect_memory(alice, worker)
    html = alice.get("/mail/").get_data(as_text=True)
    assert "100 of 100 emails synced today" in html and "the rest syncs tomorrow" in html


def test_no_plan_means_no_limit(alice, hub, people):
    with hub.db.session() as s:
        s.get(User, people["alice"]).plan_id = None
    assert "Your plan has no daily limit" in alice.get("/mail/").get_data(as_text=True)


def test_the_error_log_shows_time_error_and_fix(alice, hub, worker, memory):
    connect_memory(alice, worker)
    memory.fail_next("hub_sync_mail", ConnectFailed("The mail server did not answer."), times=50)
    alice.post("/api/v1/accounts/1/sync")
    worker.drain()
    with hub.db.session() as s:
        assert s.scalar(select(func.count(AccountError.id))) >= 1
    html = alice.get("/mail/").get_data(as_text=True)
    assert "<th>Last seen</th><th>Error</th><th>Times</th><th>How to fix</th>" in html
    assert "The mail server did not answer." in html and "Check the host name and port" in html
    errors = alice.get("/api/v1/accounts/1/errors").json
    assert errors[0]["message"] == "The mail server did not answer." and errors[0]["at"]


@pytest.mark.parametrize("status", ["enabled", "error", "pending", "connection"])
def test_each_status_has_its_colour_on_both_pages(alice, hub, worker, status):
    connect_memory(alice, worker)
    with hub.db.session() as s:
        account = s.scalar(select(Account))
        account.status = AccountStatus(status)
        account.last_error, account.last_fix = "Login refused.", "Reconnect the account."
    assert f'class="badge {status}" data-status' in alice.get("/mail/").get_data(as_text=True)
    home = alice.get("/").get_data(as_text=True)
    assert f'class="card account status-{status}"' in home and f'class="badge {status}"' in home
    if status != "enabled":
        assert "Login refused." in home and "Reconnect the account." in home
    assert ('data-action="reconnect"' in home) is (status in ("error", "connection"))


def test_the_bcc_address_with_a_copy_button_and_rotation(alice, hub, people):
    with hub.db.session() as s:
        token = s.get(User, people["alice"]).bcc_token
    html = alice.get("/mail/").get_data(as_text=True)
    assert f"log+{token}@log.127.0.0.1" in html and 'data-copy="#bcc-address"' in html
    alice.post("/mail/bcc/rotate")
    assert f"log+{token}@" not in alice.get("/mail/").get_data(as_text=True)


def _logged(hub) -> int:
    with hub.db.session() as s:
        return s.scalar(select(func.count(TimelineEntry.id)).where(TimelineEntry.kind == "mail"))


def test_disable_keeping_previous_communication(alice, hub, worker, memory):
    add_maria(hub)
    deliver_thread(memory, ALICE, "Pricing", turns=2)
    connect_memory(alice, worker)
    before = _logged(hub)
    assert before >= 2
    response = alice.post("/mail/accounts/1/disable", data={"previous": "keep"}, follow_redirects=True)
    assert "mail already logged stays" in response.get_data(as_text=True)
    assert _logged(hub) == before
    with hub.db.session() as s:
        assert s.scalar(select(Account.mail_enabled)) is False
    assert "Turn mail sync on" in alice.get("/mail/").get_data(as_text=True)


def test_disable_removing_previous_communication(alice, hub, worker, memory):
    add_maria(hub)
    deliver_thread(memory, ALICE, "Pricing", turns=2)
    connect_memory(alice, worker)
    before = _logged(hub)
    with hub.db.session() as s:
        messages = s.scalar(select(func.count(MailMessage.id)))
    asked = alice.post("/mail/accounts/1/disable", data={"previous": "remove"}, follow_redirects=True)
    assert f"Remove {messages} messages from timelines?" in asked.get_data(as_text=True)  # asked first
    assert _logged(hub) == before  # nothing gone yet
    response = alice.post("/mail/accounts/1/disable", data={"previous": "remove", "confirmed": "1"},
                          follow_redirects=True)
    assert "logged messages were removed from timelines" in response.get_data(as_text=True)
    assert _logged(hub) == 0
    with hub.db.session() as s:
        assert s.scalar(select(func.count(MailMessage.id))) == 0


def test_disable_needs_a_choice(alice, hub, worker):
    connect_memory(alice, worker)
    response = alice.post("/mail/accounts/1/disable", data={}, follow_redirects=True)
    assert "Choose whether to keep or remove" in response.get_data(as_text=True)
    with hub.db.session() as s:
        assert s.scalar(select(Account.mail_enabled)) is True


def test_turning_mail_sync_back_on(alice, hub, worker):
    connect_memory(alice, worker)
    alice.post("/mail/accounts/1/disable", data={"previous": "keep"})
    alice.post("/mail/accounts/1/enable")
    with hub.db.session() as s:
        assert s.scalar(select(Account.mail_enabled)) is True
