"""Test helpers for the capture store: a key pair, a store in a temp dir, the crash invariant."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from kiosk import config
from kiosk.store import CaptureStore, crypto, payload
from kiosk.store.atomic import TMP_PREFIX
from kiosk.store.index import PENDING

# Smooth colour ramps survive JPEG closely, so a round trip can be compared pixel by pixel.
_Y, _X = np.mgrid[0:48, 0:64]
SMALL = np.dstack([_X * 4, _Y * 5, np.full_like(_X, 200)]).astype(np.uint8)


def keypair(tmp: Path) -> tuple[Path, Path]:
    return crypto.generate_keypair(tmp / "keys")


def make_store(tmp: Path, pub: Path, **store_overrides: Any) -> CaptureStore:
    cfg = replace(config.parse({}).store, **{"reserve_mb": 0, **store_overrides})
    return CaptureStore(tmp / "state", cfg, pub)


def open_capture(priv: Path, sealed: bytes) -> tuple[dict, bytes]:
    """(private header, JPEG bytes) of a sealed capture file."""
    key = crypto.load_private_key(priv)
    _, header, jpg = payload.open_sealed({payload.key_id(key.public_key): key}, sealed)
    return header, jpg


def decrypt_jpeg(priv: Path, sealed: bytes) -> np.ndarray:
    _, jpg = open_capture(priv, sealed)
    image = cv2.imdecode(np.frombuffer(jpg, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None, "decrypted bytes are not a JPEG"
    return image


def check_invariant(store: CaptureStore, priv: Path, acked: set[str]) -> int:
    """Every row is a complete decryptable capture; no stray or half file; no ack lost."""
    files = {p.name for p in store.captures_dir.iterdir()}
    assert not [f for f in files if f.startswith(TMP_PREFIX)], files
    rows = store.index.rows()
    assert {r.state for r in rows} <= {PENDING}, [(r.id, r.state) for r in rows]
    assert files == {f"{r.id}{ext}" for r in rows for ext in (".bin", ".json")}
    for r in rows:
        data = store.path_of(r.id).read_bytes()
        assert len(data) == r.size and hashlib.sha256(data).hexdigest() == r.sha256
        assert decrypt_jpeg(priv, data).shape == SMALL.shape
    assert acked <= {r.id for r in rows}, acked - {r.id for r in rows}
    assert not list(store.quarantine_dir.iterdir())
    return len(rows)
