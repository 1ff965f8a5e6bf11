"""Connecting a CalDAV account: URL, host name or e-mail address (RFC 6764), auth schemes, presets,
and errors that name the server actually used."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from hub.exceptions import AuthenticationFailed, ConnectFailed, ValidationError

from hub_caldav import locate, presets
from hub_caldav.testing import CyrusCalDAV, connect


def test_url_user_and_password_are_enough_and_no_mail_is_asked(hooks, radicale, radicale_user):
    account = connect(hooks, radicale_user, server=radicale.url, email="", username=radicale_user.name)
    assert account.email == radicale_user.name  # the user name stands in for the missing address
    assert set(account.credentials) == {"password"}
    calendars = hooks.hub_list_calendars(account=account)
    assert [(c.name, c.is_primary, c.access_role) for c in calendars] == [("Home", True, "owner")], \
        "the VTODO-only task list is left out"


def test_bare_host_name(hooks, radicale, radicale_user):
    host = radicale.url.split("://", 1)[1].rstrip("/")  # 127.0.0.1:<port>
    account = connect(hooks, radicale_user, server=host)
    assert account.settings["calendar_home_url"] == f"{radicale.url}{quote(radicale_user.name)}/"


def test_email_address_only_through_dns_srv_and_txt(hooks, radicale, radicale_user, dns_zone):
    front = radicale.front()  # counts the requests
    dns_zone.records(f"_caldav._tcp.example.test. 60 IN SRV 0 1 {front.port} localhost.\n"
                     '_caldav._tcp.example.test. 60 IN TXT "path=/"\n')
    account = connect(hooks, radicale_user, server="", email="ana@example.test", username=radicale_user.name,
                      config={"dns_server": dns_zone.address})
    assert account.email == "ana@example.test"
    assert account.settings["calendar_home_url"] == f"http://localhost:{front.port}/{quote(radicale_user.name)}/"
    assert front.requests and not any(".well-known" in r for r in front.requests)
    assert [c.name for c in hooks.hub_list_calendars(account=account)] == ["Home"]


def test_email_address_only_through_srv_then_well_known_redirect(hooks, radicale, radicale_user, dns_zone):
    front = radicale.front()
    dns_zone.records(f"_caldav._tcp.example.test. 60 IN SRV 0 1 {front.port} localhost.\n")
    account = connect(hooks, radicale_user, server="", email="ana@example.test", username=radicale_user.name,
                      config={"dns_server": dns_zone.address})
    assert any(r.startswith("PROPFIND /.well-known/caldav") for r in front.requests), \
        "without a TXT path the well-known URL is asked first (Radicale redirects it to its root)"
    assert account.settings["principal_url"].endswith(f"/{quote(radicale_user.name)}/")


def test_email_domain_without_dns_records_falls_back_to_well_known(dns_zone):
    dns_zone.records("other.test. 60 IN A 127.0.0.1\n")
    urls, preset = locate.start_urls("", "ana@example.test", None, dns_zone.address, https=True)
    assert urls == ["https://example.test/.well-known/caldav"] and preset is None


def test_plain_http_srv_records_are_ignored_when_private_hosts_are_not_allowed(dns_zone):
    dns_zone.records("_caldav._tcp.example.test. 60 IN SRV 0 1 80 dav.example.test.\n"
                     "_caldavs._tcp.example.test. 60 IN SRV 0 1 8443 dav.example.test.\n"
                     '_caldavs._tcp.example.test. 60 IN TXT "path=/dav/"\n')
    urls, _ = locate.start_urls("", "ana@example.test", None, dns_zone.address, https=True)
    assert urls == ["https://dav.example.test:8443/dav/", "https://example.test/.well-known/caldav"]


@pytest.mark.parametrize("address,preset", [("ana@fastmail.com", "fastmail"), ("ana@ICLOUD.com", "icloud"),
                                            ("ana@posteo.de", "posteo"), ("ana@mailbox.org", "mailbox.org")])
def test_hosted_domains_use_their_preset_without_dns(address, preset):
    urls, found = locate.start_urls("", address, None, dns_server="127.0.0.1:9", https=True)
    assert found.name == preset and urls == [presets.by_name(preset).url]


def test_self_hosted_preset_takes_the_host(hooks, radicale, radicale_user):
    host = radicale.url.split("://", 1)[1].rstrip("/")
    account = connect(hooks, radicale_user, server=host, preset="radicale")
    assert account.settings["preset"] == "radicale"
    with pytest.raises(ValidationError) as caught:
        connect(hooks, radicale_user, server="", preset="nextcloud")
    assert caught.value.field == "server" and "Nextcloud" in caught.value.message


def test_digest_login(hooks, xandikos):
    user = xandikos.add_user(auth="digest")
    for auth in ("", "digest"):  # from the server's challenge, or chosen
        account = connect(hooks, user, server=user.url, auth=auth)
        assert [c.remote_id for c in hooks.hub_list_calendars(account=account)] == ["/user/calendars/calendar/"]
    with pytest.raises(AuthenticationFailed):
        connect(hooks, user, server=user.url, auth="basic")


def test_refused_password_names_the_server_not_apple(hooks, radicale, radicale_user):
    with pytest.raises(AuthenticationFailed) as caught:
        connect(hooks, radicale_user, server=radicale.url, password="wrong")
    assert "127.0.0.1" in caught.value.message
    assert "iCloud" not in caught.value.message + caught.value.fix
    assert "Apple" not in caught.value.message + caught.value.fix


def test_icloud_preset_keeps_apple_hints_but_names_the_server(hooks, radicale, radicale_user):
    with pytest.raises(AuthenticationFailed) as caught:
        connect(hooks, radicale_user, server=radicale.url, preset="icloud", password="aaaa-bbbb-cccc-dddd")
    assert "127.0.0.1" in caught.value.message and "app-specific password" in caught.value.message
    assert "appleid.apple.com" in caught.value.fix


def test_a_root_that_answers_without_a_login_still_gets_the_password_checked(hooks, cyrus):
    """Cyrus answers PROPFIND on /dav/ without credentials, naming the principal ``DAV:unauthenticated``
    (RFC 5397 §3) instead of asking for a login: the plugin logs in anyway, so a wrong password is
    refused rather than "connected" to nobody's calendars."""
    peer = CyrusCalDAV(cyrus)
    user = peer.add_user()
    with pytest.raises(AuthenticationFailed) as caught:
        connect(hooks, user, server=peer.url, password="not-the-password")
    assert "127.0.0.1" in caught.value.message

    result = connect(hooks, user, server=peer.url)
    assert result.settings["principal_url"].endswith(f"/dav/principals/user/{user.name}/")
    assert result.settings["calendar_home_url"].endswith(f"/dav/calendars/user/{user.name}/")
    assert result.settings["auth"] == "basic"


def test_a_user_name_that_is_not_an_address_takes_the_principals_calendar_address(hooks, cyrus):
    """The account's address is what invitations name the user by: with a bare user name, the first
    ``mailto:`` of the principal's ``calendar-user-address-set`` (RFC 6638 §2.4.1)."""
    peer = CyrusCalDAV(cyrus)
    user = peer.add_user()
    assert "@" not in user.name
    result = connect(hooks, user, server=peer.url, email="", username=user.name)
    assert result.email == f"{user.name}@internal"  # Cyrus without a default domain
    assert result.settings["username"] == user.name


def test_no_caldav_server_where_discovery_looks(hooks, radicale_user, smtp_like_port):
    with pytest.raises(ConnectFailed) as caught:
        connect(hooks, radicale_user, server=f"http://127.0.0.1:{smtp_like_port}/")
    assert f"127.0.0.1:{smtp_like_port}" in caught.value.message


def test_nothing_to_start_from(hooks, radicale_user):
    with pytest.raises(ValidationError):
        connect(hooks, radicale_user, server="", email="", username="someone")


@pytest.fixture
def smtp_like_port():
    """A loopback port where an HTTP server answers 404 to everything (no CalDAV there)."""
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    class NotFound(BaseHTTPRequestHandler):
        def do_PROPFIND(self):
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), NotFound)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()
