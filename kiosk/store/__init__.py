"""Encrypted, crash-safe selfie store: `open_store(cfg, emulator)` is the way in."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path

from kiosk.config import Config
from kiosk.errors import StoreError
from kiosk.store import crypto
from kiosk.store.capture_store import INDEX_NAME, CaptureStore, RepairReport
from kiosk.store.index import CaptureRow

__all__ = ["CaptureRow", "CaptureStore", "RepairReport", "attach_store", "existing_store",
           "open_store", "resolve_dir", "resolve_public_key"]

log = logging.getLogger(__name__)

SYSTEM_DIR = Path("/var/lib/kiosk")
EMULATOR_DIR = Path("kiosk-state")
SYSTEM_PUBLIC_KEY = Path("/etc/kiosk") / crypto.PUBLIC_NAME
DEV_KEYS = "dev-keys"


def resolve_dir(cfg: Config, emulator: bool, environ: Mapping[str, str] | None = None) -> Path:
    environ = os.environ if environ is None else environ
    if cfg.store.dir:
        return Path(cfg.store.dir)
    if environ.get("STATE_DIRECTORY"):
        return Path(environ["STATE_DIRECTORY"].split(":")[0])  # systemd may list several
    return EMULATOR_DIR.absolute() if emulator else SYSTEM_DIR


def resolve_public_key(cfg: Config, root: Path, emulator: bool) -> Path:
    """The configured key; in the emulator without one, a dev pair generated on first use."""
    if cfg.store.public_key:
        return Path(cfg.store.public_key)
    if not emulator:
        return SYSTEM_PUBLIC_KEY
    dev = root / DEV_KEYS
    if not (dev / crypto.PUBLIC_NAME).exists():
        try:
            root.mkdir(parents=True, exist_ok=True, mode=0o700)  # before the key folder does
        except OSError as e:
            raise StoreError(f"cannot create the state directory {root}: {e.strerror}") from e
        crypto.generate_keypair(dev, force=True)
        log.warning("emulator: generated a development key pair in %s", dev)
    return dev / crypto.PUBLIC_NAME


def open_store(cfg: Config, emulator: bool) -> CaptureStore:
    """The writer's store (the kiosk daemon): takes the writer lock and runs start-up repair."""
    store = attach_store(cfg, emulator)
    store.repair()
    return store


def existing_store(cfg: Config, emulator: bool) -> CaptureStore:
    """For maintenance commands (list, show, purge, reconcile): the store that is there, or
    StoreError. Never creates a folder, an index or a key pair: only the daemon's writer
    (open_store) makes a store, so a command run in the wrong folder cannot leave one."""
    root = require_store(resolve_dir(cfg, emulator))
    if cfg.store.public_key:
        public = Path(cfg.store.public_key)
    else:
        public = root / DEV_KEYS / crypto.PUBLIC_NAME if emulator else SYSTEM_PUBLIC_KEY
    return CaptureStore(root, cfg.store, public)


def require_store(root: Path) -> Path:
    """`root` if a store was ever made there, else StoreError (a read command in the wrong
    folder says so rather than reporting an empty store)."""
    if not (root / INDEX_NAME).is_file():
        raise StoreError(f"no capture store in {root}: nothing was ever captured there (wrong "
                         "folder? set [store] dir, or pass the kiosk's --config)")
    return root


def attach_store(cfg: Config, emulator: bool) -> CaptureStore:
    """For the sync process and maintenance commands: no lock, no repair of in-flight writes."""
    root = resolve_dir(cfg, emulator)
    return CaptureStore(root, cfg.store, resolve_public_key(cfg, root, emulator))
