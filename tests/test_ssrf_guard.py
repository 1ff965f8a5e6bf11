"""hub.ssrf_guard, the SSRF guard: which addresses and ports are refused, and that we connect where we checked."""

from __future__ import annotations

import socket
import ssl
import threading
from pathlib import Path

import pytest

from hub import ssrf_guard
from hub.exceptions import ConnectFailed, HostNotAllowed
from hub.testing.peers.base import free_port, self_signed_cert

REFUSED = {
    "127.0.0.1": "loopback",
    "127.8.9.10": "loopback",
    "10.1.2.3": "private",
    "172.16.5.4": "private",
    "192.168.1.20": "private",
    "169.254.169.254": "link-local",  # cloud metadata endpoints live here
    "100.64.0.1": "shared (CGNAT)",
    "100.127.255.254": "shared (CGNAT)",
    "224.0.0.1": "multicast",
    "240.0.0.1": "reserved",
    "0.0.0.0": "unspecified",
    "::1": "loopback",
    "::": "unspecified",
    "fe80::1": "link-local",
    "fc00::1": "private",
    "ff02::1": "multicast",
}


@pytest.mark.parametrize("ip, reason", sorted(REFUSED.items()))
def test_refused_ranges(ip, reason):
    with pytest.raises(HostNotAllowed) as caught:
        ssrf_guard.checked_address(ip, 993)
    assert reason in caught.value.message
    assert caught.value.fix and "private hosts" in caught.value.fix


@pytest.mark.parametrize("ip", ["::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254",
                                "64:ff9b::a00:1", "2002:7f00:1::1"])
def test_ipv4_inside_ipv6_is_unwrapped(ip):
    with pytest.raises(HostNotAllowed):
        ssrf_guard.checked_address(ip, 993)


def test_documentation_ranges_are_refused():
    for ip in ("192.0.2.1", "198.51.100.7", "203.0.113.9", "198.18.0.1"):
        assert ssrf_guard.refusal_reason(__import__("ipaddress").ip_address(ip)) is not None


@pytest.mark.parametrize("ip", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_pass(ip):
    checked_ip, port = ssrf_guard.checked_address(ip, 993)
    assert port == 993
    assert checked_ip == ip


@pytest.mark.parametrize("port", [993, 143, 465, 587, 25, 2525, 443, 8443, 5232])
def test_standard_ports_pass(port):
    assert ssrf_guard.checked_address("8.8.8.8", port) == ("8.8.8.8", port)


@pytest.mark.parametrize("port", [22, 80, 3306, 5432, 6379, 11211, 8080])
def test_other_ports_are_refused(port):
    with pytest.raises(HostNotAllowed) as caught:
        ssrf_guard.checked_address("8.8.8.8", port)
    assert str(port) in caught.value.message


@pytest.mark.parametrize("port", [0, 70000, "abc", None])
def test_nonsense_ports(port):
    with pytest.raises(ConnectFailed) as caught:
        ssrf_guard.checked_address("8.8.8.8", port, allow_private=True)
    assert type(caught.value) is ConnectFailed


def test_allow_private_accepts_private_addresses_and_any_port():
    assert ssrf_guard.checked_address("127.0.0.1", 6379, allow_private=True) == ("127.0.0.1", 6379)
    assert ssrf_guard.checked_address("10.0.0.5", 12345, allow_private=True) == ("10.0.0.5", 12345)


def test_names_are_resolved_and_checked():
    # "localhost" resolves (from /etc/hosts) to a loopback address: refused by name too
    with pytest.raises(HostNotAllowed) as caught:
        ssrf_guard.checked_address("localhost", 993)
    assert "localhost points to a loopback address" in caught.value.message
    assert "127.0.0.1" not in caught.value.message and "::1" not in caught.value.message


def test_unknown_host_is_connect_failed():
    with pytest.raises(ConnectFailed) as caught:
        ssrf_guard.checked_address("no-such-host.invalid", 993)
    assert type(caught.value) is ConnectFailed
    assert "could not be found" in caught.value.message


def test_empty_host():
    with pytest.raises(ConnectFailed):
        ssrf_guard.checked_address("  ", 993)


@pytest.fixture
def listener():
    """A TCP server on loopback that records the peer address of each connection."""
    server = socket.create_server(("127.0.0.1", 0))
    seen: list[tuple] = []

    def accept():
        while True:
            try:
                conn, addr = server.accept()
            except OSError:
                return
            seen.append(addr)
            conn.close()

    threading.Thread(target=accept, daemon=True).start()
    yield server.getsockname()[1], seen
    server.close()


def test_connects_to_the_checked_address_without_a_second_lookup(listener, monkeypatch):
    port, seen = listener
    answers = iter(["127.0.0.1", "127.0.0.2"])  # a rebinding DNS: a different answer the second time
    lookups = []
    real = socket.getaddrinfo

    def rebinding(host, *args, **kwargs):
        lookups.append(host)
        return real(next(answers), *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    sock = ssrf_guard.create_connection("mail.example.test", port, timeout=5, allow_private=True)
    try:
        assert sock.getpeername() == ("127.0.0.1", port)
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    finally:
        sock.close()
    assert lookups == ["mail.example.test"], "the name is resolved exactly once"


def test_rebinding_to_a_private_address_is_refused(monkeypatch):
    real = socket.getaddrinfo
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, *a, **k: real("10.0.0.7", *a, **k))
    with pytest.raises(HostNotAllowed) as caught:
        ssrf_guard.create_connection("innocent.example.test", 993, timeout=5)
    assert "points to a private address" in caught.value.message and "10.0.0.7" not in caught.value.message


def test_mixed_answers_refuse_the_whole_host(monkeypatch):
    real = socket.getaddrinfo
    monkeypatch.setattr(socket, "getaddrinfo",
                        lambda host, *a, **k: real("8.8.8.8", *a, **k) + real("127.0.0.1", *a, **k))
    with pytest.raises(HostNotAllowed):
        ssrf_guard.checked_addresses("both.example.test", 993)


def test_refused_port_gives_connect_failed_with_a_fix():
    port = free_port()  # nothing listens there
    with pytest.raises(ConnectFailed) as caught:
        ssrf_guard.create_connection("127.0.0.1", port, timeout=5, allow_private=True)
    assert type(caught.value) is ConnectFailed
    assert "refused" in caught.value.message and caught.value.fix


def test_tls_over_the_guarded_socket_keeps_hostname_verification(tmp_path: Path):
    cert, key = self_signed_cert(tmp_path)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def serve():
        for _ in range(2):
            try:
                conn, _ = server.accept()
                with server_ctx.wrap_socket(conn, server_side=True) as tls:
                    tls.sendall(b"hello")
            except (OSError, ssl.SSLError):
                pass

    threading.Thread(target=serve, daemon=True).start()
    client_ctx = ssl.create_default_context(cafile=str(cert))
    try:
        raw = ssrf_guard.create_connection("localhost", port, timeout=5, allow_private=True)
        with client_ctx.wrap_socket(raw, server_hostname="localhost") as tls:
            assert tls.recv(5) == b"hello"
            assert tls.server_hostname == "localhost"
        # the certificate is for localhost/127.0.0.1 only: another name must fail verification
        raw = ssrf_guard.create_connection("127.0.0.1", port, timeout=5, allow_private=True)
        with pytest.raises(ssl.SSLCertVerificationError):
            client_ctx.wrap_socket(raw, server_hostname="mail.example.test")
        raw.close()
    finally:
        server.close()
