"""Admin → Host CRM and CSV import through HTTP: tokens shown once, endpoints with their log, a CSV file with bad rows."""

from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa

from hub.bcc import log_raw_mail
from hub.events import delivery
from hub.models import Company, Contact, Organization, Role, WebhookEndpoint
from tests.web.conftest import ALICE, add_user, sign_in
from tests.web.mailboxes import raw_mail
from tests.webhook_receiver import Receiver, serve

CSV = (
    "ID,Full name,E-mail,Company ID,Lead\n"
    "c1,Maria Lopez,maria@acme.test,co1,yes\n"
    "c2,Jo,jo@acme.test; jo@home.test,co1,no\n"
    "c3,Bad Address,not-an-address,co1,no\n"
    "c4,No Company,x@y.test,nope,no\n"
    ",No Id,z@y.test,co1,no\n"
    "c5,Maybe,m@y.test,co1,maybe\n"
)


@pytest.fixture
def admin(client, people):
    sign_in(client, "admin@corp.test")
    return client


def test_tokens_are_shown_once_and_revoked_on_the_admin_page(admin, app):
    page = admin.post("/admin/integration/tokens", data={"name": "Prod CRM", "scopes": ["read", "write"]})
    token = re.search(r'<code id="new-token">([^<]+)</code>', page.get_data(as_text=True)).group(1)
    api = app.test_client()
    assert api.get("/api/v1/contacts", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    listing = admin.get("/admin/integration").get_data(as_text=True)
    assert "Prod CRM" in listing and token not in listing and "read, write" in listing
    token_id = re.search(r'data-token="(\d+)"', listing).group(1)
    assert admin.post(f"/admin/integration/tokens/{token_id}/revoke").status_code == 302
    assert "Revoked" in admin.get("/admin/integration").get_data(as_text=True)
    assert api.get("/api/v1/contacts", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_an_endpoint_with_its_delivery_log_disabled_reason_and_resend(admin, hub, people, worker, monkeypatch):
    monkeypatch.setattr(delivery, "RETRY_DELAYS", (0,))
    receiver = Receiver(fail_first=1)
    server, receiver.url = serve(receiver)
    try:
        page = admin.post("/admin/integration/endpoints", data={"url": receiver.url, "allow_private": "on",
                                                                "event_types": ["contact.created"]})
        receiver.secret = re.search(r'<code id="new-secret">([^<]+)</code>', page.get_data(as_text=True)).group(1)
        with hub.db.session() as s:
            endpoint_id = s.scalar(sa.select(WebhookEndpoint.id))
        log_raw_mail(hub, raw_mail("ann@newco.test", ALICE, "Hello")[0], [people["alice"]])
        worker.drain()
        detail = admin.get(f"/admin/integration/endpoints/{endpoint_id}").get_data(as_text=True)
        assert "contact.created" in detail and "delivered" in detail and "HTTP 500" not in detail
        delivery_id = re.search(r'data-delivery="(\d+)"', detail).group(1)
        admin.post(f"/admin/integration/endpoints/{endpoint_id}/deliveries/{delivery_id}/resend")
        worker.drain()
        assert [r.status for r in receiver.requests] == [500, 200, 200]
        assert len({r.event_id for r in receiver.requests}) == 1

        with hub.db.session() as s:
            endpoint = s.get(WebhookEndpoint, endpoint_id)
            endpoint.enabled, endpoint.disabled_reason = False, "Disabled on 2026-12-01: every delivery failed."
        assert "every delivery failed" in admin.get(f"/admin/integration/endpoints/{endpoint_id}").get_data(as_text=True)
        admin.post(f"/admin/integration/endpoints/{endpoint_id}/enabled", data={"enabled": "yes"})
        with hub.db.session() as s:
            assert s.get(WebhookEndpoint, endpoint_id).enabled
    finally:
        server.shutdown()
        server.server_close()


def test_a_csv_import_maps_previews_bad_rows_and_imports_the_rest_in_a_job(admin, hub, worker):
    admin.post("/api/v1/companies", json={"name": "Acme", "external_id": "co1", "domains": ["acme.test"]})
    upload = admin.post("/admin/import", data={"kind": "contacts", "file": (io.BytesIO(CSV.encode()), "crm.csv")},
                        content_type="multipart/form-data")
    assert upload.status_code == 302, upload.get_data(as_text=True)[:500]
    mapping_url = upload.headers["Location"]
    mapping = admin.get(mapping_url).get_data(as_text=True)
    assert '<option value="emails" selected>' in mapping and '<option value="is_lead" selected>' in mapping
    fields = {"column-0": "external_id", "column-1": "name", "column-2": "emails", "column-3": "company_external_id",
              "column-4": "is_lead"}
    preview = admin.post(mapping_url, data=fields).get_data(as_text=True)
    results = dict(re.findall(r'data-row="(\d+)" data-result="(\w+)"', preview))
    assert results == {"2": "created", "3": "created", "4": "error", "5": "error", "6": "error", "7": "error"}
    assert "not-an-address" in preview and "nope" in preview and "external_id is required" in preview
    with hub.db.session() as s:
        assert s.scalar(sa.select(sa.func.count(Contact.id))) == 0  # the preview wrote nothing

    status = admin.post(mapping_url + "/start")
    worker.drain()
    page = admin.get(status.headers["Location"]).get_data(as_text=True)
    assert 'data-finished="yes"' in page and "2 created" in page and "4 error" in page
    with hub.db.session() as s:
        maria = s.scalar(sa.select(Contact).where(Contact.external_id == "c1"))
        assert maria.is_lead and maria.company_id == s.scalar(sa.select(Company.id))
    # the same file again changes nothing
    again = admin.post("/admin/import", data={"kind": "contacts", "file": (io.BytesIO(CSV.encode()), "crm.csv")},
                       content_type="multipart/form-data").headers["Location"]
    admin.post(again, data=fields)
    admin.post(again + "/start")
    worker.drain()
    assert "2 unchanged" in admin.get(again + "/status").get_data(as_text=True)


def test_an_import_belongs_to_its_organization(admin, app, hub):
    upload = admin.post("/admin/import", data={"kind": "companies", "file": (io.BytesIO(b"ID,Name\nx,X\n"), "c.csv")},
                        content_type="multipart/form-data").headers["Location"]
    with hub.db.session() as s:
        other = Organization(name="Other")
        s.add(other)
        s.flush()
        other_id = other.id
    add_user(hub, "boss@other.test", Role.ADMIN, other_id)
    stranger = app.test_client()
    sign_in(stranger, "boss@other.test")
    response = stranger.get(upload)
    assert response.status_code == 400 and "not there" in response.get_data(as_text=True)
    bad = admin.post("/admin/import", data={"kind": "contacts", "file": (io.BytesIO(b"\xff\xfe"), "x.csv")},
                     content_type="multipart/form-data")
    assert bad.status_code == 400 and "UTF-8" in bad.get_data(as_text=True)
