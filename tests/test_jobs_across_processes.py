"""A job enqueued by the web process runs in a separate `hub worker` process through real Redis.

Runs on the embedded Redis locally and on the Redis server in CI (HUB_TEST_REDIS_URL).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import sqlalchemy as sa

from hub.models import Account, AccountStatus, User
from web.api import hash_token


@pytest.fixture
def hub_load_plugins():
    return "testplugin"


@pytest.fixture
def api_user(hub, make_user):
    uid = make_user("ann@corp.test")
    with hub.db.session() as s:
        s.get(User, uid).api_token_hash = hash_token("tok-ann")
    return {"Authorization": "Bearer tok-ann"}


def run_worker(hub) -> subprocess.CompletedProcess:
    env = {**os.environ, "HUB_DATABASE_URL": hub.settings.database_url, "HUB_REDIS_URL": hub.queues.redis_url,
           "HUB_KEYS": hub.settings.keys, "HUB_LOAD_PLUGINS": "testplugin",
           "HUB_INSTANCE_PATH": str(hub.settings.instance_path)}
    return subprocess.run([sys.executable, "-m", "hub.cli", "worker", "--burst"], env=env,
                          capture_output=True, text=True, timeout=120)


def test_web_enqueues_and_a_separate_worker_process_runs_it(hub, client, api_user):
    created = client.post("/api/v1/accounts", json={"provider": "testplugin", "email": "ann@corp.test",
                                                    "password": "right"}, headers=api_user)
    assert created.status_code == 201, created.json
    account_id = created.json["id"]
    queued = client.post(f"/api/v1/accounts/{account_id}/check", headers=api_user)
    assert queued.status_code == 202 and queued.json["queued"]
    assert hub.queues.by_name["default"].count == 1

    result = run_worker(hub)
    assert result.returncode == 0, result.stderr[-2000:]
    assert hub.queues.by_name["default"].count == 0
    with hub.db.session() as s:
        account = s.get(Account, account_id)
        assert account.last_synced_at is not None and account.status == AccountStatus.ENABLED


def test_a_failing_job_in_the_worker_records_status_and_error_log(hub, client, api_user):
    account_id = client.post("/api/v1/accounts", json={"provider": "testplugin", "email": "ann@corp.test",
                                                       "password": "right"}, headers=api_user).json["id"]
    with hub.db.session() as s:  # the password changed at the provider: the stored one is now wrong
        s.get(Account, account_id).credentials = {"password": "old"}
    client.post(f"/api/v1/accounts/{account_id}/check", headers=api_user)
    result = run_worker(hub)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "old" not in result.stderr  # secrets never reach the logs
    listing = client.get(f"/api/v1/accounts/{account_id}", headers=api_user).json
    assert listing["status"] == "error" and listing["needs_reconnect"] is True
    errors = client.get(f"/api/v1/accounts/{account_id}/errors", headers=api_user).json
    assert errors[0]["error"] == "AuthExpired" and errors[0]["fix"] == "Reconnect the account."


def test_the_same_sync_is_queued_once(hub, client, api_user):
    account_id = client.post("/api/v1/accounts", json={"provider": "testplugin", "email": "ann@corp.test",
                                                       "password": "right"}, headers=api_user).json["id"]
    # connecting enqueued the initial sync; asking again while it waits adds nothing
    first = client.post(f"/api/v1/accounts/{account_id}/sync", headers=api_user).json
    assert first["queued"] is False
    assert hub.queues.by_name["sync"].count == 1


def test_wrong_credentials_at_connect_say_what_to_do(hub, client, api_user):
    response = client.post("/api/v1/accounts", json={"provider": "testplugin", "email": "ann@corp.test",
                                                     "password": "wrong"}, headers=api_user)
    assert response.status_code == 502
    assert response.json["message"] == "Authentication failed. Please try again."
    assert response.json["fix"]
    with hub.db.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Account)) == 0


def test_api_requires_a_valid_token(client):
    assert client.get("/api/v1/accounts").status_code == 401
    assert client.get("/api/v1/accounts", headers={"Authorization": "Bearer nope"}).status_code == 401
