"""An administrator imports contacts from a CSV file with bad rows, in headless Chromium."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from hub.models import Contact
from tests.web.browser.conftest import shot, sign_in
from tests.web.conftest import PASSWORD

pytestmark = pytest.mark.browser

CSV = (
    "ID;Full name;E-mail;Lead\n"
    "c1;Maria Lopez;maria@acme.test;yes\n"
    "c2;Jo;jo@acme.test, jo@home.test;no\n"
    "c3;Bad Address;not-an-address;no\n"
    ";No Id;z@y.test;no\n"
    "c4;Maria Again;maria@acme.test;no\n"
)


def test_csv_import_with_bad_rows(page, hub, people, background_worker, tmp_path):
    path = tmp_path / "contacts.csv"
    path.write_text(CSV, encoding="utf-8")
    sign_in(page, "admin@corp.test", PASSWORD)
    page.click("nav a:has-text('Admin')")
    page.click("a:has-text('CSV import')")
    page.select_option("select[name=kind]", "contacts")
    page.set_input_files("input[type=file]", str(path))
    page.click("button:has-text('Upload')")
    page.wait_for_selector("h2:has-text('Which column is which? (5 contacts)')")
    assert page.input_value("select[aria-label='Field for E-mail']") == "emails"
    assert page.input_value("select[aria-label='Field for ID']") == "external_id"
    page.click("button:has-text('Preview')")
    page.wait_for_selector("#preview-summary")
    shot(page, "30-admin-csv-preview")
    results = {row.get_attribute("data-row"): row.get_attribute("data-result")
               for row in page.query_selector_all("tr[data-row]")}
    assert results == {"2": "created", "3": "created", "4": "error", "5": "error", "6": "error"}
    assert "already belongs to another record" in page.inner_text("tr[data-row='6']")
    assert "2 rows ready, 3 with errors" in page.inner_text("#preview-summary")

    page.click("button[data-action=start-import]")
    page.wait_for_selector("#import-status[data-finished=yes]")
    shot(page, "31-admin-csv-imported")
    assert page.get_attribute("progress", "value") == "5" and page.get_attribute("progress", "max") == "5"
    assert "2 created" in page.inner_text("#import-status") and "3 error" in page.inner_text("#import-status")
    assert "not-an-address" in page.inner_text("#import-errors")
    with hub.db.session() as s:
        assert sorted(s.scalars(sa.select(Contact.external_id))) == ["c1", "c2"]
