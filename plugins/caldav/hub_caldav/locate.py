"""Where an account's CalDAV service starts, from what the person typed (RFC 6764).

In order, the first that applies gives the candidates discovery tries:

1. a server URL (``https://dav.example.com/dav/``) is used as typed; a bare host name gets
   ``https://`` — then the host's ``/.well-known/caldav`` as a second chance;
2. a preset: chosen on the form, or found by the e-mail address's domain (``ana@fastmail.com``);
3. the e-mail domain's DNS: ``_caldavs._tcp`` SRV (target and port) with the path from its TXT
   ``path=`` record, else the target's ``/.well-known/caldav``; ``_caldav._tcp`` (plain HTTP) only
   where the administrator allows private hosts, since passwords never cross the internet in clear;
4. ``https://<domain>/.well-known/caldav``.

DNS lookups use dnspython; an administrator (and the tests) can point them at one name server.
Written by hand because the ``caldav`` library's RFC 6764 support queries the system resolver only
and follows the SRV target without the hub's SSRF guard.

Public API: :func:`start_urls`, :func:`srv_lookup`.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from hub.exceptions import ValidationError

from hub_caldav.presets import Preset, for_domain

log = logging.getLogger(__name__)

WELL_KNOWN = "/.well-known/caldav"
DNS_TIMEOUT = 5.0


def start_urls(server: str, email: str, preset: Preset | None, dns_server: str | None = None,
               https: bool = True) -> tuple[list[str], Preset | None]:
    """The URLs to try discovery at, in order, and the preset that applies (if any).

    :param server: what the person typed as the server (URL, host name, or empty).
    :param email: the account's address; its domain is used when ``server`` is empty.
    :param dns_server: ``host:port`` of the one name server to ask; ``None`` uses the system's.
    :param https: ``False`` (private hosts allowed, tests) makes bare host names ``http://``.
    :raises ValidationError: nothing to start from (no server, no e-mail domain).
    """
    scheme = "https" if https else "http"
    server = server.strip()
    if server:
        if "://" not in server:
            if preset is not None and preset.needs_host:
                return [_scheme(preset.start_url(server.strip("/")), scheme)], preset
            server = f"{scheme}://{server}"
        parts = urlsplit(server)
        urls = [server]
        if parts.path in ("", "/"):
            urls.append(f"{parts.scheme}://{parts.netloc}{WELL_KNOWN}")
        return urls, preset
    if preset is not None and not preset.needs_host:
        return [preset.start_url()], preset
    domain = email.rpartition("@")[2].strip().lower()
    if not domain:
        raise ValidationError("Enter the server's address or your e-mail address.",
                              fix="For example https://dav.example.com/ or ana@example.com.", field="server")
    hosted = for_domain(domain)
    if hosted is not None:
        return [hosted.start_url()], hosted
    urls = []
    for service, service_scheme in (("_caldavs", "https"), ("_caldav", "http")):
        if service_scheme == "http" and https:
            continue
        found = srv_lookup(service, domain, dns_server)
        if found is not None:
            host, port, path = found
            default = 443 if service_scheme == "https" else 80
            origin = f"{service_scheme}://{host}" + ("" if port == default else f":{port}")
            urls.append(origin + (path if path else WELL_KNOWN))
    urls.append(f"{scheme}://{domain}{WELL_KNOWN}")
    return urls, None


def _scheme(url: str, scheme: str) -> str:
    """A self-hosted preset's URL over plain HTTP where private hosts are allowed (on-premises, tests)."""
    return url if scheme == "https" else "http://" + url.split("://", 1)[1]


def srv_lookup(service: str, domain: str, dns_server: str | None = None) -> tuple[str, int, str | None] | None:
    """``(target, port, path)`` from ``<service>._tcp.<domain>`` SRV and TXT records, or ``None``.

    A domain without the records, or a name server that does not answer, gives ``None``: the
    well-known URL is still tried.
    """
    import dns.exception
    import dns.resolver

    resolver = dns.resolver.Resolver(configure=dns_server is None)
    if dns_server:
        host, _, port = dns_server.rpartition(":") if ":" in dns_server else (dns_server, "", "53")
        resolver.nameservers = [host]
        resolver.port = int(port)
    resolver.lifetime = DNS_TIMEOUT
    name = f"{service}._tcp.{domain}"
    try:
        answers = sorted(resolver.resolve(name, "SRV"), key=lambda r: (r.priority, -r.weight))
    except dns.exception.DNSException as exc:
        log.info("no CalDAV SRV record for %s (%s)", domain, type(exc).__name__)
        return None
    if not answers or str(answers[0].target) == ".":  # RFC 2782: "." means no such service here
        return None
    target, port = str(answers[0].target).rstrip("."), int(answers[0].port)
    path = None
    try:
        for record in resolver.resolve(name, "TXT"):
            text = b"".join(record.strings).decode("utf-8", "replace")
            if text.startswith("path="):
                path = text[5:] or None
    except dns.exception.DNSException:
        pass
    return target, port, path
