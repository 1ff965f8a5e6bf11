"""Held-connection push: the IMAP plugin's IDLE listener, run by the core, turns new mail into a sync job."""

from __future__ import annotations

import pytest

from hub.accounts import connect_account
from hub.jobs.idle_listeners import start_listeners, stop_listeners
from hub.models import ProviderSetting
from hub.testing.waiting import PATIENCE, wait_until

from hub_imap.testing import connect_params, trusted

RAW = b"From: bob@acme.test\r\nTo: ann@corp.test\r\nSubject: hi\r\nMessage-ID: <l1@acme.test>\r\n\r\nhello\r\n"


@pytest.fixture
def hub_load_plugins():
    return "imap"


def test_hook_hub_push_listeners(hub, make_user, dovecot, smtp_server):
    mail_user = dovecot.add_user()
    with hub.db.session() as s:
        s.add(ProviderSetting(name="imap", config={"ca_certificates": trusted(dovecot, smtp_server)}))
    account_id = connect_account(hub, make_user("ann@corp.test"), "imap",
                                 connect_params(dovecot, mail_user, smtp_server, imap_security="ssl",
                                                smtp_security="starttls"))
    sync_queue = hub.queues.by_name["sync"]
    sync_queue.empty()  # drop the initial sync the connect queued: only the listener's job counts here
    listeners = start_listeners(hub)
    try:
        assert listeners and all(listener.wait_until_listening(PATIENCE) for listener in listeners)
        # the first connection asks for no catch-up sync (only a reconnect does), so a job from here on
        # can only come from IDLE reporting the new message
        assert sync_queue.get_job_ids() == []
        dovecot.append(mail_user, "INBOX", RAW)
        wait_until(lambda: sync_queue.get_job_ids() == [f"sync-mail-{account_id}-inbox"],
                   what="the IDLE listener to queue the inbox sync")
    finally:
        stop_listeners(listeners)


def test_disabled_providers_get_no_accounts_to_watch(hub, make_user, dovecot, smtp_server):
    from hub.jobs.idle_listeners import watched_accounts

    mail_user = dovecot.add_user()
    with hub.db.session() as s:
        s.add(ProviderSetting(name="imap", config={"ca_certificates": trusted(dovecot, smtp_server)}))
    connect_account(hub, make_user("ann@corp.test"), "imap",
                    connect_params(dovecot, mail_user, smtp_server, imap_security="ssl", smtp_security="starttls"))
    assert [a.email for a in watched_accounts(hub, "imap")] == [mail_user.email]
    with hub.db.session() as s:
        s.get(ProviderSetting, "imap").enabled = False
    hub.refresh_disabled_providers()
    listeners = start_listeners(hub)
    assert listeners == []  # a disabled plugin's hooks do not run
