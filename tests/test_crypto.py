"""Secrets at rest: AES-GCM with key ids, rotation, and nothing readable in the database."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from cryptography.exceptions import InvalidTag

from hub import crypto
from hub.exceptions import ConfigError
from hub.key_rotation import reencrypt_all
from hub.models import Account, ProviderSetting


def test_round_trip_and_key_id_in_token():
    ring = crypto.KeyRing([crypto.new_key()])
    token = ring.encrypt(b"hunter2")
    assert ring.decrypt(token) == b"hunter2"
    assert ring.key_id_of(token) == ring.current.id
    assert b"hunter2" not in token


def test_tampering_is_detected():
    ring = crypto.KeyRing([crypto.new_key()])
    token = bytearray(ring.encrypt(b"hunter2"))
    token[-3] ^= 1
    with pytest.raises((InvalidTag, ValueError)):
        ring.decrypt(bytes(token))


def test_newest_key_encrypts_and_every_key_decrypts():
    old, new = crypto.new_key(), crypto.new_key()
    old_token = crypto.KeyRing([old]).encrypt(b"x")
    ring = crypto.KeyRing([new, old])
    assert ring.decrypt(old_token) == b"x"
    assert ring.key_id_of(ring.encrypt(b"y")) == new.id


def test_unknown_key_id_says_how_to_fix():
    token = crypto.KeyRing([crypto.new_key()]).encrypt(b"x")
    with pytest.raises(ConfigError) as err:
        crypto.KeyRing([crypto.new_key()]).decrypt(token)
    assert "HUB_KEYS" in err.value.fix


def test_keys_parse_and_format_round_trip():
    keys = [crypto.new_key(), crypto.new_key()]
    assert [k.id for k in crypto.parse_keys(crypto.format_keys(keys))] == [k.id for k in keys]
    assert "secret" not in repr(keys[0]) and keys[0].secret.hex() not in repr(keys[0])
    with pytest.raises(ConfigError):
        crypto.parse_keys("nocolon")
    with pytest.raises(ConfigError):
        crypto.parse_keys("k1:c2hvcnQ")  # 5 bytes, not 32


def test_credentials_are_not_plaintext_in_the_database(hub, make_user, tmp_path):
    uid = make_user("ann@corp.test")
    with hub.db.session() as s:
        s.add(Account(user_id=uid, provider="imap", email="ann@corp.test",
                      credentials={"password": "correct-horse-battery-staple"}))
    with hub.db.engine.connect() as conn:
        raw = bytes(conn.execute(sa.text("SELECT credentials FROM accounts")).scalar_one())
    assert b"correct-horse" not in raw and raw.startswith(crypto.PREFIX)
    if hub.db.is_sqlite:  # the file itself, WAL included, holds no plaintext
        db_file = hub.db.engine.url.database
        hub.db.dispose()
        for path in (db_file, db_file + "-wal"):
            try:
                assert b"correct-horse" not in open(path, "rb").read()
            except FileNotFoundError:
                pass
    with hub.db.session() as s:
        assert s.scalars(sa.select(Account)).one().credentials == {"password": "correct-horse-battery-staple"}


def test_account_repr_and_handle_repr_hide_credentials(hub, make_user):
    uid = make_user("ann@corp.test")
    with hub.db.session() as s:
        acc = Account(user_id=uid, provider="imap", email="ann@corp.test", credentials={"password": "pw-123456"})
        s.add(acc)
        s.flush()
        acc_id = acc.id
        assert "pw-123456" not in repr(acc)
    assert "pw-123456" not in repr(hub.account_handle(acc_id))


def test_rotation_reencrypts_every_encrypted_column(hub, make_user):
    uid = make_user("ann@corp.test")
    with hub.db.session() as s:
        s.add(Account(user_id=uid, provider="imap", email="ann@corp.test", credentials={"password": "a"}))
        s.add(ProviderSetting(name="google", config={"client_secret": "b"}))
    old_ids = set(k.id for k in crypto.keyring.keys)
    new = crypto.new_key()
    crypto.keyring.configure([new] + crypto.keyring.keys)
    counts = reencrypt_all(hub)
    assert counts["accounts.credentials"] == 1 and counts["provider_settings.config"] == 1
    crypto.keyring.configure([new])  # old keys gone: everything must still decrypt
    with hub.db.session() as s:
        assert s.scalars(sa.select(Account)).one().credentials == {"password": "a"}
        assert s.get(ProviderSetting, "google").config == {"client_secret": "b"}
    assert reencrypt_all(hub)["accounts.credentials"] == 0  # nothing left to do
    assert new.id not in old_ids
