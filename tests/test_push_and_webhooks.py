"""Push channels are made, renewed and stopped; the webhook route verifies, enqueues, and logs forgeries."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from hub import work
from hub.accounts import connect_account, disconnect_account
from hub.jobs.push_channels import ensure_channels
from hub.models import (
    Account,
    AccountError,
    AccountStatus,
    Calendar,
    PushChannelRecord,
    utcnow,
)
from hub.testing.memory import MemoryProvider
from hub.testing.memory_backend import MemoryBackend
from hub.types import RemoteEvent


@pytest.fixture
def backend():
    b = MemoryBackend()
    b.add_account("ann@corp.test", "pw", calendars=("primary", "team"))
    return b


@pytest.fixture
def hub_plugins(backend):
    return [("memory", MemoryProvider(backend))]


@pytest.fixture
def account_id(hub, make_user):
    uid = make_user("ann@corp.test")
    account_id = connect_account(hub, uid, "memory", {"email": "ann@corp.test", "password": "pw"})
    with hub.db.session() as s:
        s.add_all([Calendar(account_id=account_id, remote_id="primary", sync_enabled=True),
                   Calendar(account_id=account_id, remote_id="team", sync_enabled=False)])
        s.get(Account, account_id).mail_enabled = False
    return account_id


def channels(hub, account_id):
    with hub.db.session() as s:
        return s.scalars(sa.select(PushChannelRecord).where(PushChannelRecord.account_id == account_id)).all()


def test_a_channel_per_synced_calendar_with_its_token_encrypted(hub, backend, account_id):
    assert ensure_channels(hub, account_id) == 1
    [record] = channels(hub, account_id)
    assert record.kind == "calendar" and record.key == "primary"
    assert record.channel_id in backend.accounts["ann@corp.test"].channels
    assert ensure_channels(hub, account_id) == 0  # fresh enough: nothing to do
    with hub.db.engine.connect() as conn:
        raw = bytes(conn.execute(sa.text("SELECT token FROM push_channels")).scalar_one())
    assert record.token["token"].encode() not in raw


def test_channels_close_to_expiry_are_renewed(hub, account_id):
    ensure_channels(hub, account_id)
    with hub.db.session() as s:
        s.scalars(sa.select(PushChannelRecord)).one().expires_at = utcnow() + timedelta(hours=1)
    assert ensure_channels(hub, account_id) == 1
    assert channels(hub, account_id)[0].expires_at > utcnow() + timedelta(days=1)


def test_a_calendar_no_longer_synced_loses_its_channel(hub, backend, account_id):
    ensure_channels(hub, account_id)
    with hub.db.session() as s:
        s.scalar(sa.select(Calendar).where(Calendar.remote_id == "primary")).sync_enabled = False
    ensure_channels(hub, account_id)
    assert channels(hub, account_id) == [] and backend.accounts["ann@corp.test"].channels == {}


def test_a_verified_notification_enqueues_one_sync(hub, backend, client, account_id):
    ensure_channels(hub, account_id)
    start = datetime(2030, 1, 1, 9, tzinfo=timezone.utc)
    backend.put_event("ann@corp.test", "primary", RemoteEvent(remote_id="e1", start=start, end=start + timedelta(hours=1)))
    note = backend.notifications[-1]
    for _ in range(2):  # a duplicated delivery queues nothing more
        response = client.post(f"/webhooks/memory/{account_id}", headers=note.headers, data=note.body)
        assert response.status_code == 202
    job_ids = hub.queues.by_name["sync"].get_job_ids()
    assert sum(1 for j in job_ids if j.startswith(f"sync-cal-{account_id}-")) == 1


def test_a_forged_notification_is_rejected_logged_and_changes_nothing(hub, client, account_id):
    ensure_channels(hub, account_id)
    [record] = channels(hub, account_id)
    response = client.post(f"/webhooks/memory/{account_id}",
                           headers={"X-Memory-Channel": record.channel_id, "X-Memory-Token": "forged"})
    assert response.status_code == 403
    assert hub.queues.by_name["sync"].get_job_ids() == [f"sync-account-{account_id}"]  # only the initial sync
    with hub.db.session() as s:
        assert s.get(Account, account_id).status == AccountStatus.ENABLED
        assert s.scalars(sa.select(AccountError.error)).all() == ["WebhookRejected"]


def test_unknown_account_or_provider_mismatch_is_404(client, account_id):
    assert client.post(f"/webhooks/memory/{account_id + 99}").status_code == 404
    assert client.post(f"/webhooks/google/{account_id}").status_code == 404


def test_disconnect_stops_channels_revokes_and_forgets_credentials(hub, backend, account_id):
    ensure_channels(hub, account_id)
    disconnect_account(hub, account_id)
    assert backend.accounts["ann@corp.test"].channels == {}
    assert backend.accounts["ann@corp.test"].tokens == set()
    assert channels(hub, account_id) == []
    with hub.db.session() as s:
        account = s.get(Account, account_id)
        assert account.status == AccountStatus.DISCONNECTED and account.credentials is None


def test_a_channel_the_provider_dropped_is_remade_even_if_it_looks_fresh(hub, backend, account_id, worker):
    ensure_channels(hub, account_id)
    [old] = channels(hub, account_id)
    backend.unwatch("ann@corp.test", old.channel_id)  # e.g. Graph subscriptionRemoved
    assert ensure_channels(hub, account_id) == 0  # by the clock it is fresh…
    work.enqueue_channel_renewal(hub, account_id, force_key="primary")
    worker.drain(("default",))
    [new] = channels(hub, account_id)
    assert new.channel_id in backend.accounts["ann@corp.test"].channels
