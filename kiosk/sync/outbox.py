"""What the sync service sees: the store's sealed files and sidecars, and its own folder."""

from __future__ import annotations

import json
import os
import pwd
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kiosk.config import Config
from kiosk.errors import SyncError
from kiosk.store import atomic, receipts, resolve_dir
from kiosk.store.capture_store import SIDECAR, SUFFIX

SYSTEM_SYNC_DIR = Path("/var/lib/kiosk-sync")
STATE_FILE = "state.json"
REQUEST_FILE = "request"


def store_dir(cfg: Config) -> Path:
    # {} rather than os.environ: the sync unit's own $STATE_DIRECTORY is not the store
    return resolve_dir(cfg, cfg.hardware == "emulator", environ={})


def sync_dir(cfg: Config) -> Path:
    if cfg.sync.state_dir:
        return Path(cfg.sync.state_dir)
    return store_dir(cfg) / "sync" if cfg.hardware == "emulator" else SYSTEM_SYNC_DIR


def prepare(folder: Path) -> None:
    try:
        receipts.receipts_dir(folder).mkdir(parents=True, exist_ok=True, mode=0o750)
    except OSError as e:
        raise SyncError(f"cannot create the sync state folder {folder}: {e.strerror}") from e


def owns(path: Path) -> bool:
    """True when this process may also reconcile the store (a laptop, a test, the emulator)."""
    try:
        return path.stat().st_uid == os.geteuid() and os.access(path, os.W_OK)
    except OSError:
        return False


def drop_root(folder: Path) -> None:
    """Run as root (`sudo kiosk sync now`): become the folder's owner so every file the pass
    writes stays the sync user's, with its groups; anyone else runs as they are."""
    if os.geteuid() != 0 or not folder.exists() or folder.stat().st_uid == 0:
        return
    st = folder.stat()
    os.initgroups(pwd.getpwuid(st.st_uid).pw_name, st.st_gid)
    os.setgid(st.st_gid)
    os.setuid(st.st_uid)


@dataclass(frozen=True)
class Outgoing:
    capture_id: str
    sealed: Path
    sidecar: Path


def waiting(captures: Path, folder: Path, attempts: Mapping[str, int],
            limit: int) -> list[Outgoing]:
    """Captures with a sidecar and no receipt; ones that keep failing go last."""
    try:
        names = sorted(p.name for p in os.scandir(captures) if p.name.endswith(SIDECAR)
                       and not p.name.startswith(atomic.TMP_PREFIX))
    except FileNotFoundError:
        return []
    except OSError as e:
        raise SyncError(f"cannot read the capture folder {captures}: {e.strerror}") from e
    done = {p.stem for p in receipts.receipts_dir(folder).glob("*.json")}
    ids = [n[:-len(SIDECAR)] for n in names]
    ids = sorted((c for c in ids if c not in done), key=lambda c: attempts.get(c, 0))
    return [Outgoing(c, captures / f"{c}{SUFFIX}", captures / f"{c}{SIDECAR}")
            for c in ids[:limit]]


def forget_absorbed(captures: Path, folder: Path) -> int:
    """Receipts whose capture file is gone (synced and purged, or quarantined) are done."""
    n = 0
    for r in receipts.read_all(folder):
        if not (captures / f"{r.capture_id}{SUFFIX}").exists():
            receipts.remove(folder, r.capture_id)
            n += 1
    return n


def read_state(folder: Path) -> dict[str, Any]:
    try:
        doc = json.loads((folder / STATE_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


def write_state(folder: Path, state: Mapping[str, Any]) -> None:
    data = json.dumps(dict(state), sort_keys=True).encode()
    atomic.write_private(folder / STATE_FILE, data, mode=receipts.SHARED)


def request_pass(folder: Path, at: float) -> None:
    try:
        atomic.write_private(folder / REQUEST_FILE, repr(at).encode())
    except OSError as e:
        raise SyncError(f"cannot ask the sync daemon for a pass ({folder}: {e.strerror}); "
                        "run it as root or as the sync user") from e


def requested_at(folder: Path) -> float | None:
    try:
        return float((folder / REQUEST_FILE).read_text())
    except (OSError, ValueError):
        return None
