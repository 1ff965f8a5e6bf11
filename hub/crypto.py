"""Secrets at rest: AES-256-GCM with key ids and rotation.

A token is ``b"h1." + key id + b"." + base64url(nonce ‖ ciphertext ‖ tag)``. The key id says which
key decrypts it, so several keys can be live at once: the newest encrypts, all decrypt, and
``hub rotate-keys`` re-encrypts every stored secret with the newest key. Keys come from
``HUB_KEYS`` (``id:base64key,id:base64key``, newest first) or from ``<instance>/keys`` which
``hub init`` writes for one-machine installs.

The cryptography library's AESGCM does the cryptography; what is written here is only the envelope
(key id + nonce), which no library offers in this shape.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hub.exceptions import ConfigError

PREFIX = b"h1."


@dataclass(frozen=True, repr=False)
class Key:
    id: str
    secret: bytes

    def __repr__(self) -> str:  # never show key material
        return f"<Key {self.id}>"


def new_key() -> Key:
    """A fresh random 256-bit key with a random id."""
    return Key(id=secrets.token_hex(4), secret=AESGCM.generate_key(bit_length=256))


def parse_keys(spec: str) -> list[Key]:
    """Parse ``id:base64key,id:base64key`` (newest first)."""
    keys = []
    for item in filter(None, (part.strip() for part in spec.split(","))):
        key_id, sep, material = item.partition(":")
        if not sep or not key_id or "." in key_id:
            raise ConfigError("HUB_KEYS is malformed.", fix="Use id:base64key[,id:base64key…].")
        try:
            secret = base64.urlsafe_b64decode(material + "=" * (-len(material) % 4))
        except ValueError as exc:
            raise ConfigError(f"HUB_KEYS key {key_id!r} is not base64.") from exc
        if len(secret) != 32:
            raise ConfigError(f"HUB_KEYS key {key_id!r} must be 32 bytes.")
        keys.append(Key(key_id, secret))
    return keys


def format_keys(keys: list[Key]) -> str:
    return ",".join(f"{k.id}:{base64.urlsafe_b64encode(k.secret).decode().rstrip('=')}" for k in keys)


class KeyRing:
    """The keys in force: ``keys[0]`` encrypts, every key decrypts."""

    def __init__(self, keys: list[Key] | None = None):
        self.keys: list[Key] = list(keys or [])

    def configure(self, keys: list[Key]) -> None:
        if not keys:
            raise ConfigError("No encryption key is configured.", fix="Run `hub init` or set HUB_KEYS.")
        self.keys = list(keys)

    @property
    def current(self) -> Key:
        if not self.keys:
            raise ConfigError("No encryption key is configured.", fix="Run `hub init` or set HUB_KEYS.")
        return self.keys[0]

    def encrypt(self, plaintext: bytes) -> bytes:
        key = self.current
        nonce = os.urandom(12)
        sealed = AESGCM(key.secret).encrypt(nonce, plaintext, key.id.encode())
        return PREFIX + key.id.encode() + b"." + base64.urlsafe_b64encode(nonce + sealed)

    def key_id_of(self, token: bytes) -> str:
        if not token.startswith(PREFIX):
            raise ConfigError("A stored secret is not in the hub's format.")
        return token[len(PREFIX):].split(b".", 1)[0].decode()

    def decrypt(self, token: bytes) -> bytes:
        key_id = self.key_id_of(token)
        key = next((k for k in self.keys if k.id == key_id), None)
        if key is None:
            raise ConfigError(
                f"The key {key_id!r} that encrypted a stored secret is not configured.",
                fix="Add the old key back to HUB_KEYS (after the new one) and run `hub rotate-keys`.",
            )
        blob = base64.urlsafe_b64decode(token.split(b".", 2)[2])
        return AESGCM(key.secret).decrypt(blob[:12], blob[12:], key.id.encode())

    def encrypt_json(self, value: Any) -> bytes:
        return self.encrypt(json.dumps(value, separators=(",", ":")).encode())

    def decrypt_json(self, token: bytes) -> Any:
        return json.loads(self.decrypt(token))


#: the process-wide key ring; ``create_app`` configures it from the settings
keyring = KeyRing()
