"""Sealed-box encryption: the kiosk's public key seals, only the back end's private key opens."""

from __future__ import annotations

import pytest

from kiosk.errors import StoreError, StoreKeyError
from kiosk.store import crypto

pytestmark = pytest.mark.unit


def test_round_trip_and_wrong_key(tmp_path):
    pub, priv = crypto.generate_keypair(tmp_path / "a")
    _, other = crypto.generate_keypair(tmp_path / "b")
    sealed = crypto.seal(crypto.load_public_key(pub), b"selfie bytes")
    assert b"selfie" not in sealed and len(sealed) == len(b"selfie bytes") + 48
    assert crypto.unseal(crypto.load_private_key(priv), sealed) == b"selfie bytes"
    with pytest.raises(StoreError, match="does not open"):
        crypto.unseal(crypto.load_private_key(other), sealed)


def test_each_seal_is_different(tmp_path):
    pub, _ = crypto.generate_keypair(tmp_path)
    key = crypto.load_public_key(pub)
    assert crypto.seal(key, b"x") != crypto.seal(key, b"x")  # fresh ephemeral key each time


def test_key_files_modes_and_no_silent_overwrite(tmp_path):
    pub, priv = crypto.generate_keypair(tmp_path)
    assert priv.stat().st_mode & 0o777 == 0o600
    assert pub.stat().st_mode & 0o777 == 0o644
    before = priv.read_bytes()
    with pytest.raises(StoreError, match="refusing to overwrite"):
        crypto.generate_keypair(tmp_path)
    assert priv.read_bytes() == before
    crypto.generate_keypair(tmp_path, force=True)
    assert priv.read_bytes() != before


def test_unwritable_key_folder_is_a_store_error(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(StoreError, match="cannot write a key pair"):
        crypto.generate_keypair(tmp_path / "file" / "keys")


def test_private_key_file_is_not_a_public_key_error(tmp_path):
    with pytest.raises(StoreKeyError, match="private key file not found"):
        crypto.load_private_key(tmp_path / "none")
