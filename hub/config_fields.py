"""Values an administrator enters for a provider's settings (:class:`hub.types.ConfigField`), checked
and normalised before they are saved — a bad one is refused with the problem named, so it can never
reach a user's live account and put it into Error.
"""

from __future__ import annotations

import os
import ssl
from urllib.parse import urlsplit

from cryptography import x509

from hub.exceptions import ValidationError
from hub.types import ConfigField

PEM_BEGIN = "-----BEGIN CERTIFICATE-----"


def clean(field: ConfigField, raw: str) -> str:
    """``raw`` as it is stored (``""`` for "not set"), or :class:`ValidationError` naming the problem."""
    value = raw.strip()
    if not value:
        return ""
    check = _CHECKS.get(field.kind)
    return check(field, value) if check else value


def _number(field: ConfigField, value: str) -> str:
    try:
        number = float(value)
    except ValueError:
        raise _invalid(field, f"“{value}” is not a number.") from None
    if not number > 0:
        raise _invalid(field, "must be more than 0.")
    return value


def _integer(field: ConfigField, value: str, low: int = 1, high: int | None = None) -> str:
    if not value.isdigit():
        raise _invalid(field, f"“{value}” is not a whole number.")
    if int(value) < low or (high is not None and int(value) > high):
        raise _invalid(field, f"must be from {low} to {high}." if high else f"must be at least {low}.")
    return str(int(value))


def _port(field: ConfigField, value: str) -> str:
    return _integer(field, value, 1, 65535)


def _url(field: ConfigField, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _invalid(field, f"“{value}” is not a web address (it should look like https://host/…).")
    return value


def _choice(field: ConfigField, value: str) -> str:
    if value.lower() not in field.choices:
        raise _invalid(field, f"“{value}” is not one of {', '.join(field.choices)}.")
    return value.lower()


def _pem(field: ConfigField, value: str) -> str:
    """PEM text (kept with its line breaks normalised) or the path of a readable PEM file."""
    if PEM_BEGIN in value:
        text = value.replace("\r\n", "\n")
        if "\n" not in text.strip():
            raise _invalid(field, "the certificate is on one line: its line breaks were lost on the way. "
                                  "Paste it exactly as it is in the file, or upload the file.")
        _parse_certificates(field, text)
        return text.strip() + "\n"
    if value.startswith("-----BEGIN"):
        raise _invalid(field, "this is not a certificate (it should start with “-----BEGIN CERTIFICATE-----”; "
                              "a private key or a request does not belong here).")
    if not os.path.isabs(value):
        raise _invalid(field, "enter the CA certificate itself (“-----BEGIN CERTIFICATE-----” …), upload its "
                              "file, or give the full path of a PEM file on the hub's server.")
    try:
        with open(value, encoding="ascii", errors="replace") as fh:
            _parse_certificates(field, fh.read())
    except OSError as exc:
        raise _invalid(field, f"the file {value} cannot be read on the hub's server ({exc.strerror}).") from None
    return value


def _parse_certificates(field: ConfigField, text: str) -> None:
    try:
        certificates = x509.load_pem_x509_certificates(text.encode("ascii", errors="replace"))
        ssl.create_default_context().load_verify_locations(cadata=text)
    except (ValueError, ssl.SSLError) as exc:
        raise _invalid(field, f"the certificate cannot be read ({exc}). Paste it exactly as it is in the "
                              "file, from “-----BEGIN CERTIFICATE-----” to “-----END CERTIFICATE-----”.") from None
    if not certificates:
        raise _invalid(field, "no certificate found.")


def _invalid(field: ConfigField, problem: str) -> ValidationError:
    return ValidationError(f"{field.label}: {problem}", field=field.name)


_CHECKS = {"number": _number, "integer": _integer, "port": _port, "url": _url, "choice": _choice, "pem": _pem}
