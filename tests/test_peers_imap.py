"""The mail peer fixtures themselves: dovecot, pymap, cyrus and smtp_server behave as the docs promise."""

from __future__ import annotations

import smtplib
import socket
import ssl
from email.message import EmailMessage

import imapclient
import pytest
from imapclient.exceptions import LoginError


def _raw(subject: str) -> bytes:
    return f"From: a@example.org\r\nTo: b@example.org\r\nSubject: {subject}\r\n\r\nbody\r\n".encode()


def test_dovecot_offers_the_modern_extensions(dovecot):
    user = dovecot.add_user()
    with dovecot.client(user) as imap:
        caps = set(imap.capabilities())
        assert {b"CONDSTORE", b"QRESYNC", b"ENABLE", b"IDLE", b"SPECIAL-USE", b"UIDPLUS"} <= caps
        sent = [name for flags, _, name in imap.list_folders() if b"\\Sent" in flags]
        assert sent == ["Sent"]


def test_dovecot_implicit_tls_port(dovecot):
    user = dovecot.add_user()
    with imapclient.IMAPClient(dovecot.host, dovecot.ssl_port, ssl_context=dovecot.ssl_context()) as imap:
        imap.login(user.username, user.password)
        assert imap.select_folder("INBOX")[b"EXISTS"] == 0


@pytest.mark.parametrize("peer_name", ["dovecot", "pymap", "cyrus"])
def test_users_are_separate_and_append_returns_uids(request, peer_name):
    peer = request.getfixturevalue(peer_name)
    alice, bob = peer.add_user(), peer.add_user()  # two users added back to back both work
    first = peer.append(alice, "INBOX", _raw("one"), flags=[b"\\Seen"])
    second = peer.append(alice, "INBOX", _raw("two"))
    assert (first, second) == (1, 2)
    with peer.client(alice) as imap:
        imap.select_folder("INBOX")
        flags = imap.get_flags([1, 2])
        assert b"\\Seen" in flags[1] and b"\\Seen" not in flags[2]
    with peer.client(bob) as imap:
        assert imap.select_folder("INBOX")[b"EXISTS"] == 0
        assert peer.sent_folder in [name for _, _, name in imap.list_folders()]


@pytest.mark.parametrize("peer_name", ["dovecot", "pymap", "cyrus"])
def test_wrong_password_is_refused(request, peer_name):
    peer = request.getfixturevalue(peer_name)
    user = peer.add_user()
    imap = imapclient.IMAPClient(peer.host, peer.port, ssl=False)
    imap.starttls(peer.ssl_context())
    with pytest.raises(LoginError):
        imap.login(user.username, user.password + "x")
    imap.shutdown()


@pytest.mark.parametrize("peer_name", ["dovecot", "pymap", "cyrus"])
def test_expire_uidvalidity(request, peer_name):
    peer = request.getfixturevalue(peer_name)
    user = peer.add_user()
    peer.append(user, "INBOX", _raw("kept"))
    with peer.client(user) as imap:
        before = imap.folder_status("INBOX", [b"UIDVALIDITY"])[b"UIDVALIDITY"]
    peer.expire_uidvalidity(user, "INBOX")
    with peer.client(user) as imap:
        info = imap.select_folder("INBOX")
        assert info[b"UIDVALIDITY"] != before
        assert info[b"EXISTS"] == 1, "the messages stay; only their UIDs are invalid"


def test_cyrus_is_namespaced_munges_8bit_and_idles(cyrus):
    user = cyrus.add_user()
    with cyrus.client(user) as imap:
        assert {b"CONDSTORE", b"QRESYNC", b"IDLE", b"SPECIAL-USE"} <= set(imap.capabilities())
        assert imap.namespace().personal == (("INBOX.", "."),)
        assert [name for flags, _, name in imap.list_folders() if b"\\Sent" in flags] == ["INBOX.Sent"]
        imap.select_folder("INBOX")
        imap.idle()
        cyrus.append(user, "INBOX", b"From: a@example.org\r\nSubject: caf\xc3\xa9\r\n\r\nbody\r\n")
        # idled wakes the IDLE at once; without it imapd would only poll every minute
        assert (1, b"EXISTS") in imap.idle_check(timeout=15)
        imap.idle_done()
        header = imap.fetch([1], ["BODY.PEEK[HEADER.FIELDS (SUBJECT)]"])[1][b"BODY[HEADER.FIELDS (SUBJECT)]"]
        assert header.strip() == b"Subject: cafXX", "munge8bit turns each raw 8-bit byte into X"


def test_cyrus_legacy_sent_folder_has_no_flag(cyrus):
    user = cyrus.add_user(legacy_sent=True)
    with cyrus.client(user) as imap:
        assert b"SPECIAL-USE" in imap.capabilities()
        listing = {name: flags for flags, _, name in imap.list_folders()}
        assert "INBOX.Sent" in listing and b"\\Sent" not in listing["INBOX.Sent"]


def test_cyrus_expire_uidvalidity_keeps_the_sent_flag(cyrus):
    user = cyrus.add_user()
    cyrus.append(user, "INBOX.Sent", _raw("sent"), flags=[b"\\Seen"])
    with cyrus.client(user) as imap:
        before = imap.folder_status("INBOX.Sent", [b"UIDVALIDITY"])[b"UIDVALIDITY"]
    cyrus.expire_uidvalidity(user, "INBOX.Sent")
    with cyrus.client(user) as imap:
        assert [name for flags, _, name in imap.list_folders() if b"\\Sent" in flags] == ["INBOX.Sent"]
        info = imap.select_folder("INBOX.Sent")
        assert info[b"UIDVALIDITY"] != before and info[b"EXISTS"] == 1
        assert b"\\Seen" in next(iter(imap.get_flags(imap.search(["ALL"])).values()))


def test_cyrus_caldav_serves_the_same_users(cyrus):
    import requests

    user = cyrus.add_user()
    home = cyrus.caldav_url(user)
    found = requests.request("PROPFIND", home, auth=(user.username, user.password), headers={"Depth": "1"},
                             timeout=10)
    assert found.status_code == 207
    assert f"/dav/calendars/user/{user.username}/Default/" in found.text
    refused = requests.request("PROPFIND", home, auth=(user.username, "wrong"), headers={"Depth": "0"}, timeout=10)
    assert refused.status_code == 401


def test_pymap_is_plain_imap(pymap):
    user = pymap.add_user()
    with pymap.client(user) as imap:
        caps = set(imap.capabilities())
        assert b"IDLE" in caps
        assert not caps & {b"CONDSTORE", b"QRESYNC", b"ENABLE", b"SPECIAL-USE"}


def test_dovecot_xoauth2(dovecot):
    user = dovecot.add_user()
    token = dovecot.add_token(user)
    with imapclient.IMAPClient(dovecot.host, dovecot.ssl_port, ssl_context=dovecot.ssl_context()) as imap:
        imap.oauth2_login(user.username, token)
        assert imap.select_folder("INBOX")[b"EXISTS"] == 0
    dovecot.revoke_tokens(user)
    with imapclient.IMAPClient(dovecot.host, dovecot.ssl_port, ssl_context=dovecot.ssl_context()) as imap:
        with pytest.raises(LoginError):
            imap.oauth2_login(user.username, token)


def _message(subject: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "alice@example.test", "bob@example.org", subject
    msg.set_content("hello")
    return msg


def test_smtp_server_starttls_auth_and_capture(smtp_server):
    user = smtp_server.add_user("alice", "s3cret")
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=10) as client:
        client.ehlo()
        with pytest.raises(smtplib.SMTPException):
            client.login(user.username, user.password)  # AUTH needs STARTTLS first
        client.starttls(context=smtp_server.ssl_context())
        client.login(user.username, user.password)
        client.send_message(_message("captured"), to_addrs=["bob@example.org", "hidden@example.org"])
    [captured] = smtp_server.messages
    assert captured.mail_from == "alice@example.test"
    assert captured.rcpt_tos == ["bob@example.org", "hidden@example.org"]
    assert captured.login == "alice" and captured.mechanism == "PLAIN"
    assert captured.message()["Subject"] == "captured"


def test_smtp_server_refuses_unknown_users_and_unauthenticated_mail(smtp_server):
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=10) as client:
        client.starttls(context=smtp_server.ssl_context())
        with pytest.raises(smtplib.SMTPAuthenticationError):
            client.login("mallory", "guess")
        with pytest.raises(smtplib.SMTPException):
            client.send_message(_message("spam"))
    assert smtp_server.messages == []


def test_smtp_server_implicit_tls_and_xoauth2(smtp_server):
    token = smtp_server.add_token("carol@example.test")
    raw = f"user=carol@example.test\x01auth=Bearer {token}\x01\x01"
    with smtplib.SMTP_SSL(smtp_server.host, smtp_server.ssl_port, context=smtp_server.ssl_context(),
                          timeout=10) as client:
        client.ehlo()
        code, _ = client.auth("XOAUTH2", lambda challenge=None: raw)
        assert code == 235
        client.send_message(_message("oauth"))
    assert [(m.login, m.mechanism) for m in smtp_server.messages] == [("carol@example.test", "XOAUTH2")]


def test_peers_share_one_certificate(dovecot, smtp_server):
    """One CA in a trust store covers every mail peer (OpenSSL keeps one CA per subject name)."""
    assert dovecot.cert_path == smtp_server.cert_path
    ctx = ssl.create_default_context(cafile=str(dovecot.cert_path))
    with socket.create_connection((smtp_server.host, smtp_server.ssl_port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
            assert tls.recv(3) == b"220"
