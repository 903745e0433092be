"""`kiosk sync` (one-shot), `kiosk sync --daemon`, `kiosk sync now`, `kiosk sync status`."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import threading
import time
from typing import Any

from kiosk.config import Config
from kiosk.errors import SyncError
from kiosk.store import require_store
from kiosk.sync import outbox
from kiosk.sync.credentials import load_credentials
from kiosk.sync.daemon import SyncRunner, Totals, build_uploader, exclusive, owned_store
from kiosk.sync.heartbeat import iso

log = logging.getLogger(__name__)


def add_commands(sub: Any) -> None:
    p = sub.add_parser("sync", help="upload pending captures to the S3 back end (one pass "
                       "until nothing is left; --daemon keeps running)")
    p.add_argument("--daemon", action="store_true",
                   help="keep running (the kiosk-sync.service mode)")
    p.set_defaults(func=cmd_sync)
    ssub = p.add_subparsers(dest="sync_command")
    s = ssub.add_parser("now", help="ask the running sync daemon for a pass and wait for it; "
                        "without a daemon, run the pass here")
    s.add_argument("--wait", type=float, default=60.0, help="seconds to wait (default 60)")
    s.set_defaults(func=cmd_now)
    s = ssub.add_parser("status", help="waiting count, last success/error, totals")
    s.add_argument("--json", action="store_true", help="print one JSON object")
    s.set_defaults(func=cmd_status)


def _run(cfg: Config, body: Any) -> Any:
    """Run `body(runner)` holding the sync lock, with the store when this user owns it."""
    folder = outbox.sync_dir(cfg)
    creds = None
    if os.geteuid() == 0:  # read a root-only credentials file before becoming the sync user
        with contextlib.suppress(SyncError):
            creds = load_credentials(cfg.sync)
    outbox.drop_root(folder)
    outbox.prepare(folder)
    store = owned_store(cfg)
    try:
        with exclusive(folder):
            return body(SyncRunner(cfg, lambda: build_uploader(cfg, creds), store=store))
    finally:
        if store is not None:
            store.close()


def cmd_sync(args: argparse.Namespace, cfg: Config, stop: threading.Event | None = None) -> int:
    if args.daemon:
        return int(_run(cfg, lambda r: _daemon(r, stop or threading.Event())))
    totals, waiting = _run(cfg, lambda r: (r.drain(), r.waiting()))
    return _report(totals, waiting)


def _report(totals: Totals, waiting: int) -> int:
    print(f"uploaded {totals.uploaded}, already on the server {totals.already_there}, "
          f"quarantined {totals.quarantined} ({totals.conflicts} conflicts), "
          f"rejected {totals.rejected}; {waiting} waiting")
    if totals.error:
        raise SyncError(totals.error)
    return 0 if waiting == 0 and not totals.quarantined else 1


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
    folder = outbox.sync_dir(cfg)
    try:
        totals, waiting = _run(cfg, lambda r: (r.drain(), r.waiting()))
    except SyncError as e:
        if "another sync process" not in str(e):
            raise
    else:  # no daemon was running: the pass ran here
        return _report(totals, waiting)
    requested = time.time()
    outbox.request_pass(folder, requested)
    deadline = time.monotonic() + args.wait
    while time.monotonic() < deadline:
        state = outbox.read_state(folder)
        if state.get("answered_request") == requested:  # a pass begun after the request
            cmd_status(argparse.Namespace(json=False), cfg)
            return 1 if state.get("last_error") else 0
        time.sleep(0.2)
    raise SyncError(f"the sync daemon did not finish a pass within {args.wait:.0f} s; "
                    "see `kiosk logs`")


def status(cfg: Config) -> dict[str, Any]:
    """The sync service's view: what waits in the store's folder, and its own state."""
    folder = outbox.sync_dir(cfg)
    state = outbox.read_state(folder)
    root = require_store(outbox.store_dir(cfg))
    waiting = outbox.waiting(root / "captures", folder, {}, 1_000_000)
    oldest = min((w.sidecar.stat().st_mtime for w in waiting if w.sidecar.exists()),
                 default=None)
    totals = state.get("totals", {})
    return {
        "pending": len(waiting),
        "oldest_pending_age_s": None if oldest is None else round(time.time() - oldest, 1),
        "synced": totals.get("uploaded", 0) + totals.get("already_there", 0),
        "quarantined": totals.get("quarantined", 0),
        "last_sync_pass": state.get("last_pass_at"),
        "last_sync_success": state.get("last_success_at"),
        "last_sync_error": state.get("last_error"),
        "last_sync_error_at": state.get("last_error_at"),
        "totals": totals,
        "endpoint": cfg.sync.endpoint or "AWS S3", "bucket": cfg.sync.bucket,
        "sync_dir": str(folder),
    }


def cmd_status(args: argparse.Namespace, cfg: Config) -> int:
    st = status(cfg)
    if args.json:
        print(json.dumps(st, sort_keys=True))
        return 0
    t = st["totals"]
    age = st["oldest_pending_age_s"]
    print(f"pending:      {st['pending']}" + (f" (oldest {age:.0f} s)" if age is not None else ""))
    print(f"uploaded:     {t.get('uploaded', 0)} (+{t.get('already_there', 0)} already there)")
    print(f"quarantined:  {t.get('quarantined', 0)} ({t.get('conflicts', 0)} conflicts)")
    print(f"last success: {iso(st['last_sync_success']) or 'never'}")
    err = st["last_sync_error"]
    print(f"last error:   {iso(st['last_sync_error_at'])} {err}" if err else "last error:   none")
    return 0
