"""The sync loop: passes, receipts, heartbeat, back-off on failure, `sync now` requests."""

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
from kiosk.errors import StoreError, SyncError
from kiosk.metrics import write_textfile
from kiosk.store import CaptureStore, resolve_public_key
from kiosk.sync import heartbeat, outbox
from kiosk.sync.backoff import Pacer, backoff_delay
from kiosk.sync.client import make_client
from kiosk.sync.credentials import S3Credentials, load_credentials
from kiosk.sync.uploader import PassResult, Uploader

log = logging.getLogger(__name__)

POLL_S = 0.5  # how often an idle daemon looks for a `sync now` request or a stop
WAITING_ALL = 1_000_000


@contextmanager
def exclusive(folder: Path) -> Iterator[None]:
    """Only one uploader per kiosk (the daemon, or a one-shot run)."""
    fd = os.open(folder / "sync.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as e:
            raise SyncError("another sync process is running (use `kiosk sync now` to ask it "
                            "for a pass)") from e
        yield
    finally:
        os.close(fd)


def build_uploader(cfg: Config, creds: S3Credentials | None = None) -> Uploader:
    if not cfg.sync.bucket:
        raise SyncError("sync is not configured: set sync.bucket (and sync.endpoint for a "
                        "non-AWS server)")
    creds = creds or load_credentials(cfg.sync)
    log.info("uploading to %s bucket %s as %s (credentials from %s)",
             cfg.sync.endpoint or "AWS S3", cfg.sync.bucket, creds.access_key_id, creds.source)
    return Uploader(make_client(cfg.sync, creds),
                    captures=outbox.store_dir(cfg) / "captures", sync_dir=outbox.sync_dir(cfg),
                    bucket=cfg.sync.bucket, prefix=cfg.sync.prefix, kiosk_id=cfg.kiosk_id,
                    endpoint=cfg.sync.endpoint, conditional_put=cfg.sync.conditional_put,
                    pacer=Pacer(cfg.sync.max_kbps * 1024, time.monotonic))


def owned_store(cfg: Config) -> CaptureStore | None:
    """The store, when this process may write it too (one user: a laptop, the emulator)."""
    root = outbox.store_dir(cfg)
    if not outbox.owns(root):
        return None  # a Pi: the kiosk user reconciles (`kiosk captures reconcile`, its timer)
    return CaptureStore(root, cfg.store, resolve_public_key(cfg, root, cfg.hardware == "emulator"))


@dataclass
class Totals:
    passes: int = 0
    uploaded: int = 0
    already_there: int = 0
    quarantined: int = 0
    conflicts: int = 0
    rejected: int = 0
    error: str | None = None

    def add(self, r: PassResult) -> None:
        self.passes += 1
        self.uploaded += r.uploaded
        self.already_there += r.already_there
        self.quarantined += r.quarantined
        self.conflicts += r.conflicts
        self.rejected += r.rejected
        self.error = r.error


class SyncRunner:
    def __init__(self, cfg: Config, make_uploader: Callable[[], Uploader], *,
                 store: CaptureStore | None = None, rng: random.Random | None = None,
                 wall_clock: Callable[[], float] = time.time) -> None:
        self.cfg = cfg
        self.store = store
        self.store_root = outbox.store_dir(cfg)
        self.captures = self.store_root / "captures"
        self.dir = outbox.sync_dir(cfg)
        outbox.prepare(self.dir)
        self._make_uploader = make_uploader
        self._uploader: Uploader | None = None
        self._rng = rng or random.Random()
        self._wall = wall_clock
        self.failures = 0
        self.last_beat: float | None = None
        self.answering: float | None = None  # the `sync now` request this pass answers

    def waiting(self) -> int:
        return len(outbox.waiting(self.captures, self.dir, {}, WAITING_ALL))

    def one_pass(self) -> PassResult:
        try:
            if self._uploader is None:
                self._uploader = self._make_uploader()
            result = self._uploader.run_pass(self.cfg.sync.batch_size)
        except SyncError as e:  # e.g. credentials not installed yet: report, retry later
            result = PassResult(error=str(e))
        if result.error:
            log.error("sync pass stopped: %s", result.error)
        elif result.confirmed or result.quarantined or result.rejected:
            log.info("sync pass: %d uploaded, %d already there, %d quarantined (%d conflicts), "
                     "%d rejected", result.uploaded, result.already_there, result.quarantined,
                     result.conflicts, result.rejected)
        if result.auth_error:
            self._uploader = None  # re-read credentials next time: they may have been fixed
        self._reconcile()
        self._record(result)
        self.failures = self.failures + 1 if result.error else 0
        return result

    def _reconcile(self) -> None:
        if self.store is not None:
            try:
                self.store.reconcile(self.dir)
            except StoreError as e:
                log.error("sync: could not reconcile the store: %s", e)
        outbox.forget_absorbed(self.captures, self.dir)

    def _record(self, r: PassResult) -> None:
        """The sync service's own state (its folder): what `sync status` and the heartbeat say.
        An error is shown until a later pass ends without one, then cleared."""
        state = outbox.read_state(self.dir)
        now = self._wall()
        totals = state.setdefault("totals", {})
        for name in ("uploaded", "already_there", "quarantined", "conflicts", "rejected"):
            totals[name] = totals.get(name, 0) + getattr(r, name)
        state["last_pass_at"] = now
        state["answered_request"] = self.answering
        if r.error:
            state.update(last_error=r.error, last_error_at=now)
        else:
            state.update(last_success_at=now, last_error=None, last_error_at=None)
        outbox.write_state(self.dir, state)

    def drain(self, max_passes: int = 1_000_000) -> Totals:
        """Pass after pass while they make progress (the one-shot `kiosk sync`)."""
        totals = Totals()
        for _ in range(max_passes):
            r = self.one_pass()
            totals.add(r)
            if r.error or not (r.confirmed or r.quarantined) or not self.waiting():
                break
        return totals

    def next_delay(self, r: PassResult) -> float:
        if r.error:
            return backoff_delay(self.failures, self.cfg.sync.backoff_base_s,
                                 self.cfg.sync.backoff_max_s, self._rng.random)
        if r.confirmed and self.waiting():
            return 0.0  # a full batch went through: keep draining
        return self.cfg.sync.interval_s

    # -- heartbeat --------------------------------------------------------------------------

    def beat(self) -> dict[str, Any]:
        """Upload the heartbeat and write the metrics file; an upload failure is only logged."""
        now = self._wall()
        self.last_beat = now
        snap, daemon, age = heartbeat.read_status(self.store_root / heartbeat.STATUS_FILE, now)
        doc = heartbeat.build(self.cfg.kiosk_id, snap, daemon, age, outbox.read_state(self.dir),
                              self.waiting(), now)
        try:
            if self._uploader is None:
                self._uploader = self._make_uploader()
            self._uploader.put_heartbeat(doc)
        except SyncError as e:
            log.warning("heartbeat not sent: %s", e)
        if self.cfg.sync.metrics_file:
            try:
                write_textfile(Path(self.cfg.sync.metrics_file), heartbeat.metrics(doc))
            except OSError as e:
                log.warning("metrics file %s not written: %s", self.cfg.sync.metrics_file, e)
        return doc

    def _beat_due(self) -> bool:
        every = self.cfg.sync.heartbeat_s
        return every > 0 and (self.last_beat is None or self._wall() - self.last_beat >= every)

    # -- the daemon -------------------------------------------------------------------------

    def serve(self, stop: threading.Event, notifier: Any = None) -> None:
        """The `kiosk sync --daemon` loop, until `stop` is set."""
        handled = outbox.requested_at(self.dir)
        while not stop.is_set():
            self.answering = handled
            r = self.one_pass()
            if self._beat_due():
                self.beat()
            delay = self.next_delay(r)
            if notifier is not None:
                notifier.status(self._status_line(r, delay))
            handled = self._wait(delay, stop, handled)

    def _wait(self, delay: float, stop: threading.Event, handled: float | None) -> float | None:
        deadline = time.monotonic() + delay
        while not stop.is_set():
            requested = outbox.requested_at(self.dir)
            if requested != handled:
                log.info("sync pass requested")
                return requested
            left = deadline - time.monotonic()
            if left <= 0 or self._beat_due():
                break
            stop.wait(min(POLL_S, left))
        return handled

    def _status_line(self, r: PassResult, delay: float) -> str:
        pending = self.waiting()
        if r.error:
            return f"{pending} pending; retry in {delay:.0f}s: {r.error}"
        return f"{pending} pending; last pass uploaded {r.confirmed}"
