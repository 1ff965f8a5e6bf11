"""The IDLE listener: a callback within seconds of new mail, re-IDLE, reconnect, account list changes."""

from __future__ import annotations

import queue

import pytest

from hub.testing.waiting import wait_until

from hub_imap.idle import IdleListener
from hub_imap.testing import account_for, connect_params, context_for

RAW = b"From: a@example.org\r\nTo: b@example.org\r\nSubject: ping\r\n\r\nhello\r\n"
WAIT = 15  # seconds to wait for an event that normally comes in milliseconds


@pytest.fixture
def changes():
    return queue.Queue()


@pytest.fixture
def listener_for(changes):
    started = []

    def make(accounts, **options):
        listener = IdleListener(lambda: list(accounts), lambda account_id, folder: changes.put((account_id, folder)),
                                poll_seconds=0.2, **options)
        started.append(listener)
        return listener.start()

    yield make
    for listener in started:
        listener.stop()


def test_new_mail_calls_back(peer, imap_account, mail_user, changes, listener_for):
    listener = listener_for([imap_account])
    assert listener.wait_until_listening(WAIT)
    assert listener.watching == {(imap_account.id, "inbox")}
    assert changes.empty(), "no callback before anything happened"
    peer.append(mail_user, "INBOX", RAW)
    assert changes.get(timeout=WAIT) == (imap_account.id, "inbox")


def test_expunge_calls_back(peer, imap_account, mail_user, changes, listener_for):
    uid = peer.append(mail_user, "INBOX", RAW)
    listener = listener_for([imap_account])
    assert listener.wait_until_listening(WAIT)
    with peer.client(mail_user) as imap:
        imap.select_folder("INBOX")
        imap.delete_messages([uid])
        imap.expunge()
    assert changes.get(timeout=WAIT) == (imap_account.id, "inbox")


def test_keeps_working_across_re_idle(peer, imap_account, mail_user, changes, listener_for):
    listener = listener_for([imap_account], reidle_seconds=0.5)
    assert listener.wait_until_listening(WAIT)
    wait_until(lambda: listener.idles() >= 3, WAIT, "the listener re-issuing IDLE twice")
    peer.append(mail_user, "INBOX", RAW)
    assert changes.get(timeout=WAIT) == (imap_account.id, "inbox")


def test_reconnects_after_the_server_drops_the_connection(dovecot, smtp_server, changes, listener_for):
    user = dovecot.add_user()
    account = account_for(context_for(dovecot, smtp_server),
                          connect_params(dovecot, user, smtp_server, imap_security="ssl", smtp_security="ssl"))
    listener = listener_for([account])
    assert listener.wait_until_listening(WAIT)
    dovecot.doveadm("kick", user.username)  # the server closes every session of the user
    # after a reconnect the callback runs once: mail may have come while nobody listened
    assert changes.get(timeout=WAIT) == (account.id, "inbox")
    assert listener.wait_until_listening(WAIT)
    dovecot.append(user, "INBOX", RAW)
    assert changes.get(timeout=WAIT) == (account.id, "inbox")


def test_follows_the_account_list(peer, imap_account, mail_user, changes, listener_for):
    accounts = [imap_account]
    listener = listener_for(accounts)
    assert listener.wait_until_listening(WAIT)
    accounts.clear()
    listener.refresh()
    assert listener.watching == set()
    peer.append(mail_user, "INBOX", RAW)
    with pytest.raises(queue.Empty):
        changes.get(timeout=1)
    accounts.append(imap_account)
    listener.refresh()
    assert listener.wait_until_listening(WAIT)
    peer.append(mail_user, "INBOX", RAW)
    assert changes.get(timeout=WAIT) == (imap_account.id, "inbox")


def test_stop_closes_every_connection(peer, imap_account, listener_for):
    listener = listener_for([imap_account])
    assert listener.wait_until_listening(WAIT)
    listener.stop()
    assert listener.watching == set()
