"""Receipts: the one narrow path from the sync service back into the capture store.

The sync service (its own user) may read the sealed captures and their sidecars but write
nothing in the kiosk's state directory. For each capture it has dealt with, it writes one small
receipt into its own state directory; the kiosk's store reads them (`CaptureStore.reconcile`),
marks the capture synced or quarantines it, and only then may delete its local copy.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from kiosk.store import atomic

UPLOADED, ALREADY_THERE, CONFLICT, CORRUPT = "uploaded", "already_there", "conflict", "corrupt"
OUTCOMES = (UPLOADED, ALREADY_THERE, CONFLICT, CORRUPT)
DELIVERED = (UPLOADED, ALREADY_THERE)
RECEIPTS = "receipts"
SHARED = 0o640  # readable by the group the kiosk daemon is in, writable by the sync user only
_ID = re.compile(r"^[0-9]{10,}-[0-9a-f]{8}$")


@dataclass(frozen=True)
class Receipt:
    capture_id: str
    sha256: str
    outcome: str
    key: str = ""
    reason: str = ""
    at: float = 0.0


def receipts_dir(sync_dir: Path) -> Path:
    return sync_dir / RECEIPTS


def write(sync_dir: Path, receipt: Receipt) -> None:
    folder = receipts_dir(sync_dir)
    folder.mkdir(parents=True, exist_ok=True)
    data = json.dumps(asdict(receipt) | {"at": receipt.at or time.time()}, sort_keys=True)
    atomic.write_private(folder / f"{receipt.capture_id}.json", data.encode(), mode=SHARED)


def has(sync_dir: Path, capture_id: str) -> bool:
    return (receipts_dir(sync_dir) / f"{capture_id}.json").exists()


def read_all(sync_dir: Path) -> Iterator[Receipt]:
    """Every well-formed receipt; anything else in the folder is ignored, never trusted."""
    folder = receipts_dir(sync_dir)
    if not folder.is_dir():
        return
    for path in sorted(folder.glob("*.json")):
        try:
            doc = json.loads(path.read_text())
            r = Receipt(**{k: doc[k] for k in Receipt.__dataclass_fields__ if k in doc})
        except (OSError, ValueError, TypeError):
            continue
        if _ID.match(r.capture_id) and r.outcome in OUTCOMES and path.stem == r.capture_id:
            yield r


def remove(sync_dir: Path, capture_id: str) -> None:
    (receipts_dir(sync_dir) / f"{capture_id}.json").unlink(missing_ok=True)
