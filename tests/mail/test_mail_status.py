"""Account statuses and the error log around mail sync (hub/account_status.py, hub/jobs/):
Error with the fix, Connection after two days of continuous failure (a controllable clock),
AuthExpired → Error with "Reconnect", and the error-log entries each failure writes."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from hub import jobs, work
from hub.account_status import can_sync, record_failure, record_success
from hub.exceptions import AuthExpired, NotFound, ProviderUnavailable
from hub.models import Account, AccountError, AccountStatus, MailMessage
from tests.mail_corpus.world import connect, mail

ALICE = "alice@acme.com"
T0 = datetime(2030, 1, 10, 8, 0, tzinfo=timezone.utc)


def fail(hub, account_id, error, at):
    with hub.db.session() as s:
        record_failure(s, s.get(Account, account_id), error, "mail", now=at)


def account(hub, account_id) -> Account:
    with hub.db.session() as s:
        return s.get(Account, account_id)


def error_log(hub, account_id) -> list[AccountError]:
    with hub.db.session() as s:
        return s.scalars(sa.select(AccountError).where(AccountError.account_id == account_id)
                         .order_by(AccountError.at)).all()


def stored(hub) -> list[str]:
    with hub.db.session() as s:
        return sorted(s.scalars(sa.select(MailMessage.subject)).all())


def test_two_days_of_continuous_failure_turn_the_account_to_connection_and_syncs_stop(hub, backend, acme, worker):
    account_id = connect(hub, backend, acme.alice, ALICE)
    worker.drain()
    down = ProviderUnavailable("The mail server did not answer.")
    fail(hub, account_id, down, T0)
    assert account(hub, account_id).status == AccountStatus.ERROR
    fail(hub, account_id, down, T0 + timedelta(days=1))
    fail(hub, account_id, down, T0 + timedelta(days=1, hours=23, minutes=59))
    assert account(hub, account_id).status == AccountStatus.ERROR and can_sync(account(hub, account_id))
    fail(hub, account_id, down, T0 + timedelta(days=2))
    acct = account(hub, account_id)
    assert acct.status == AccountStatus.CONNECTION and not can_sync(acct)
    assert "two days" in acct.last_fix

    # syncs stop trying: neither the poll nor a queued mail job touches the provider
    calls = backend.calls["hub_sync_mail"]
    backend.deliver(ALICE, "inbox", mail("dan@globex.com", ALICE, "waiting"))
    assert jobs.poll_all() == 0
    work.enqueue_mail_sync(hub, account_id, "inbox")
    worker.drain()
    assert backend.calls["hub_sync_mail"] == calls and stored(hub) == []

    # until the user acts: reconnecting enables it again and the mail comes in
    connect(hub, backend, acme.alice, ALICE)
    assert account(hub, account_id).status == AccountStatus.ENABLED
    worker.drain()
    assert stored(hub) == ["waiting"]


def test_a_success_in_between_ends_the_run_of_failures(hub, backend, acme):
    account_id = connect(hub, backend, acme.alice, ALICE)
    fail(hub, account_id, ProviderUnavailable(), T0)
    with hub.db.session() as s:
        record_success(s, s.get(Account, account_id), now=T0 + timedelta(days=1))
    assert account(hub, account_id).status == AccountStatus.ENABLED
    fail(hub, account_id, ProviderUnavailable(), T0 + timedelta(days=2, hours=12))
    acct = account(hub, account_id)
    assert acct.status == AccountStatus.ERROR and acct.error_since == T0 + timedelta(days=2, hours=12)


def test_each_failure_writes_an_error_log_entry_with_time_message_and_fix(hub, backend, acme):
    account_id = connect(hub, backend, acme.alice, ALICE)
    fail(hub, account_id, NotFound("There is no mail folder 'Sent Items'."), T0)
    fail(hub, account_id, ProviderUnavailable("The mail server did not answer."), T0 + timedelta(hours=1))
    fail(hub, account_id, RuntimeError("socket internals nobody should see"), T0 + timedelta(hours=2))
    log = error_log(hub, account_id)
    assert [(e.at, e.area, e.error) for e in log] == [
        (T0, "mail", "NotFound"), (T0 + timedelta(hours=1), "mail", "ProviderUnavailable"),
        (T0 + timedelta(hours=2), "mail", "InternalError")]
    assert log[0].message == "There is no mail folder 'Sent Items'."
    assert log[1].fix == "Nothing to do: the hub retries automatically."
    assert "socket internals" not in log[2].message and log[2].fix


def test_an_expired_grant_turns_the_account_to_error_with_reconnect_through_the_real_job(hub, backend, acme, worker):
    account_id = connect(hub, backend, acme.alice, ALICE)
    worker.drain()
    backend.revoke(ALICE)  # the user changed their password / revoked consent
    work.enqueue_mail_sync(hub, account_id, "inbox")
    worker.drain()
    acct = account(hub, account_id)
    assert acct.status == AccountStatus.ERROR and acct.needs_reconnect and not can_sync(acct)
    assert "Reconnect" in acct.last_fix
    [entry] = [e for e in error_log(hub, account_id) if e.error == "AuthExpired"]
    assert entry.area == "mail" and "Reconnect" in entry.fix and entry.at is not None

    backend.deliver(ALICE, "inbox", mail("dan@globex.com", ALICE, "after reconnect"))
    connect(hub, backend, acme.alice, ALICE)  # reconnect: a fresh token
    acct = account(hub, account_id)
    assert acct.status == AccountStatus.ENABLED and not acct.needs_reconnect
    worker.drain()
    assert stored(hub) == ["after reconnect"]


def test_auth_expired_never_waits_two_days_and_never_becomes_connection(hub, backend, acme):
    account_id = connect(hub, backend, acme.alice, ALICE)
    fail(hub, account_id, AuthExpired(), T0)
    fail(hub, account_id, AuthExpired(), T0 + timedelta(days=3))
    acct = account(hub, account_id)
    assert (acct.status, acct.needs_reconnect) == (AccountStatus.ERROR, True)
