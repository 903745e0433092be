"""Maintenance commands: `kiosk captures list|show|purge` and `kiosk keys generate`."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

from kiosk.config import Config
from kiosk.errors import StoreError
from kiosk.store import crypto, existing_store, payload
from kiosk.store.index import CaptureRow


def add_commands(sub: Any) -> None:
    p = sub.add_parser("captures", help="list, inspect and purge stored selfies")
    csub = p.add_subparsers(dest="captures_command", required=True)
    s = csub.add_parser("list", help="every capture in the index, oldest first")
    s.add_argument("--json", action="store_true", help="one JSON object per line")
    s.add_argument("--state", choices=["pending", "synced", "quarantined", "writing"])
    s.set_defaults(func=cmd_list)
    s = csub.add_parser("show", help="one capture's index row (the image stays encrypted)")
    s.add_argument("id")
    s.set_defaults(func=cmd_show)
    s = csub.add_parser("purge", help="delete local copies now")
    s.add_argument("--synced", action="store_true", required=True,
                   help="only captures the server confirmed (the only kind ever purged)")
    s.set_defaults(func=cmd_purge)

    s = csub.add_parser("reconcile", help="take in the sync service's receipts (mark synced "
                        "or quarantine) and delete local copies past the grace")
    s.set_defaults(func=cmd_reconcile)

    p = sub.add_parser("keys", help="encryption keys for the selfie store")
    ksub = p.add_subparsers(dest="keys_command", required=True)
    s = ksub.add_parser("generate", help="make a key pair for a back end or for testing")
    s.add_argument("--out", type=Path, required=True, help="folder for the two key files")
    s.add_argument("--force", action="store_true", help="overwrite existing key files")
    s.set_defaults(func=cmd_keys_generate)


def _iso(t: float | None) -> str:
    if t is None:
        return "-"
    return dt.datetime.fromtimestamp(t, dt.UTC).isoformat(timespec="seconds")


def _line(row: CaptureRow) -> str:
    clock = "" if row.clock_synchronised else " (clock unsynced)"
    err = f"  {row.last_error}" if row.last_error else ""
    return (f"{row.id}  {row.state:<11}  {_iso(row.wall_time)}{clock}  {row.size:>8} B  "
            f"attempts {row.attempts}{err}")


def _emulator(cfg: Config) -> bool:
    return cfg.hardware == "emulator"


def cmd_list(args: argparse.Namespace, cfg: Config) -> int:
    store = existing_store(cfg, _emulator(cfg))
    try:
        for row in store.index.rows(args.state):
            print(json.dumps(row.to_dict()) if args.json else _line(row))
    finally:
        store.close()
    return 0


def cmd_show(args: argparse.Namespace, cfg: Config) -> int:
    store = existing_store(cfg, _emulator(cfg))
    try:
        row = store.index.get(args.id)
        if row is None:
            raise StoreError(f"no capture with id {args.id}")
        info = row.to_dict()
        path = store.path_of(row.id)
        info["file"] = str(path) if path.exists() else None
        print(json.dumps(info, indent=2))
    finally:
        store.close()
    return 0


def cmd_purge(args: argparse.Namespace, cfg: Config) -> int:
    store = existing_store(cfg, _emulator(cfg))
    try:
        n = store.purge_synced(older_than_s=0)
    finally:
        store.close()
    print(f"deleted {n} local copies of uploaded captures; unsynced captures are never purged")
    return 0


def cmd_reconcile(args: argparse.Namespace, cfg: Config) -> int:
    from kiosk.sync.outbox import sync_dir

    store = existing_store(cfg, _emulator(cfg))
    try:
        counts = store.reconcile(sync_dir(cfg))
    finally:
        store.close()
    print(", ".join(f"{k} {v}" for k, v in counts.items()))
    return 0


def cmd_keys_generate(args: argparse.Namespace, cfg: Config) -> int:
    pub, priv = crypto.generate_keypair(args.out, force=args.force)
    kid = payload.key_id(crypto.load_public_key(pub))
    print(f"public key:  {pub}  (install on the kiosk as store.public_key; key id {kid})",
          file=sys.stdout)
    print(f"private key: {priv}  (mode 0600: keep it on the back end only)")
    return 0
