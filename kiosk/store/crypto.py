"""Key files for encryption at rest (libsodium X25519 keys via PyNaCl; see payload.py)."""

from __future__ import annotations

import base64
import binascii
import os
from pathlib import Path

from nacl.public import PrivateKey, PublicKey

from kiosk.errors import StoreError, StoreKeyError
from kiosk.store.atomic import fsync_dir

PUBLIC_NAME = "capture_public.key"
PRIVATE_NAME = "capture_private.key"
KEY_BYTES = 32


def _encode(raw: bytes) -> bytes:
    return base64.b64encode(raw) + b"\n"


def _decode(path: Path, what: str) -> bytes:
    try:
        text = path.read_bytes()
    except FileNotFoundError as e:
        raise StoreKeyError(f"{what} key file not found: {path}") from e
    except OSError as e:
        raise StoreKeyError(f"{what} key file {path} cannot be read: {e.strerror}") from e
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as e:
        raise StoreKeyError(f"{what} key file {path} is malformed: not base64") from e
    if len(raw) != KEY_BYTES:
        raise StoreKeyError(
            f"{what} key file {path} is malformed: {len(raw)} bytes, expected {KEY_BYTES}")
    return raw


def load_public_key(path: Path) -> PublicKey:
    return PublicKey(_decode(path, "public"))


def load_private_key(path: Path) -> PrivateKey:
    return PrivateKey(_decode(path, "private"))


def generate_keypair(out_dir: Path, *, force: bool = False) -> tuple[Path, Path]:
    """Write a key pair into `out_dir`: the private key 0600, the public key 0644."""
    pub_path, priv_path = out_dir / PUBLIC_NAME, out_dir / PRIVATE_NAME
    if not force:
        for p in (pub_path, priv_path):
            if p.exists():
                raise StoreError(f"{p} exists; refusing to overwrite a key (use --force)")
    key = PrivateKey.generate()
    try:
        out_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        _write_key(priv_path, bytes(key), 0o600)
        _write_key(pub_path, bytes(key.public_key), 0o644)
        fsync_dir(out_dir)
    except OSError as e:
        raise StoreError(f"cannot write a key pair into {out_dir}: {e.strerror or e}") from e
    return pub_path, priv_path


def _write_key(path: Path, raw: bytes, mode: int) -> None:
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.write(fd, _encode(raw))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(path, mode)  # the umask must not loosen or tighten what the caller asked for
