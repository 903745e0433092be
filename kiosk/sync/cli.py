"""`kiosk sync` (one-shot), `kiosk sync --daemon`, `kiosk sync now`, `kiosk sync status`."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import signal
import threading
import time
from typing import Any

from kiosk.config import Config
from kiosk.errors import SyncError
from kiosk.store import attach_store
from kiosk.store.capture_store import CaptureStore
from kiosk.sync.daemon import SyncRunner, build_uploader, exclusive

log = logging.getLogger(__name__)


def add_commands(sub: Any) -> None:
    p = sub.add_parser("sync", help="upload pending captures to the S3 back end")
    p.add_argument("--daemon", action="store_true",
                   help="keep running (the kiosk-sync.service mode)")
    p.set_defaults(func=cmd_sync)
    ssub = p.add_subparsers(dest="sync_command")
    s = ssub.add_parser("now", help="ask the running sync daemon for a pass and wait for it")
    s.add_argument("--wait", type=float, default=60.0, help="seconds to wait (default 60)")
    s.set_defaults(func=cmd_now)
    s = ssub.add_parser("status", help="pending count, oldest pending age, last success/error")
    s.add_argument("--json", action="store_true", help="print one JSON object")
    s.set_defaults(func=cmd_status)


def _store(cfg: Config) -> CaptureStore:
    return attach_store(cfg, cfg.hardware == "emulator")


def cmd_sync(args: argparse.Namespace, cfg: Config, stop: threading.Event | None = None) -> int:
    store = _store(cfg)
    try:
        with exclusive(store.root):
            runner = SyncRunner(cfg, store, lambda: build_uploader(cfg, store))
            if args.daemon:
                return _daemon(runner, stop or threading.Event())
            totals = runner.drain()
            pending = store.pending_count()
    finally:
        store.close()
    print(f"uploaded {totals.uploaded}, already on the server {totals.already_there}, "
          f"quarantined {totals.quarantined}, rejected {totals.rejected}; {pending} pending")
    if totals.error:
        raise SyncError(totals.error)
    return 0 if pending == 0 and not totals.quarantined else 1


def _daemon(runner: SyncRunner, stop: threading.Event) -> int:
    from kiosk.hardware.systemd import Notifier

    def on_signal(signum: int, _: Any) -> None:
        log.info("signal %d: stopping after the current upload", signum)
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
    notifier = Notifier()
    notifier.ready()
    try:
        runner.serve(stop, notifier)
    finally:
        notifier.stopping()
        notifier.close()
    return 0


def cmd_now(args: argparse.Namespace, cfg: Config) -> int:
    store = _store(cfg)
    try:
        requested = time.time()
        store.index.set_meta(sync_requested_at=requested)
        deadline = time.monotonic() + args.wait
        while time.monotonic() < deadline:
            meta = store.index.meta()
            if (meta.get("last_pass_at") or 0) >= requested:
                _print_status(store.stats(), as_json=False)
                failed = (meta.get("last_error_at") or 0) >= requested
                return 1 if failed else 0
            time.sleep(0.2)
    finally:
        store.close()
    raise SyncError(f"no sync daemon answered within {args.wait:.0f} s; is kiosk-sync.service "
                    "running? (`kiosk sync` runs a pass in this shell)")


def _iso(t: Any) -> str:
    if not isinstance(t, int | float):
        return "never"
    return dt.datetime.fromtimestamp(t, dt.UTC).isoformat(timespec="seconds")


def _print_status(st: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(st, sort_keys=True))
        return
    age = st["oldest_pending_age_s"]
    print(f"pending:      {st['pending']}" + (f" (oldest {age:.0f} s)" if age is not None else ""))
    print(f"synced:       {st['synced']}")
    print(f"quarantined:  {st['quarantined']}")
    print(f"last success: {_iso(st['last_sync_success'])}")
    err = st["last_sync_error"]
    print(f"last error:   {_iso(st['last_sync_error_at'])} {err}" if err else "last error:   none")


def cmd_status(args: argparse.Namespace, cfg: Config) -> int:
    store = _store(cfg)
    try:
        st = store.stats()
    finally:
        store.close()
    st.update(endpoint=cfg.sync.endpoint or "AWS S3", bucket=cfg.sync.bucket)
    _print_status(st, args.json)
    return 0
