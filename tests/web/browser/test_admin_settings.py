"""Admin → Providers: a value that would break users' accounts is refused before it is saved, with the
problem named next to the field; the CA certificate is entered as a multi-line box or a file, parsed at
save time, and then really used when a user connects (real IMAP/SMTP peers, headless Chromium)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hub.models import Account, ProviderSetting
from tests.web.browser.conftest import shot, sign_in
from tests.web.browser.test_connect_imap import fill_imap_form
from tests.web.conftest import ALICE, PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def hub_load_plugins():
    return "google,imap"


def stored(hub, name: str) -> dict | None:
    with hub.db.session() as s:
        row = s.get(ProviderSetting, name)
        return None if row is None else dict(row.config or {})


@pytest.fixture
def admin(new_page, people):
    page = new_page()
    sign_in(page, "admin@corp.test", PASSWORD)
    page.goto("/admin/providers")
    return page


def save(page, provider: str) -> None:
    page.click(f"section[data-provider={provider}] .config-form button[type=submit]")
    page.wait_for_selector(".flash")


def test_a_blank_required_field_is_refused_and_nothing_is_saved(admin, hub):
    admin.fill("section[data-provider=google] input[name=client_secret]", "s3cret")
    save(admin, "google")
    assert admin.inner_text("[data-error-for=client_id]") == "OAuth client ID is required."
    assert "not saved" in admin.inner_text(".flash.error")
    assert stored(hub, "google") is None
    shot(admin, "26-admin-settings-required")


def test_a_timeout_that_is_not_a_number_is_refused_naming_the_field(admin, hub):
    admin.fill("section[data-provider=google] input[name=client_id]", "my-client")
    admin.fill("section[data-provider=google] input[name=client_secret]", "s3cret")
    admin.fill("section[data-provider=google] input[name=timeout]", "abc")
    admin.fill("section[data-provider=google] input[name=token_url]", "oauth2.example/token")
    save(admin, "google")
    assert admin.inner_text("[data-error-for=timeout]") == "Request timeout (seconds): “abc” is not a number."
    assert "is not a web address" in admin.inner_text("[data-error-for=token_url]")
    # what was entered stays in the form to be corrected
    assert admin.input_value("section[data-provider=google] input[name=client_id]") == "my-client"
    assert stored(hub, "google") is None

    admin.fill("section[data-provider=google] input[name=client_secret]", "s3cret")
    admin.fill("section[data-provider=google] input[name=timeout]", "30")
    admin.fill("section[data-provider=google] input[name=token_url]", "https://oauth2.example/token")
    save(admin, "google")
    admin.wait_for_selector(".flash.success:has-text('Google settings saved.')")
    assert stored(hub, "google") == {"client_id": "my-client", "client_secret": "s3cret", "timeout": "30",
                                     "token_url": "https://oauth2.example/token"}


@pytest.mark.parametrize("damage, problem", [
    (lambda pem: pem.replace("\n", " "), "line breaks were lost"),
    (lambda pem: pem.replace(pem.splitlines()[3], pem.splitlines()[3][::-1]), "the certificate cannot be read"),
    (lambda pem: "/etc/no-such-ca.pem", "cannot be read on the hub's server"),
])
def test_a_ca_certificate_that_does_not_parse_is_refused(admin, hub, imap_ca, damage, problem):
    admin.fill("section[data-provider=imap] textarea[name=ca_certificates]", damage(imap_ca))
    save(admin, "imap")
    assert problem in admin.inner_text("[data-error-for=ca_certificates]")
    assert stored(hub, "imap") is None


@pytest.fixture
def imap_ca(pymap, smtp_server) -> str:
    """The peers' self-signed certificates, as an admin has them in a PEM file."""
    return pymap.cert_path.read_text() + smtp_server.cert_path.read_text()


@pytest.mark.parametrize("how", ["pasted", "uploaded"])
def test_a_ca_certificate_saved_in_the_form_is_the_one_connections_trust(
        admin, new_page, hub, pymap, smtp_server, imap_ca, background_worker, tmp_path, how):
    box = "section[data-provider=imap] textarea[name=ca_certificates]"
    assert admin.get_attribute(box, "rows")  # a multi-line box: pasting keeps the line breaks
    if how == "pasted":
        admin.fill(box, imap_ca)
    else:
        (tmp_path / "company-ca.pem").write_text(imap_ca)
        admin.set_input_files("section[data-provider=imap] input[name=ca_certificates_file]",
                              str(tmp_path / "company-ca.pem"))
    save(admin, "imap")
    admin.wait_for_selector(".flash.success:has-text('IMAP/SMTP settings saved.')")
    assert stored(hub, "imap")["ca_certificates"] == imap_ca.strip() + "\n"
    assert admin.input_value(box).count("-----BEGIN CERTIFICATE-----") == 2
    shot(admin, f"26-admin-settings-ca-{how}")

    user = pymap.add_user()
    smtp_server.add_user(user.username, user.password)
    alice = new_page()
    sign_in(alice, ALICE, PASSWORD)
    alice.click("a[data-provider=imap]")
    fill_imap_form(alice, pymap, smtp_server, user, user.password)
    alice.wait_for_selector(".flash.success:has-text('Account connected.')")
    with hub.db.session() as s:
        assert s.scalar(select(Account.provider)) == "imap"
