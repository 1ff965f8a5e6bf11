"""The role × permission matrix, cell by cell, and every page and API route checked against it.

``ROUTES`` has one sample request per route of ``app.url_map``; a new route without a sample (or
without an access declaration) fails :func:`test_every_route_has_a_permission_test`. Each sample is
then requested by a user of every role: roles without the route's permission get 403, the others
get past the check (whatever the view then answers), signed-out users are sent to sign in (pages) or
get 401 (API), and public routes answer everyone.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hub.models import (
    Account,
    Calendar,
    Company,
    Contact,
    ContactAddress,
    MeetingType,
    Organization,
    Role,
)
from hub.permissions import MATRIX, Permission, can, may_read_mail_of
from tests.web.conftest import ALICE, PASSWORD, connect_memory, sign_in
from web.access import PUBLIC, SIGNED_IN

P = Permission
ALL_ROLES = list(Role)

#: the product's rules (docs/product-rules.md#roles), written out independently of hub.permissions
EXPECTED = {
    Role.ADMIN: {P.CONNECT, P.CALENDARS, P.MAIL_SYNC, P.MEETINGS, P.CONTACTS, P.TEAM_MAIL, P.ADMIN},
    Role.COMPANY_MANAGER: {P.CONNECT, P.CALENDARS, P.MAIL_SYNC, P.MEETINGS, P.CONTACTS, P.TEAM_MAIL},
    Role.MARKETING_MANAGER: {P.CONNECT, P.CALENDARS, P.MAIL_SYNC, P.CONTACTS},
    Role.SALES_MANAGER: {P.CONNECT, P.CALENDARS, P.MAIL_SYNC, P.MEETINGS, P.CONTACTS, P.TEAM_MAIL},
    Role.SALESPERSON: {P.CONNECT, P.CALENDARS, P.MAIL_SYNC, P.MEETINGS, P.CONTACTS},
    Role.JUNIOR_SALESPERSON: {P.CONNECT, P.CALENDARS, P.MAIL_SYNC, P.MEETINGS, P.CONTACTS},
}


@pytest.mark.parametrize("role", ALL_ROLES)
@pytest.mark.parametrize("permission", list(Permission))
def test_matrix_cell(role, permission):
    assert can(role, permission) is (permission in EXPECTED[role])


def test_the_matrix_names_every_role():
    assert set(MATRIX) == set(Role)


def test_meetings_for_everyone_but_marketing_managers():
    assert [r for r in Role if not can(r, P.MEETINGS)] == [Role.MARKETING_MANAGER]


def test_mail_sync_for_everyone():
    assert all(can(r, P.MAIL_SYNC) for r in Role)


@pytest.mark.parametrize("role", ALL_ROLES)
def test_own_mail_always_other_mail_only_with_team_mail_and_never_across_organizations(role):
    assert may_read_mail_of(role, 1, 1)
    assert may_read_mail_of(role, 1, 2) is (P.TEAM_MAIL in EXPECTED[role])
    assert not may_read_mail_of(role, 1, 2, same_organization=False)


# --- every route ----------------------------------------------------------------------------------

#: (endpoint, method) → URL template; {placeholders} are filled from the ``ids`` fixture
ROUTES = {
    ("integrations.index", "GET"): "/",
    ("integrations.health", "GET"): "/healthz",
    ("integrations.account_state", "GET"): "/accounts/{account}/state",
    ("auth.login", "GET"): "/login",
    ("auth.login", "POST"): "/login",
    ("auth.logout", "POST"): "/logout",
    ("auth.sign_out_everywhere", "POST"): "/sign-out-everywhere",
    ("connect.start", "POST"): "/connect/memory/start",
    ("connect.callback", "GET"): "/connect/memory/callback",
    ("connect.form", "GET"): "/connect/memory",
    ("connect.form", "POST"): "/connect/memory",
    ("connect.reconnect", "POST"): "/connect/accounts/{account}/reconnect",
    ("connect.disconnect", "POST"): "/connect/accounts/{account}/disconnect",
    ("calendars.index", "GET"): "/calendars/",
    ("calendars.set_default", "POST"): "/calendars/default",
    ("calendars.set_conflicts", "POST"): "/calendars/conflicts",
    ("calendars.preferences", "POST"): "/calendars/{calendar}/preferences",
    ("mail.index", "GET"): "/mail/",
    ("mail.disable", "POST"): "/mail/accounts/{account}/disable",
    ("mail.enable", "POST"): "/mail/accounts/{account}/enable",
    ("mail.sent_folder", "GET"): "/mail/accounts/{account}/sent-folder",
    ("mail.sent_folder", "POST"): "/mail/accounts/{account}/sent-folder",
    ("mail.rotate_bcc", "POST"): "/mail/bcc/rotate",
    ("meetings.index", "GET"): "/meetings/",
    ("meetings.new", "GET"): "/meetings/new",
    ("meetings.new", "POST"): "/meetings/new",
    ("meetings.edit", "GET"): "/meetings/{type}/edit",
    ("meetings.edit", "POST"): "/meetings/{type}/edit",
    ("meetings.set_active", "POST"): "/meetings/{type}/active",
    ("meetings.delete", "POST"): "/meetings/{type}/delete",
    ("meetings.cancel_booking_as_host", "POST"): "/meetings/bookings/999999/cancel",
    ("availability.week", "GET"): "/availability/",
    ("booking.page", "GET"): "/book/{slug}",
    ("booking.page", "POST"): "/book/{slug}",
    ("booking.confirmed", "GET"): "/book/{slug}/confirmed/nope",
    ("booking.confirmed_status", "GET"): "/book/{slug}/confirmed/nope.json",
    ("booking.embed", "GET"): "/book/{slug}/embed",
    ("booking.embed", "POST"): "/book/{slug}/embed",
    ("self_service.reschedule_page", "GET"): "/book/manage/reschedule/nope",
    ("self_service.reschedule_page", "POST"): "/book/manage/reschedule/nope",
    ("self_service.cancel_page", "GET"): "/book/manage/cancel/nope",
    ("self_service.cancel_page", "POST"): "/book/manage/cancel/nope",
    ("contacts.index", "GET"): "/contacts",
    ("contacts.contact", "GET"): "/contacts/{contact}",
    ("contacts.company", "GET"): "/companies/{company}",
    ("settings.index", "GET"): "/settings/",
    ("settings.save", "POST"): "/settings/",
    ("settings.new_token", "POST"): "/settings/token",
    ("admin.providers", "GET"): "/admin/providers",
    ("admin.set_enabled", "POST"): "/admin/providers/memory/enabled",
    ("admin.save_config", "POST"): "/admin/providers/memory/config",
    ("admin.test", "POST"): "/admin/providers/memory/test",
    ("admin.limits", "GET"): "/admin/limits",
    ("admin.save_plan", "POST"): "/admin/plans",
    ("admin.save_mailbox_cap", "POST"): "/admin/organizations/{org}/mailbox-cap",
    ("admin.users", "GET"): "/admin/users",
    ("admin.save_user", "POST"): "/admin/users/{alice}",
    ("admin.create_user", "POST"): "/admin/users/new",
    ("admin.health", "GET"): "/admin/health",
    ("admin.integration", "GET"): "/admin/integration",
    ("admin.create_integration_token", "POST"): "/admin/integration/tokens",
    ("admin.revoke_integration_token", "POST"): "/admin/integration/tokens/1/revoke",
    ("admin.create_endpoint", "POST"): "/admin/integration/endpoints",
    ("admin.endpoint", "GET"): "/admin/integration/endpoints/1",
    ("admin.set_endpoint_enabled", "POST"): "/admin/integration/endpoints/1/enabled",
    ("admin.delete_endpoint", "POST"): "/admin/integration/endpoints/1/delete",
    ("admin.resend_delivery", "POST"): "/admin/integration/endpoints/1/deliveries/1/resend",
    ("admin.csv_import", "GET"): "/admin/import",
    ("admin.csv_import", "POST"): "/admin/import",
    ("admin.import_mapping", "GET"): "/admin/import/nope",
    ("admin.import_mapping", "POST"): "/admin/import/nope",
    ("admin.import_start", "POST"): "/admin/import/nope/start",
    ("admin.import_status", "GET"): "/admin/import/nope/status",
    ("admin.health_json", "GET"): "/admin/health.json",
    ("webhooks.receive", "GET"): "/webhooks/memory/{account}",
    ("webhooks.receive", "POST"): "/webhooks/memory/{account}",
    ("api.openapi", "GET"): "/api/v1/openapi.json",
    ("api.me", "GET"): "/api/v1/me",
    ("api.list_accounts", "GET"): "/api/v1/accounts",
    ("api.create_account", "POST"): "/api/v1/accounts",
    ("api.get_account", "GET"): "/api/v1/accounts/{account}",
    ("api.delete_account", "DELETE"): "/api/v1/accounts/{account}",
    ("api.account_errors", "GET"): "/api/v1/accounts/{account}/errors",
    ("api.sync_status", "GET"): "/api/v1/accounts/{account}/sync-status",
    ("api.sync_account", "POST"): "/api/v1/accounts/{account}/sync",
    ("api.check_account", "POST"): "/api/v1/accounts/{account}/check",
    ("api.sync_all", "POST"): "/api/v1/sync",
    ("api.list_calendars", "GET"): "/api/v1/calendars",
    ("api.update_calendar", "PATCH"): "/api/v1/calendars/{calendar}",
    ("api.list_meetings", "GET"): "/api/v1/meetings",
    ("api.create_meeting", "POST"): "/api/v1/meetings",
    ("api.get_meeting", "GET"): "/api/v1/meetings/1",
    ("api.update_meeting", "PATCH"): "/api/v1/meetings/1",
    ("api.delete_meeting", "DELETE"): "/api/v1/meetings/1",
    ("api.list_meeting_types", "GET"): "/api/v1/meeting-types",
    ("api.create_meeting_type", "POST"): "/api/v1/meeting-types",
    ("api.update_meeting_type", "PATCH"): "/api/v1/meeting-types/{type}",
    ("api.availability", "GET"): "/api/v1/meeting-types/{slug}/availability",
    ("api.create_booking", "POST"): "/api/v1/bookings",
    ("api.get_booking", "GET"): "/api/v1/bookings/999999",
    ("api.reschedule_booking", "POST"): "/api/v1/bookings/999999/reschedule",
    ("api.cancel_booking", "POST"): "/api/v1/bookings/999999/cancel",
    ("api.list_contacts", "GET"): "/api/v1/contacts",
    ("api.get_contact", "GET"): "/api/v1/contacts/{contact}",
    ("api.contact_messages", "GET"): "/api/v1/contacts/{contact}/messages",
    # the host CRM's routes (integration tokens, webhooks, events, records)
    ("api.list_integration_tokens", "GET"): "/api/v1/integration-tokens",
    ("api.create_integration_token", "POST"): "/api/v1/integration-tokens",
    ("api.revoke_integration_token", "DELETE"): "/api/v1/integration-tokens/1",
    ("api.list_webhook_endpoints", "GET"): "/api/v1/webhook-endpoints",
    ("api.create_webhook_endpoint", "POST"): "/api/v1/webhook-endpoints",
    ("api.get_webhook_endpoint", "GET"): "/api/v1/webhook-endpoints/1",
    ("api.update_webhook_endpoint", "PATCH"): "/api/v1/webhook-endpoints/1",
    ("api.delete_webhook_endpoint", "DELETE"): "/api/v1/webhook-endpoints/1",
    ("api.list_webhook_deliveries", "GET"): "/api/v1/webhook-endpoints/1/deliveries",
    ("api.resend_webhook_delivery", "POST"): "/api/v1/webhook-endpoints/1/deliveries/1/resend",
    ("api.list_events", "GET"): "/api/v1/events",
    ("api.list_organizations", "GET"): "/api/v1/organizations",
    ("api.get_organization", "GET"): "/api/v1/organizations/{org}",
    ("api.update_organization", "PATCH"): "/api/v1/organizations/{org}",
    ("api.create_organization", "POST"): "/api/v1/organizations",
    ("api.delete_organization", "DELETE"): "/api/v1/organizations/{org}",
    ("api.list_users", "GET"): "/api/v1/users",
    ("api.get_user", "GET"): "/api/v1/users/{alice}",
    ("api.update_user", "PATCH"): "/api/v1/users/{alice}",
    ("api.create_user", "POST"): "/api/v1/users",
    ("api.delete_user", "DELETE"): "/api/v1/users/{alice}",
    ("api.upsert_user", "PUT"): "/api/v1/users/by-external-id/ext-1",
    ("api.bulk_users", "POST"): "/api/v1/users/bulk",
    ("api.list_companies", "GET"): "/api/v1/companies",
    ("api.get_company", "GET"): "/api/v1/companies/{company}",
    ("api.update_company", "PATCH"): "/api/v1/companies/{company}",
    ("api.create_company", "POST"): "/api/v1/companies",
    ("api.delete_company", "DELETE"): "/api/v1/companies/{company}",
    ("api.upsert_company", "PUT"): "/api/v1/companies/by-external-id/ext-1",
    ("api.bulk_companies", "POST"): "/api/v1/companies/bulk",
    ("api.update_contact", "PATCH"): "/api/v1/contacts/{contact}",
    ("api.create_contact", "POST"): "/api/v1/contacts",
    ("api.delete_contact", "DELETE"): "/api/v1/contacts/{contact}",
    ("api.upsert_contact", "PUT"): "/api/v1/contacts/by-external-id/ext-1",
    ("api.bulk_contacts", "POST"): "/api/v1/contacts/bulk",
    ("api.list_opportunities", "GET"): "/api/v1/opportunities",
    ("api.get_opportunity", "GET"): "/api/v1/opportunities/1",
    ("api.update_opportunity", "PATCH"): "/api/v1/opportunities/1",
    ("api.create_opportunity", "POST"): "/api/v1/opportunities",
    ("api.delete_opportunity", "DELETE"): "/api/v1/opportunities/1",
    ("api.upsert_opportunity", "PUT"): "/api/v1/opportunities/by-external-id/ext-1",
}

#: Flask's own static route is the one route the app does not declare itself
FLASK_BUILTIN = {"static"}


def _rules(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint in FLASK_BUILTIN:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def test_every_route_has_a_permission_test(app):
    missing = [(r.endpoint, m) for r, m in _rules(app) if (r.endpoint, m) not in ROUTES]
    assert not missing, f"routes without a permission test sample: {missing}"
    stale = set(ROUTES) - {(r.endpoint, m) for r, m in _rules(app)}
    assert not stale, f"samples for routes that no longer exist: {stale}"


def test_every_route_declares_its_access(app):
    undeclared = [r.endpoint for r, _m in _rules(app) if not hasattr(app.view_functions[r.endpoint], "access")]
    assert not undeclared


@pytest.fixture
def ids(hub, people, client, worker):
    """Objects the samples point at: Alice's connected account and calendar, a meeting type, a contact."""
    sign_in(client, ALICE)
    connect_memory(client, worker)
    client.post("/logout")
    with hub.db.session() as s:
        account = s.scalar(select(Account))
        calendar = s.scalar(select(Calendar).where(Calendar.account_id == account.id))
        mt = MeetingType(user_id=people["alice"], name="Intro", slug="alice-intro",
                         weekly_hours={"mon": [["09:00", "17:00"]]})
        company = Company(name="Acme")
        contact = Contact(name="Maria", company=company, addresses=[ContactAddress(email="maria@acme.test")])
        s.add_all([mt, company, contact])
        s.flush()
        org = s.scalar(select(Organization.id))
        return {"account": account.id, "calendar": calendar.id, "type": mt.id, "slug": mt.slug,
                "contact": contact.id, "company": company.id, "org": org, "alice": people["alice"]}


def _request(client, method: str, url: str):
    kwargs = {"json": {}} if url.startswith("/api/") and method in ("POST", "PATCH") else {"data": {}}
    return client.open(url, method=method, **kwargs)


def _required(app, endpoint: str):
    return app.view_functions[endpoint].access


def forbidden(response) -> bool:
    """The access layer refused the role (not a view's own 403, like a webhook failing verification)."""
    return response.status_code == 403 and "does not allow" in response.get_data(as_text=True)


def turned_away(response) -> bool:
    """The access layer wanted a signed-in user or a token."""
    return ("/login" in response.headers.get("Location", "")
            or (response.status_code == 401 and "Bearer" in response.headers.get("WWW-Authenticate", "")))


@pytest.mark.parametrize("role", ALL_ROLES)
def test_each_role_gets_exactly_what_its_permissions_allow(app, hub, people, ids, role):
    client = app.test_client()
    sign_in(client, f"{role.value}@corp.test")
    wrong = []
    # GETs first, then changes, so a sample's action (a disconnect, a deleted meeting type) cannot
    # turn a later sample's 403 into something else
    for (endpoint, method), template in sorted(ROUTES.items(), key=lambda kv: (kv[0][1] != "GET", kv[0])):
        if endpoint in ("auth.logout", "auth.sign_out_everywhere"):
            continue  # signing out would end the run; it needs only a signed-in user (checked below)
        access = _required(app, endpoint)
        response = _request(client, method, template.format(**ids))
        if access in (PUBLIC, SIGNED_IN) or can(role, access):
            if forbidden(response) or turned_away(response):
                wrong.append((endpoint, method, response.status_code, "should be allowed"))
        elif not forbidden(response):
            wrong.append((endpoint, method, response.status_code, "should be 403"))
    assert not wrong, wrong


def test_signed_out_users_are_sent_to_sign_in_or_get_401(app, ids):
    client = app.test_client()
    wrong = []
    for (endpoint, method), template in ROUTES.items():
        access = _required(app, endpoint)
        response = _request(client, method, template.format(**ids))
        if access == PUBLIC:
            if forbidden(response) or turned_away(response):
                wrong.append((endpoint, method, response.status_code, "public"))
        elif template.startswith("/api/"):
            if not (response.status_code == 401 and turned_away(response)):
                wrong.append((endpoint, method, response.status_code, "expected 401"))
        elif not (response.status_code == 302 and turned_away(response)):
            wrong.append((endpoint, method, response.status_code, "expected sign-in redirect"))
    assert not wrong, wrong


def test_signing_out_needs_a_signed_in_user(app, people):
    client = app.test_client()
    assert "/login" in client.post("/logout").headers["Location"]
    sign_in(client, ALICE, PASSWORD)
    assert client.post("/logout").status_code == 302
    assert "/login" in client.get("/").headers["Location"]


def test_a_forbidden_page_says_why_without_a_traceback(app, people):
    client = app.test_client()
    sign_in(client, "marketing_manager@corp.test")
    response = client.get("/meetings/")
    assert response.status_code == 403
    text = response.get_data(as_text=True)
    assert "Marketing Manager" in text and "Traceback" not in text
    assert 'href="/meetings/"' not in client.get("/").get_data(as_text=True)  # no menu entry either
