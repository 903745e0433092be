"""The sealed capture format: the JPEG and the face-identifying metadata in one sealed box.

A capture file is `MAGIC | key id (8 bytes) | sealed box`, where the box holds
`u32 header length | header JSON | JPEG`. The key id (the first 8 bytes of the public key's
SHA-256) is outside the box so a back end holding several private keys (key rotation) knows
which one opens it. Files written before this format are a bare sealed box of the JPEG
(format 0): the back end tries each of its keys on those.
"""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Mapping
from typing import Any

from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, PublicKey, SealedBox

from kiosk.errors import PayloadError

MAGIC = b"KSC1"
FORMAT = "kiosk-capture/1"
LEGACY_FORMAT = "kiosk-capture/0"
KEY_ID_BYTES = 8
_LEN = struct.Struct(">I")
MAX_HEADER = 1 << 20
ENCRYPTION = "libsodium sealed box (X25519, XSalsa20-Poly1305)"

# Capture metadata that may stay in plaintext (index, sidecar, uploaded JSON): it says nothing
# about the face. Everything else the session measured (box, keypoints, colour, eye and region
# scores, quality) is sealed with the image. An allow-list, so a new field is private by default.
PUBLIC_METADATA = ("session_s", "models")


def key_id(key: PublicKey) -> str:
    return hashlib.sha256(bytes(key)).hexdigest()[:2 * KEY_ID_BYTES]


def split_metadata(metadata: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(public, private) parts of the session's capture metadata."""
    public = {k: v for k, v in metadata.items() if k in PUBLIC_METADATA}
    private = {k: v for k, v in metadata.items() if k not in PUBLIC_METADATA}
    return public, private


def seal(key: PublicKey, header: Mapping[str, Any], jpeg: bytes) -> bytes:
    head = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    box = SealedBox(key).encrypt(_LEN.pack(len(head)) + head + jpeg)
    return MAGIC + bytes.fromhex(key_id(key)) + bytes(box)


def sealed_key_id(data: bytes) -> str | None:
    """The key id a capture was sealed to; None for a format-0 file (no header)."""
    if not data.startswith(MAGIC):
        return None
    if len(data) < len(MAGIC) + KEY_ID_BYTES:
        raise PayloadError("truncated: shorter than the capture header")
    return data[len(MAGIC):len(MAGIC) + KEY_ID_BYTES].hex()


def open_sealed(keys: Mapping[str, PrivateKey], data: bytes) -> tuple[str, dict[str, Any], bytes]:
    """(key id, private header, JPEG) of a capture file; PayloadError says why it cannot open."""
    kid = sealed_key_id(data)
    if kid is None:  # format 0: a bare sealed JPEG, no key id
        for legacy_id, legacy_key in keys.items():
            try:
                return legacy_id, {}, _jpeg(bytes(SealedBox(legacy_key).decrypt(data)))
            except CryptoError:
                continue
        raise PayloadError(f"sealed to another key (format 0; tried {len(keys)} keys)")
    key = keys.get(kid)
    if key is None:
        raise PayloadError(f"sealed to another key: key id {kid} is not among "
                           f"{', '.join(sorted(keys)) or 'no keys'}")
    try:
        plain = bytes(SealedBox(key).decrypt(data[len(MAGIC) + KEY_ID_BYTES:]))
    except CryptoError as e:
        raise PayloadError(f"does not open with key {kid}: corrupted or truncated") from e
    if len(plain) < _LEN.size:
        raise PayloadError("opened, but shorter than its header")
    (n,) = _LEN.unpack_from(plain)
    if n > MAX_HEADER or _LEN.size + n > len(plain):
        raise PayloadError(f"opened, but its header length {n} is impossible")
    try:
        header = json.loads(plain[_LEN.size:_LEN.size + n])
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise PayloadError("opened, but its header is not JSON") from e
    if not isinstance(header, dict):
        raise PayloadError("opened, but its header is not a JSON object")
    return kid, header, _jpeg(plain[_LEN.size + n:])


def _jpeg(data: bytes) -> bytes:
    if not (data.startswith(b"\xff\xd8") and data.rstrip(b"\x00").endswith(b"\xff\xd9")):
        raise PayloadError("opened, but the image is not a complete JPEG")
    return data
