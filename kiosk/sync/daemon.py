"""The sync loop: passes, retention, back-off on failure, `sync now` requests, one at a time."""

from __future__ import annotations

import fcntl
import logging
import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kiosk.config import Config
from kiosk.errors import SyncError
from kiosk.store.capture_store import CaptureStore
from kiosk.sync.backoff import Pacer, backoff_delay
from kiosk.sync.client import make_client
from kiosk.sync.credentials import load_credentials
from kiosk.sync.uploader import PassResult, Uploader

log = logging.getLogger(__name__)

POLL_S = 0.5  # how often an idle daemon looks for a `sync now` request or a stop


@contextmanager
def exclusive(root: Path) -> Iterator[None]:
    """Only one uploader per state directory (the daemon, or a one-shot run)."""
    fd = os.open(root / "sync.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as e:
            raise SyncError("another sync process is running (use `kiosk sync now` to ask it "
                            "for a pass)") from e
        yield
    finally:
        os.close(fd)


def build_uploader(cfg: Config, store: CaptureStore) -> Uploader:
    if not cfg.sync.bucket:
        raise SyncError("sync is not configured: set sync.bucket (and sync.endpoint for a "
                        "non-AWS server)")
    creds = load_credentials(cfg.sync)
    log.info("uploading to %s bucket %s as %s (credentials from %s)",
             cfg.sync.endpoint or "AWS S3", cfg.sync.bucket, creds.access_key_id, creds.source)
    return Uploader(store, make_client(cfg.sync, creds), bucket=cfg.sync.bucket,
                    prefix=cfg.sync.prefix, kiosk_id=cfg.kiosk_id, endpoint=cfg.sync.endpoint,
                    pacer=Pacer(cfg.sync.max_kbps * 1024, time.monotonic))


@dataclass
class Totals:
    passes: int = 0
    uploaded: int = 0
    already_there: int = 0
    quarantined: int = 0
    rejected: int = 0
    error: str | None = None

    def add(self, r: PassResult) -> None:
        self.passes += 1
        self.uploaded += r.uploaded
        self.already_there += r.already_there
        self.quarantined += r.quarantined
        self.rejected += r.rejected
        self.error = r.error


class SyncRunner:
    def __init__(self, cfg: Config, store: CaptureStore,
                 make_uploader: Callable[[], Uploader], *,
                 rng: random.Random | None = None,
                 wall_clock: Callable[[], float] = time.time) -> None:
        self.cfg = cfg
        self.store = store
        self._make_uploader = make_uploader
        self._uploader: Uploader | None = None
        self._rng = rng or random.Random()
        self._wall = wall_clock
        self.failures = 0

    def one_pass(self) -> PassResult:
        try:
            if self._uploader is None:
                self._uploader = self._make_uploader()
            result = self._uploader.run_pass(self.cfg.sync.batch_size)
        except SyncError as e:  # e.g. credentials not installed yet: report, retry later
            result = PassResult(error=str(e))
            self.store.index.set_meta(last_error=str(e), last_error_at=self._wall(),
                                      last_pass_at=self._wall())
            log.error("sync: %s", e)
        if result.auth_error:
            self._uploader = None  # re-read credentials next time: they may have been fixed
        self.store.purge_synced()
        self.failures = self.failures + 1 if result.error else 0
        return result

    def drain(self, max_passes: int = 1_000_000) -> Totals:
        """Pass after pass while they make progress (the one-shot `kiosk sync`)."""
        totals = Totals()
        for _ in range(max_passes):
            r = self.one_pass()
            totals.add(r)
            if r.error or not r.confirmed or not self.store.pending_count():
                break
        return totals

    def next_delay(self, r: PassResult) -> float:
        if r.error:
            return backoff_delay(self.failures, self.cfg.sync.backoff_base_s,
                                 self.cfg.sync.backoff_max_s, self._rng.random)
        if r.confirmed and self.store.pending_count():
            return 0.0  # a full batch went through: keep draining
        return self.cfg.sync.interval_s

    def serve(self, stop: threading.Event, notifier: Any = None) -> None:
        """The `kiosk sync --daemon` loop, until `stop` is set."""
        handled = self.store.index.meta().get("sync_requested_at")
        while not stop.is_set():
            r = self.one_pass()
            delay = self.next_delay(r)
            if notifier is not None:
                notifier.status(self._status_line(r, delay))
            handled = self._wait(delay, stop, handled)

    def _wait(self, delay: float, stop: threading.Event, handled: Any) -> Any:
        deadline = time.monotonic() + delay
        while not stop.is_set():
            requested = self.store.index.meta().get("sync_requested_at")
            if requested != handled:
                log.info("sync pass requested")
                return requested
            left = deadline - time.monotonic()
            if left <= 0:
                break
            stop.wait(min(POLL_S, left))
        return handled

    def _status_line(self, r: PassResult, delay: float) -> str:
        pending = self.store.pending_count()
        if r.error:
            return f"{pending} pending; retry in {delay:.0f}s: {r.error}"
        return f"{pending} pending; last pass uploaded {r.confirmed}"
