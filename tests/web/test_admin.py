"""Admin pages: providers (enable/disable, configuration with masked secrets, test), limits, users, health."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hub.models import Account, AccountStatus, Organization, Plan, ProviderSetting, Role, User
from tests.web.conftest import ALICE, connect_memory, sign_in


@pytest.fixture
def admin(app, people):
    client = app.test_client()
    sign_in(client, "admin@corp.test")
    return client


def test_providers_are_listed_with_capabilities(admin):
    html = admin.get("/admin/providers").get_data(as_text=True)
    assert 'data-provider="memory" data-enabled="yes"' in html
    for capability in ("calendar_read", "calendar_write", "free_busy", "mail", "push", "send", "video"):
        assert f'<span class="badge muted-badge">{capability}</span>' in html


def test_disabling_a_provider_removes_it_for_users_and_enabling_restores_it(admin, alice, hub):
    assert 'href="/connect/memory"' in alice.get("/").get_data(as_text=True)
    admin.post("/admin/providers/memory/enabled", data={"enabled": "0"})
    with hub.db.session() as s:
        assert s.get(ProviderSetting, "memory").enabled is False
    assert "memory" in hub.plugins.disabled
    assert 'href="/connect/memory"' not in alice.get("/").get_data(as_text=True)
    refused = alice.post("/connect/memory", data={"email": ALICE, "password": "mailbox-secret"})
    assert "is disabled" in refused.get_data(as_text=True)
    assert 'data-provider="memory" data-enabled="no"' in admin.get("/admin/providers").get_data(as_text=True)
    admin.post("/admin/providers/memory/enabled", data={"enabled": "1"})
    assert 'href="/connect/memory"' in alice.get("/").get_data(as_text=True)


def test_test_connection_of_a_form_provider_explains_there_is_nothing_to_test(admin):
    html = admin.post("/admin/providers/memory/test", follow_redirects=True).get_data(as_text=True)
    assert "own credentials are checked when they connect" in html


class TestWithTheGooglePlugin:
    """The real Google plugin (entry point) against its sandbox: version, config form, masked secret, test."""

    @pytest.fixture
    def hub_load_plugins(self):
        return "google"

    def test_version_and_distribution(self, admin):
        from importlib.metadata import version

        html = admin.get("/admin/providers").get_data(as_text=True)
        assert f"crm-hub-google {version('crm-hub-google')}" in html
        assert "/connect/google/callback" in html  # the redirect URI to register

    def test_the_secret_is_write_only(self, admin, hub):
        admin.post("/admin/providers/google/config", data={"client_id": "my-client", "client_secret": "s3cr3t-value"})
        with hub.db.session() as s:
            assert s.get(ProviderSetting, "google").config["client_secret"] == "s3cr3t-value"
        html = admin.get("/admin/providers").get_data(as_text=True)
        assert "s3cr3t-value" not in html and 'value="my-client"' in html and "(set — leave empty to keep)" in html
        admin.post("/admin/providers/google/config", data={"client_id": "my-client", "client_secret": ""})
        with hub.db.session() as s:
            assert s.get(ProviderSetting, "google").config["client_secret"] == "s3cr3t-value"  # kept
        refused = admin.post("/admin/providers/google/config", data={"client_id": "my-client",
                                                                    "clear_client_secret": "1"})
        assert refused.status_code == 400 and "OAuth client secret is required." in refused.get_data(as_text=True)
        with hub.db.session() as s:
            assert s.get(ProviderSetting, "google").config["client_secret"] == "s3cr3t-value"  # a required one stays

    def test_missing_required_settings_are_named(self, admin):
        answer = admin.post("/admin/providers/google/config", data={})
        assert answer.status_code == 400
        assert "not saved: OAuth client ID is required. OAuth client secret is required." in answer.get_data(as_text=True)

    def test_test_connection_against_the_sandbox(self, admin, google_sandbox):
        config = google_sandbox.provider_config()
        admin.post("/admin/providers/google/config", data=config)
        ok = admin.post("/admin/providers/google/test", follow_redirects=True).get_data(as_text=True)
        assert "the authorization server accepts this client" in ok
        admin.post("/admin/providers/google/config", data={**config, "client_id": "unknown-client"})
        bad = admin.post("/admin/providers/google/test", follow_redirects=True).get_data(as_text=True)
        assert "refused the request (HTTP 401)" in bad

    def test_test_connection_without_a_client_says_what_is_missing(self, admin):
        html = admin.post("/admin/providers/google/test", follow_redirects=True).get_data(as_text=True)
        assert "client id is missing" in html


def test_plans_and_their_daily_caps(admin, hub):
    admin.post("/admin/plans", data={"name": "team", "daily_mail_cap": "5000"})
    admin.post("/admin/plans", data={"name": "free", "daily_mail_cap": "250"})
    admin.post("/admin/plans", data={"name": "unlimited", "daily_mail_cap": ""})
    with hub.db.session() as s:
        caps = {p.name: p.daily_mail_cap for p in s.scalars(select(Plan))}
    assert caps == {"free": 250, "team": 5000, "unlimited": None}
    bad = admin.post("/admin/plans", data={"name": "x", "daily_mail_cap": "lots"})
    assert bad.status_code == 400 and "whole number" in bad.get_data(as_text=True)


def test_raising_the_mailbox_cap_starts_pending_mailboxes(admin, alice, hub, worker, org):
    with hub.db.session() as s:
        s.get(Organization, org).mailbox_cap = 0
    connect_memory(alice, worker)
    with hub.db.session() as s:
        assert s.scalar(select(Account.status)) == AccountStatus.PENDING
    assert "<td>0</td><td>1</td>" in admin.get("/admin/limits").get_data(as_text=True)  # syncing 0, pending 1
    response = admin.post(f"/admin/organizations/{org}/mailbox-cap", data={"mailbox_cap": "5"}, follow_redirects=True)
    assert "1 waiting mailbox started syncing" in response.get_data(as_text=True)
    with hub.db.session() as s:
        assert s.scalar(select(Account.status)) == AccountStatus.ENABLED
    assert hub.queues.by_name["sync"].count == 1  # its sync is queued


def test_every_users_connection_status(admin, alice, worker):
    connect_memory(alice, worker)
    html = admin.get("/admin/users").get_data(as_text=True)
    assert ALICE in html and '<span class="badge enabled">Enabled</span> alice@corp.test' in html
    for role in Role:
        assert f"{role.value}@corp.test" in html


def test_changing_a_role_and_adding_a_user(admin, hub, people, app):
    admin.post(f"/admin/users/{people['alice']}", data={"role": "marketing_manager", "active": "1"})
    with hub.db.session() as s:
        assert s.get(User, people["alice"]).role == Role.MARKETING_MANAGER
    admin.post("/admin/users/new", data={"email": "new@corp.test", "password": "long enough", "role": "sales_manager"})
    client = app.test_client()
    sign_in(client, "new@corp.test", "long enough")
    assert client.get("/meetings/").status_code == 200
    short = admin.post("/admin/users/new", data={"email": "x@corp.test", "password": "short", "role": "salesperson"})
    assert short.status_code == 400


def test_an_admin_cannot_lock_themselves_out(admin, people):
    response = admin.post(f"/admin/users/{people[Role.ADMIN]}", data={"role": "salesperson", "active": "1"})
    assert response.status_code == 400 and "own administrator access" in response.get_data(as_text=True)


def test_queue_and_worker_health(admin, hub, alice):
    alice.post("/api/v1/sync")  # nothing to sync: no accounts
    hub.queues.enqueue("default", "hub.jobs.poll_all")
    html = admin.get("/admin/health").get_data(as_text=True)
    assert '<tr data-queue="default"><td>default</td><td>1</td>' in html
    assert "0 workers alive" in html
    data = admin.get("/admin/health.json").json
    assert data["queues"]["default"]["queued"] == 1 and data["workers_alive"] == 0


def test_health_sees_a_running_worker(admin, hub):
    from rq import Worker

    worker = Worker([hub.queues.by_name["default"]], connection=hub.queues.connection, name="test-worker")
    worker.register_birth()
    worker.heartbeat()
    try:
        data = admin.get("/admin/health.json").json
        assert data["workers_alive"] == 1 and data["workers"][0]["name"] == "test-worker"
    finally:
        worker.register_death()
