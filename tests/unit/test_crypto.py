"""Sealed captures: the kiosk's public key seals, only the back end's private key opens."""

from __future__ import annotations

import pytest
from nacl.public import SealedBox

from kiosk.errors import PayloadError, StoreError, StoreKeyError
from kiosk.store import crypto, payload

pytestmark = pytest.mark.unit


JPEG = b"\xff\xd8 selfie bytes \xff\xd9"


def _keys(folder):
    pub, priv = crypto.generate_keypair(folder)
    private = crypto.load_private_key(priv)
    return crypto.load_public_key(pub), {payload.key_id(private.public_key): private}


def test_round_trip_header_and_key_id(tmp_path):
    pub, keys = _keys(tmp_path / "a")
    sealed = payload.seal(pub, {"capture_id": "x", "metadata": {"face": [1, 2]}}, JPEG)
    assert b"selfie" not in sealed and b"face" not in sealed
    assert sealed.startswith(payload.MAGIC) and payload.sealed_key_id(sealed) in keys
    kid, header, jpeg = payload.open_sealed(keys, sealed)
    assert (kid, header, jpeg) == (payload.key_id(pub), {"capture_id": "x",
                                                         "metadata": {"face": [1, 2]}}, JPEG)
    assert payload.seal(pub, {}, JPEG) != payload.seal(pub, {}, JPEG)  # fresh ephemeral key


def test_wrong_key_truncated_and_corrupted_are_named(tmp_path):
    pub, keys = _keys(tmp_path / "a")
    _, other = _keys(tmp_path / "b")
    sealed = payload.seal(pub, {}, JPEG)
    with pytest.raises(PayloadError, match="sealed to another key"):
        payload.open_sealed(other, sealed)
    with pytest.raises(PayloadError, match="corrupted or truncated"):
        payload.open_sealed(keys, sealed[:-10])
    flipped = bytearray(sealed)
    flipped[len(flipped) // 2] ^= 1
    with pytest.raises(PayloadError, match="corrupted or truncated"):
        payload.open_sealed(keys, bytes(flipped))
    with pytest.raises(PayloadError, match="truncated"):
        payload.open_sealed(keys, sealed[:6])
    not_jpeg = payload.seal(pub, {}, b"GIF89a")
    with pytest.raises(PayloadError, match="not a complete JPEG"):
        payload.open_sealed(keys, not_jpeg)


def test_format_0_bare_sealed_jpeg_opens_with_any_known_key(tmp_path):
    pub, keys = _keys(tmp_path / "a")
    _, other = _keys(tmp_path / "b")
    legacy = bytes(SealedBox(pub).encrypt(JPEG))
    assert payload.open_sealed({**other, **keys}, legacy)[2] == JPEG
    with pytest.raises(PayloadError, match="format 0"):
        payload.open_sealed(other, legacy)


def test_metadata_split_keeps_only_the_allow_list_public():
    public, private = payload.split_metadata({"session_s": 3.0, "models": {"a": "1"},
                                              "face": {"box": [1, 2, 3, 4]}, "new_field": 1})
    assert public == {"session_s": 3.0, "models": {"a": "1"}}
    assert private == {"face": {"box": [1, 2, 3, 4]}, "new_field": 1}


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
