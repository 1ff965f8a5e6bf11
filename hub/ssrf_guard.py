"""The SSRF guard: every connection to a host a user typed in goes through here.

A user-entered host (an IMAP server, a CalDAV URL) must never let a person make the hub talk to
its own network — the database, Redis, a cloud metadata endpoint. So before connecting we:

1. allow only the ports mail and calendar servers listen on (:data:`ALLOWED_PORTS`);
2. resolve the host name **once** (``getaddrinfo``) and refuse loopback, private, link-local,
   CGNAT (100.64/10), multicast, reserved, unspecified and other non-global addresses — also
   when they hide inside an IPv6 address (IPv4-mapped ``::ffff:a.b.c.d``, NAT64, 6to4);
3. connect to the address we checked, never to the name again, so a DNS answer that changes
   between check and connect (DNS rebinding) cannot slip through. TLS is then wrapped by the
   caller with ``server_hostname=<the name>``, which keeps SNI and certificate host-name checks.

An administrator can allow private hosts (on-premises servers, tests): ``allow_private=True`` then
accepts every address and every port.

Public API: :func:`checked_addresses`, :func:`checked_address`, :func:`create_connection`,
:func:`refusal_reason`, :func:`connect_error`, :func:`is_loopback_url`, :data:`ALLOWED_PORTS`.

Libraries that open their own sockets are pointed here: imaplib through ``_create_socket`` (see
``hub_imap.connection``), smtplib through ``_get_socket`` (``hub_imap.smtp``).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from hub.exceptions import ConnectFailed, HostNotAllowed

#: Ports a mail or calendar server may listen on: SMTP 25/465/587/2525, IMAP 143/993,
#: POP3S 995, HTTPS 443/8443, CalDAV 5232 (Radicale) and 8008 (Apple's CalDAV over HTTP proxies).
ALLOWED_PORTS = frozenset({25, 143, 443, 465, 587, 993, 995, 2525, 5232, 8008, 8443})

# Ranges Python's ``ipaddress`` flags do not name but that never belong to a public server.
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class CheckedAddress:
    """One resolved address that passed the guard, ready for ``socket.connect``."""

    family: int
    ip: str
    port: int

    @property
    def sockaddr(self) -> tuple:
        return (self.ip, self.port)


def _embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address hidden in an IPv6 one (IPv4-mapped, NAT64, 6to4), if any."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.sixtofour


def refusal_reason(ip: IPAddress) -> str | None:
    """Why ``ip`` may not be reached from a user-entered host name, or ``None`` when it may.

    :param ip: the address to judge; IPv6 addresses carrying an IPv4 address are judged by it.
    """
    inner = _embedded_ipv4(ip)
    if inner is not None:
        return refusal_reason(inner)
    checks = (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("shared (CGNAT)", isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT),
        ("reserved", ip.is_reserved),
        ("private", ip.is_private),
    )
    for reason, hit in checks:
        if hit:
            return reason
    # documentation, benchmarking and other special-purpose ranges: not on the public internet
    if not ip.is_global:
        return "special-purpose"
    return None


def _check_port(host: str, port: int, allow_private: bool, ports: frozenset[int] = ALLOWED_PORTS) -> int:
    try:
        port = int(port)
    except (TypeError, ValueError):
        raise ConnectFailed(f"{port!r} is not a port number.", fix="Enter a port number such as 993.") from None
    if not 0 < port < 65536:
        raise ConnectFailed(f"{port} is not a port number.", fix="Enter a port number such as 993.")
    if not allow_private and port not in ports:
        allowed = ", ".join(str(p) for p in sorted(ports))
        raise HostNotAllowed(
            f"Connecting to {host} on port {port} is not allowed.",
            fix=f"Use the server's standard port ({allowed}). An administrator can allow other "
            "ports by allowing private hosts.",
        )
    return port


def checked_addresses(host: str, port: int, allow_private: bool = False,
                      ports: frozenset[int] = ALLOWED_PORTS) -> list[CheckedAddress]:
    """Resolve ``host`` once and return its addresses, refusing the whole host if any is not public.

    A name that resolves to a public and a private address is refused as a whole: picking the
    public one would still let an attacker who controls the DNS probe internal services.

    :param host: the host name or literal address the user entered.
    :param port: the port the user entered.
    :param allow_private: the administrator allows private hosts and any port.
    :param ports: the ports allowed without ``allow_private`` (HTTP clients pass their own set).
    :raises HostNotAllowed: the port or an address is refused.
    :raises ConnectFailed: the name does not resolve.
    """
    host = (host or "").strip().rstrip(".")
    if not host:
        raise ConnectFailed("No host name was given.", fix="Enter the server's host name, e.g. imap.example.com.")
    port = _check_port(host, port, allow_private, ports)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise ConnectFailed(
            f"The host name {host} could not be found ({exc}).",
            fix="Check the spelling of the host name, e.g. imap.example.com.",
        ) from None
    out: list[CheckedAddress] = []
    for family, _type, _proto, _canon, sockaddr in infos:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        address = str(sockaddr[0])
        literal = address.split("%", 1)[0]  # drop an IPv6 zone id ("fe80::1%eth0")
        ip = ipaddress.ip_address(literal)
        reason = None if allow_private else refusal_reason(ip)
        if reason:
            # never echo the resolved address: the answer would map the internal network for the asker
            what = f"{host} is" if host == literal else f"{host} points to"
            raise HostNotAllowed(f"{what} a {reason} address; the hub does not connect there.")
        checked = CheckedAddress(family, address, port)
        if checked not in out:
            out.append(checked)
    if not out:
        raise ConnectFailed(f"The host name {host} has no usable address.", fix="Check the host name.")
    return out


def checked_address(host: str, port: int, allow_private: bool = False) -> tuple[str, int]:
    """The first address of ``host`` that passed the guard, as ``(ip, port)``.

    :raises HostNotAllowed, ConnectFailed: as :func:`checked_addresses`.
    """
    first = checked_addresses(host, port, allow_private)[0]
    return first.ip, first.port


def create_connection(
    host: str, port: int, timeout: float | None = None, allow_private: bool = False
) -> socket.socket:
    """Open a TCP connection to a checked address of ``host`` (a drop-in for ``socket.create_connection``).

    The caller wraps TLS itself with ``server_hostname=host`` so SNI and certificate checks use
    the name the user entered. ``TCP_NODELAY`` is set: mail protocols are chatty request/response
    exchanges where Nagle's algorithm only adds latency.

    :param timeout: seconds for the connect (and the socket's later operations), ``None`` = block.
    :raises HostNotAllowed: the guard refused the host or the port.
    :raises ConnectFailed: no address accepted the connection (refused, unreachable, timed out).
    """
    addresses = checked_addresses(host, port, allow_private)
    last_error: OSError | None = None
    for address in addresses:
        sock = socket.socket(address.family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.settimeout(timeout)
            sock.connect(address.sockaddr)
            return sock
        except OSError as exc:
            sock.close()
            last_error = exc
    raise connect_error(host, port, last_error)


def connect_error(host: str, port: int, exc: OSError | None) -> ConnectFailed:
    """A ConnectFailed that says in plain words why ``host:port`` could not be reached."""
    if isinstance(exc, socket.timeout):
        return ConnectFailed(
            f"{host} did not answer on port {port} (timed out).",
            fix="Check the host name and port, and that a firewall does not block the port.",
        )
    if isinstance(exc, ConnectionRefusedError):
        return ConnectFailed(
            f"{host} refused the connection on port {port}.",
            fix="Check the port: IMAP uses 993 (SSL/TLS) or 143 (STARTTLS), SMTP 465 (SSL/TLS) or 587 (STARTTLS).",
        )
    detail = f" ({exc.strerror or exc})" if exc is not None else ""
    return ConnectFailed(
        f"Could not reach {host} on port {port}{detail}.",
        fix="Check the host name and port, and that the server is up.",
    )


def is_loopback_url(url: str) -> bool:
    """Whether ``url`` names this machine by a loopback host (``localhost``, 127.0.0.0/8, ``::1``),
    without resolving anything — e.g. the local sandboxes' one exception to https-only push addresses."""
    host = urlsplit(url).hostname or ""
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
