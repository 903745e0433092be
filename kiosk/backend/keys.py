"""The back end's private keys: several at once, so captures sealed before a rotation open."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from nacl.public import PrivateKey

from kiosk.errors import StoreKeyError
from kiosk.store import crypto, payload

CREDENTIAL_PREFIX = "capture"  # LoadCredential=capture-2026-01:/etc/kiosk-backend/keys/...


def _files(paths: Iterable[Path], environ: Mapping[str, str]) -> list[Path]:
    found: list[Path] = []
    for p in paths:
        # a folder holds pairs from `kiosk keys generate` (capture_private.key), maybe one per
        # rotation in subfolders; public keys are never read as private ones
        found += sorted(p.rglob(f"*{crypto.PRIVATE_NAME}")) if p.is_dir() else [p]
    creds = environ.get("CREDENTIALS_DIRECTORY")
    if creds:
        found += sorted(f for f in Path(creds).iterdir() if f.name.startswith(CREDENTIAL_PREFIX))
    return found


def load_keys(paths: Iterable[Path], environ: Mapping[str, str] | None = None
              ) -> dict[str, PrivateKey]:
    """Key id -> private key, from key files, folders and $CREDENTIALS_DIRECTORY."""
    env = os.environ if environ is None else environ
    files = _files(paths, env)
    if not files:
        raise StoreKeyError("no private key: pass --key FILE|DIR (a folder made by `kiosk keys "
                            "generate`), or LoadCredential=capture...: in the unit")
    keys = {}
    for f in files:
        key = crypto.load_private_key(f)
        keys[payload.key_id(key.public_key)] = key
    return keys
