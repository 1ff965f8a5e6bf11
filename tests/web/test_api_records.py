"""The host CRM's API through HTTP: integration tokens and scopes, records CRUD, external ids, bulk upserts.

Each role's access to every route is checked in ``test_permissions.py``; here: what the routes do,
for integration tokens of each scope, administrators, other roles and another organization.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from hub.models import Account, Contact, IntegrationToken, Organization, OrganizationDomain, Plan, Role, User
from tests.web.conftest import add_user
from web.api import hash_token

ADMIN_TOKEN = "admin-user-token"


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def api(app, hub, people):
    with hub.db.session() as s:
        s.get(User, people[Role.ADMIN]).api_token_hash = hash_token(ADMIN_TOKEN)
        s.get(User, people[Role.SALESPERSON]).api_token_hash = hash_token("sales-token")
    return app.test_client()


def make_token(api, *scopes: str, name: str = "CRM") -> str:
    response = api.post("/api/v1/integration-tokens", headers=bearer(ADMIN_TOKEN),
                        json={"name": name, "scopes": list(scopes)})
    assert response.status_code == 201, response.json
    return response.json["token"]


@pytest.fixture
def write(api) -> dict:
    return bearer(make_token(api, "read", "write"))


def test_an_integration_token_is_shown_once_stored_hashed_scoped_revocable_and_shows_last_use(api, hub):
    created = api.post("/api/v1/integration-tokens", headers=bearer(ADMIN_TOKEN),
                       json={"name": "Host CRM", "scopes": ["read"]}).json
    token = created["token"]
    assert token.startswith("hubi_") and created["last_used_at"] is None
    with hub.db.session() as s:
        row = s.get(IntegrationToken, created["id"])
        assert row.token_hash == hash_token(token) and token not in (row.token_hash, row.name)
    listed = api.get("/api/v1/integration-tokens", headers=bearer(ADMIN_TOKEN)).json
    assert [t["name"] for t in listed] == ["Host CRM"] and "token" not in listed[0]

    assert api.get("/api/v1/contacts", headers=bearer(token)).status_code == 200
    assert api.get("/api/v1/integration-tokens", headers=bearer(ADMIN_TOKEN)).json[0]["last_used_at"]
    refused = api.post("/api/v1/contacts", headers=bearer(token), json={"name": "X"})
    assert refused.status_code == 403 and "write" in refused.json["fix"]
    assert api.get("/api/v1/webhook-endpoints", headers=bearer(token)).status_code == 403

    assert api.delete(f"/api/v1/integration-tokens/{created['id']}", headers=bearer(ADMIN_TOKEN)).status_code == 204
    assert api.get("/api/v1/contacts", headers=bearer(token)).status_code == 401
    assert api.get("/api/v1/integration-tokens", headers=bearer(ADMIN_TOKEN)).json[0]["revoked_at"]


def test_only_administrators_make_tokens(api):
    response = api.post("/api/v1/integration-tokens", headers=bearer("sales-token"),
                        json={"name": "Mine", "scopes": ["write"]})
    assert response.status_code == 403
    assert api.post("/api/v1/integration-tokens", headers=bearer(make_token(api, "write")),
                    json={"name": "Mine", "scopes": ["write"]}).status_code == 401


def test_companies_contacts_and_opportunities_crud_with_external_ids(api, write):
    company = api.post("/api/v1/companies", headers=write,
                       json={"name": "Acme", "domains": ["Acme.test"], "external_id": "co-1"})
    assert company.status_code == 201, company.json
    assert company.json["domains"] == ["acme.test"] and company.json["external_id"] == "co-1"
    contact = api.post("/api/v1/contacts", headers=write, json={
        "name": "Maria", "emails": ["Maria@Acme.test", "maria@home.test"], "company_external_id": "co-1",
        "is_lead": True, "external_id": "c-1"})
    assert contact.status_code == 201, contact.json
    assert contact.json["emails"] == ["maria@acme.test", "maria@home.test"]
    assert contact.json["company_id"] == company.json["id"] and contact.json["is_lead"] is True
    opp = api.post("/api/v1/opportunities", headers=write, json={
        "name": "Big deal", "stage": "proposal", "contact_external_ids": ["c-1"], "company_id": company.json["id"]})
    assert opp.status_code == 201 and opp.json["is_open"] and opp.json["closed_at"] is None

    contact_url = f"/api/v1/contacts/{contact.json['id']}"
    patched = api.patch(contact_url, headers=write, json={"emails": ["maria@acme.test"], "is_lead": False})
    assert patched.status_code == 200 and patched.json["emails"] == ["maria@acme.test"]
    assert api.get(contact_url, headers=write).json["is_lead"] is False
    closed = api.patch(f"/api/v1/opportunities/{opp.json['id']}", headers=write, json={"is_open": False}).json
    assert closed["closed_at"] is not None

    duplicate = api.post("/api/v1/contacts", headers=write, json={"name": "Other", "external_id": "c-1"})
    assert duplicate.status_code == 400
    taken = api.post("/api/v1/contacts", headers=write, json={"name": "Other", "emails": ["maria@acme.test"]})
    assert taken.status_code == 400 and taken.json["field"] == "emails"
    unknown = api.post("/api/v1/contacts", headers=write, json={"company_external_id": "nope"})
    assert unknown.status_code == 400 and unknown.json["field"] == "company_external_id"

    assert api.delete(contact_url, headers=write).status_code == 204
    assert api.get(contact_url, headers=write).status_code == 404


def test_put_by_external_id_creates_then_updates_then_changes_nothing(api, write):
    url = "/api/v1/contacts/by-external-id/crm-42"
    first = api.put(url, headers=write, json={"name": "Jo", "emails": ["jo@x.test"]})
    assert first.status_code == 201 and first.headers["X-Upsert-Result"] == "created"
    second = api.put(url, headers=write, json={"name": "Jo Doe"})
    assert second.status_code == 200 and second.headers["X-Upsert-Result"] == "updated"
    assert second.json["id"] == first.json["id"] and second.json["emails"] == ["jo@x.test"]
    third = api.put(url, headers=write, json={"name": "Jo Doe", "emails": ["JO@x.test"]})
    assert third.headers["X-Upsert-Result"] == "unchanged"


def test_lists_filter_and_page_with_a_cursor(api, write):
    for n in range(5):
        api.post("/api/v1/contacts", headers=write, json={"name": f"P{n}", "emails": [f"p{n}@x.test"],
                                                          "is_lead": n % 2 == 0, "external_id": f"p{n}"})
    seen, url = [], "/api/v1/contacts?limit=2"
    while url:
        page = api.get(url, headers=write)
        assert page.status_code == 200
        seen += [c["name"] for c in page.json]
        cursor = page.headers.get("X-Next-Cursor")
        url = f"/api/v1/contacts?limit=2&after={cursor}" if cursor else None
    assert seen == ["P0", "P1", "P2", "P3", "P4"]
    assert [c["name"] for c in api.get("/api/v1/contacts?is_lead=true", headers=write).json] == ["P0", "P2", "P4"]
    assert [c["name"] for c in api.get("/api/v1/contacts?email=P3@x.test", headers=write).json] == ["P3"]
    assert [c["name"] for c in api.get("/api/v1/contacts?external_id=p1", headers=write).json] == ["P1"]
    assert api.get("/api/v1/contacts?limit=0", headers=write).status_code == 400


def test_users_with_aliases_role_zone_and_plan_and_the_organization(api, write, people, hub):
    user = api.post("/api/v1/users", headers=write, json={
        "email": "new@corp.test", "name": "New", "role": "sales_manager", "timezone": "Europe/Berlin",
        "plan": "free", "aliases": ["new@corp-alias.test"], "external_id": "u-1"})
    assert user.status_code == 201, user.json
    assert user.json["role"] == "sales_manager" and user.json["aliases"] == ["new@corp-alias.test"]
    assert user.json["plan"] == "free" and user.json["timezone"] == "Europe/Berlin"
    with hub.db.session() as s:
        s.add(Plan(name="gold", daily_mail_cap=None))
    assert api.patch(f"/api/v1/users/{user.json['id']}", headers=write, json={"plan": "gold"}).json["plan"] == "gold"
    assert api.patch(f"/api/v1/users/{user.json['id']}", headers=write,
                     json={"timezone": "Mars/Base"}).json["field"] == "timezone"
    assert api.get("/api/v1/users?email=new@corp-alias.test", headers=write).json[0]["id"] == user.json["id"]
    taken = api.patch(f"/api/v1/users/{user.json['id']}", headers=write, json={"aliases": ["alice@corp.test"]})
    assert taken.status_code == 400
    assert api.patch(f"/api/v1/users/{user.json['id']}", headers=write,
                     json={"plan": "platinum"}).json["field"] == "plan"
    assert api.delete(f"/api/v1/users/{user.json['id']}", headers=write).status_code == 204
    assert api.get(f"/api/v1/users/{user.json['id']}", headers=write).json["active"] is False

    [org] = api.get("/api/v1/organizations", headers=write).json
    changed = api.patch(f"/api/v1/organizations/{org['id']}", headers=write,
                        json={"domains": ["corp.test", "corp.example"], "free_mail_domains": ["mail.example"]})
    assert changed.status_code == 200
    assert changed.json["domains"] == ["corp.example", "corp.test"]
    assert changed.json["free_mail_domains"] == ["mail.example"]


def test_roles_read_contacts_but_only_administrators_change_them_or_read_users(api, write):
    contact = api.post("/api/v1/contacts", headers=write, json={"name": "Maria"}).json
    sales = bearer("sales-token")
    assert api.get(f"/api/v1/contacts/{contact['id']}", headers=sales).status_code == 200
    assert api.patch(f"/api/v1/contacts/{contact['id']}", headers=sales, json={"name": "M"}).status_code == 403
    assert api.get("/api/v1/users", headers=sales).status_code == 403
    admin = api.patch(f"/api/v1/contacts/{contact['id']}", headers=bearer(ADMIN_TOKEN), json={"name": "M"})
    assert admin.status_code == 200 and admin.json["name"] == "M"


def test_another_organization_sees_and_changes_nothing_of_ours(api, hub, write):
    ours = api.post("/api/v1/contacts", headers=write, json={"name": "Ours", "external_id": "same"}).json
    with hub.db.session() as s:
        other = Organization(name="Other", domains=[OrganizationDomain(domain="other.test")])
        s.add(other)
        s.flush()
        other_id = other.id
    boss = add_user(hub, "boss@other.test", Role.ADMIN, other_id)
    with hub.db.session() as s:
        s.get(User, boss).api_token_hash = hash_token("other-admin")
    theirs = bearer("other-admin")
    assert api.get(f"/api/v1/contacts/{ours['id']}", headers=theirs).status_code == 404
    assert api.patch(f"/api/v1/contacts/{ours['id']}", headers=theirs, json={"name": "x"}).status_code == 404
    assert api.delete(f"/api/v1/contacts/{ours['id']}", headers=theirs).status_code == 404
    assert [c["name"] for c in api.get("/api/v1/contacts", headers=theirs).json] == []
    # the same external id is theirs to use: unique per organization
    mine = api.put("/api/v1/contacts/by-external-id/same", headers=theirs, json={"name": "Theirs"})
    assert mine.status_code == 201 and mine.json["id"] != ours["id"]
    assert api.get("/api/v1/users", headers=theirs).json[0]["email"] == "boss@other.test"
    [org] = api.get("/api/v1/organizations", headers=theirs).json
    assert org["name"] == "Other"


def test_bulk_upsert_reports_each_record_and_the_same_batch_twice_is_unchanged(api, write, hub):
    records = [{"external_id": f"b{n}", "name": f"Bulk {n}", "emails": [f"bulk{n}@x.test"]} for n in range(50)]
    records.append({"external_id": "bad", "name": "Bad", "emails": ["not-an-address"]})
    records.append({"external_id": "dup", "name": "Dup", "emails": ["bulk1@x.test"]})
    first = api.post("/api/v1/contacts/bulk", headers=write, json={"records": records})
    assert first.status_code == 200, first.json
    assert first.json["counts"] == {"created": 50, "updated": 0, "unchanged": 0, "error": 2}
    errors = [r for r in first.json["results"] if r["result"] == "error"]
    assert [(e["index"], e["external_id"], e["field"]) for e in errors] == [(50, "bad", "emails.0"), (51, "dup", "emails")]

    again = api.post("/api/v1/contacts/bulk", headers=write, json={"records": records[:50]})
    assert again.json["counts"] == {"created": 0, "updated": 0, "unchanged": 50, "error": 0}
    records[3]["name"] = "Renamed"
    third = api.post("/api/v1/contacts/bulk", headers=write, json={"records": records[:50]})
    assert third.json["counts"] == {"created": 0, "updated": 1, "unchanged": 49, "error": 0}

    too_many = [{"external_id": str(n)} for n in range(1001)]
    assert api.post("/api/v1/contacts/bulk", headers=write, json={"records": too_many}).status_code == 400
    companies = api.post("/api/v1/companies/bulk", headers=write,
                         json={"records": [{"external_id": "c", "name": "C", "domains": ["c.test"]}]})
    assert companies.json["counts"]["created"] == 1
    users = api.post("/api/v1/users/bulk", headers=write, json={"records": [{"external_id": "u"}]})
    assert users.json["results"][0]["field"] == "email"


def test_docs_api_md_names_every_host_crm_route_and_event_type():
    from pathlib import Path

    from hub.events import EVENT_TYPES
    from web.api.crm_spec import PATHS as CRM_PATHS

    text = (Path(__file__).resolve().parents[2] / "docs" / "api.md").read_text(encoding="utf-8")
    for event_type in EVENT_TYPES:
        assert f"`{event_type}`" in text, event_type
    for path in CRM_PATHS:
        kind = path.split("/")[1]
        shape = path.replace(f"/{kind}", "/{kind}", 1).replace("{company_id}", "{id}").replace(
            "{contact_id}", "{id}").replace("{user_id}", "{id}").replace("{opportunity_id}", "{id}").replace(
            "{organization_id}", "{id}")
        assert path in text or (f"`{kind}`" in text and shape.split("/{id}")[0] in text), path


def test_a_cursor_beyond_any_row_is_an_empty_page_and_a_huge_one_a_400(api, write):
    assert api.get("/api/v1/contacts?after=999999999999999999", headers=write).json == []
    assert api.get("/api/v1/events?after=999999999999999999", headers=write).json["events"] == []
    assert api.get("/api/v1/events?after=10000000000000000000", headers=write).status_code == 400


def test_an_opportunity_has_several_contacts_by_id_or_external_id(api, write):
    maria = api.post("/api/v1/contacts", headers=write, json={"name": "Maria", "external_id": "c-m"}).json
    jo = api.post("/api/v1/contacts", headers=write, json={"name": "Jo", "external_id": "c-j"}).json
    ann = api.post("/api/v1/contacts", headers=write, json={"name": "Ann", "external_id": "c-a"}).json
    opp = api.post("/api/v1/opportunities", headers=write, json={
        "name": "Pilot", "contact_ids": [maria["id"]], "contact_external_ids": ["c-j"]})
    assert opp.status_code == 201, opp.json
    assert opp.json["contact_ids"] == sorted([maria["id"], jo["id"]])
    url = f"/api/v1/opportunities/{opp.json['id']}"
    assert api.get(url, headers=write).json["contact_ids"] == sorted([maria["id"], jo["id"]])
    assert [o["id"] for o in api.get(f"/api/v1/opportunities?contact_id={jo['id']}", headers=write).json] \
        == [opp.json["id"]]

    patched = api.patch(url, headers=write, json={"contact_ids": [ann["id"], jo["id"]]})
    assert patched.status_code == 200 and patched.json["contact_ids"] == sorted([ann["id"], jo["id"]])
    assert api.get(f"/api/v1/opportunities?contact_id={maria['id']}", headers=write).json == []
    unknown = api.patch(url, headers=write, json={"contact_external_ids": ["c-j", "nope"]})
    assert unknown.status_code == 400 and unknown.json["field"] == "contact_external_ids"
    assert api.get(url, headers=write).json["contact_ids"] == sorted([ann["id"], jo["id"]])  # nothing changed

    put = "/api/v1/opportunities/by-external-id/o-1"
    first = api.put(put, headers=write, json={"name": "Deal", "contact_external_ids": ["c-a", "c-m"]})
    assert first.status_code == 201 and first.json["contact_ids"] == sorted([ann["id"], maria["id"]])
    again = api.put(put, headers=write, json={"name": "Deal", "contact_ids": [maria["id"], ann["id"]]})
    assert again.headers["X-Upsert-Result"] == "unchanged"
    cleared = api.put(put, headers=write, json={"contact_ids": []})
    assert cleared.headers["X-Upsert-Result"] == "updated" and cleared.json["contact_ids"] == []

    # a contact deleted leaves its opportunities, without it
    assert api.delete(f"/api/v1/contacts/{jo['id']}", headers=write).status_code == 204
    assert api.get(url, headers=write).json["contact_ids"] == [ann["id"]]


def test_an_opportunity_never_takes_another_organizations_contact(api, hub, write):
    with hub.db.session() as s:
        other = Organization(name="Other")
        s.add(other)
        s.flush()
        other_id = other.id
    boss = add_user(hub, "boss@other.test", Role.ADMIN, other_id)
    with hub.db.session() as s:
        s.get(User, boss).api_token_hash = hash_token("other-admin")
    theirs = api.post("/api/v1/contacts", headers=bearer("other-admin"), json={"name": "Theirs"}).json
    refused = api.post("/api/v1/opportunities", headers=write, json={"name": "X", "contact_ids": [theirs["id"]]})
    assert refused.status_code == 400 and refused.json["field"] == "contact_ids"


def test_an_organization_is_created_with_a_token_for_it_and_shares_nothing(api, write, hub):
    created = api.post("/api/v1/organizations", headers=write, json={
        "name": "Newco", "domains": ["newco.test"], "free_mail_domains": ["mail.newco.test"], "external_id": "t-9"})
    assert created.status_code == 201, created.json
    assert created.json["domains"] == ["newco.test"] and created.json["external_id"] == "t-9"
    theirs = bearer(created.json["token"])
    assert created.json["token"].startswith("hubi_")
    assert [o["name"] for o in api.get("/api/v1/organizations", headers=theirs).json] == ["Newco"]
    assert api.get("/api/v1/contacts", headers=theirs).json == []
    user = api.post("/api/v1/users", headers=theirs, json={"email": "nina@newco.test", "role": "admin"})
    assert user.status_code == 201
    assert api.get("/api/v1/users?email=nina@newco.test", headers=write).json == []
    assert [o["name"] for o in api.get("/api/v1/organizations", headers=write).json] == ["Corp"]
    assert "token" not in api.get(f"/api/v1/organizations/{created.json['id']}", headers=theirs).json
    with hub.db.session() as s:
        token = s.scalar(sa.select(IntegrationToken).where(IntegrationToken.organization_id == created.json["id"]))
        assert sorted(token.scopes) == ["read", "webhooks_admin", "write"]

    assert api.post("/api/v1/organizations", headers=write, json={"name": "Dup", "domains": ["corp.test"]}
                    ).json["field"] == "domains"
    assert api.post("/api/v1/organizations", headers=write, json={"name": "Dup", "external_id": "t-9"}
                    ).json["field"] == "external_id"
    assert api.post("/api/v1/organizations", headers=write, json={"domains": ["x.test"]}).status_code == 400
    read_only = bearer(make_token(api, "read"))
    assert api.post("/api/v1/organizations", headers=read_only, json={"name": "No"}).status_code == 403
    assert api.post("/api/v1/organizations", headers=bearer("sales-token"), json={"name": "No"}).status_code == 403


def test_an_organization_is_deleted_only_when_asked_to_take_its_users_and_their_accounts_are_disconnected(
        api, write, hub, memory, worker):
    created = api.post("/api/v1/organizations", headers=write, json={"name": "Newco", "domains": ["newco.test"]})
    org_id, theirs = created.json["id"], bearer(created.json["token"])
    url = f"/api/v1/organizations/{org_id}"
    assert api.delete(url, headers=write).status_code == 404  # never another organization
    nina = api.post("/api/v1/users", headers=theirs, json={"email": "nina@newco.test"}).json
    api.post("/api/v1/companies", headers=theirs, json={"name": "Their customer", "domains": ["cust.test"]})
    api.post("/api/v1/contacts", headers=theirs, json={"name": "Cy", "emails": ["cy@cust.test"]})
    with hub.db.session() as s:
        s.get(User, nina["id"]).api_token_hash = hash_token("nina-token")
    memory.add_account("nina@newco.test", "nina-secret", "Nina")
    account = api.post("/api/v1/accounts", headers=bearer("nina-token"), json={
        "provider": "memory", "email": "nina@newco.test", "password": "nina-secret"})
    assert account.status_code == 201, account.json
    worker.drain()

    refused = api.delete(url, headers=theirs)
    assert refused.status_code == 409 and "1 user" in refused.json["message"] and "with_users" in refused.json["fix"]
    connected = api.delete(f"{url}?with_users=true", headers=theirs)
    assert connected.status_code == 409 and "1 connected account" in connected.json["message"]
    assert api.get(url, headers=theirs).status_code == 200  # nothing happened
    assert api.delete(f"/api/v1/accounts/{account.json['id']}", headers=bearer("nina-token")).status_code == 204
    worker.drain()

    assert api.delete(f"{url}?with_users=true", headers=theirs).status_code == 204
    assert api.get(url, headers=theirs).status_code == 401  # its tokens went with it
    with hub.db.session() as s:
        assert s.get(Organization, org_id) is None and s.get(User, nina["id"]) is None
        assert s.scalar(sa.select(sa.func.count()).select_from(Account).where(Account.user_id == nina["id"])) == 0
        assert s.scalar(sa.select(sa.func.count()).select_from(Contact).where(Contact.organization_id == org_id)) == 0
    assert [o["name"] for o in api.get("/api/v1/organizations", headers=write).json] == ["Corp"]

    empty = api.post("/api/v1/organizations", headers=write, json={"name": "Empty"}).json
    assert api.delete(f"/api/v1/organizations/{empty['id']}", headers=bearer(empty["token"])).status_code == 204


def test_a_change_of_only_addresses_or_contacts_counts_for_updated_since(api, write):
    contact = api.post("/api/v1/contacts", headers=write, json={"name": "Ed", "emails": ["ed@x.test"]}).json
    opp = api.post("/api/v1/opportunities", headers=write, json={"name": "Deal"}).json
    since = max(contact["updated_at"], opp["updated_at"])
    api.patch(f"/api/v1/contacts/{contact['id']}", headers=write, json={"emails": ["ed@y.test"]})
    api.patch(f"/api/v1/opportunities/{opp['id']}", headers=write, json={"contact_ids": [contact["id"]]})
    query = {"updated_since": since}
    assert [c["id"] for c in api.get("/api/v1/contacts", headers=write, query_string=query).json
            if c["updated_at"] > since] == [contact["id"]]
    assert [o["id"] for o in api.get("/api/v1/opportunities", headers=write, query_string=query).json
            if o["updated_at"] > since] == [opp["id"]]
