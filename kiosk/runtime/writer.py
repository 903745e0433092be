"""Store writing on its own thread: JPEG encoding, sealing and fsyncs never run on the loop."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from kiosk.errors import StoreError

log = logging.getLogger(__name__)

QUEUE_SIZE = 2  # selfies waiting to be written; a full queue fails the session, never blocks
STUCK_S = 30.0  # one job running longer than this: the writer is stuck (the loop is unhealthy)


class Store(Protocol):
    def check_ready(self) -> None: ...

    def save(self, image_rgb: np.ndarray, metadata: dict[str, Any]) -> str: ...


@dataclass(frozen=True)
class Saved:
    """The selfie of `token` is durably stored as `capture_id`."""

    token: int
    capture_id: str


@dataclass(frozen=True)
class SaveFailed:
    token: int
    error: str


@dataclass(frozen=True)
class _Save:
    token: int
    image: np.ndarray
    metadata: dict[str, Any]


_CHECK = "check"
_STOP = "stop"


class CaptureWriter:
    """Writes selfies to the store on a daemon thread behind a bounded queue.

    The loop thread only enqueues (`submit`, `request_check`) and drains `results()`; it never
    waits. `fault` is the store's last readiness verdict (no key, disk full...; "" when a
    selfie could be stored), refreshed by `request_check()` and after every save.
    """

    def __init__(self, store: Store, *, queue_size: int = QUEUE_SIZE, stuck_s: float = STUCK_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.stuck_s = stuck_s
        self._clock = clock
        self._jobs: queue.Queue[_Save | str] = queue.Queue(maxsize=queue_size)
        self._results: queue.SimpleQueue[Saved | SaveFailed] = queue.SimpleQueue()
        self._idle = threading.Condition()
        self._pending = 0
        self._busy_since: float | None = None
        self.fault = ""
        self._thread = threading.Thread(target=self._run, name="capture-writer", daemon=True)

    def start(self) -> None:
        """Check readiness once (so the first frame already knows) and start the thread."""
        self.fault = self._check()
        self._thread.start()

    # -- loop side: never blocks ----------------------------------------------------------

    def submit(self, token: int, image: np.ndarray, metadata: dict[str, Any]) -> bool:
        """Queue one selfie; False when the queue is full (the caller fails the session)."""
        return self._put(_Save(token, image, metadata))

    def request_check(self) -> None:
        """Re-check readiness soon (a full queue already has a check coming after its saves)."""
        self._put(_CHECK)

    def results(self) -> list[Saved | SaveFailed]:
        out: list[Saved | SaveFailed] = []
        while True:
            try:
                out.append(self._results.get_nowait())
            except queue.Empty:
                return out

    def stuck(self, now: float | None = None) -> str:
        """Why the writer cannot make progress ("" when it can): a dead thread or a hung job."""
        if not self._thread.is_alive():
            return "the capture writer thread is not running"
        since = self._busy_since
        now = self._clock() if now is None else now
        if since is not None and now - since > self.stuck_s:
            return f"a capture write has been running for {now - since:.0f} s"
        return ""

    def _put(self, job: _Save | str) -> bool:
        with self._idle:
            try:
                self._jobs.put_nowait(job)
            except queue.Full:
                return False
            self._pending += 1
        return True

    # -- writer thread --------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job == _STOP:
                return
            self._busy_since = self._clock()
            try:
                if isinstance(job, _Save):
                    self._results.put(self._save(job))
                self.fault = self._check()
            finally:
                self._busy_since = None
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()

    def _save(self, job: _Save) -> Saved | SaveFailed:
        try:
            cid = self.store.save(job.image, job.metadata)
        except StoreError as e:
            log.error("selfie could not be stored: %s", e, extra={"reason": "store_failed"})
            return SaveFailed(job.token, str(e))
        except Exception as e:  # noqa: BLE001 - a bug in one save must not kill the writer
            log.exception("selfie could not be stored", extra={"reason": "store_failed"})
            return SaveFailed(job.token, f"{type(e).__name__}: {e}")
        log.info("selfie stored as %s", cid, extra={"capture_id": cid})
        return Saved(job.token, cid)

    def _check(self) -> str:
        try:
            self.store.check_ready()
        except StoreError as e:
            return str(e)
        except Exception as e:  # noqa: BLE001 - an unexpected probe failure is a fault too
            log.exception("store readiness check failed")
            return f"capture store check failed: {type(e).__name__}: {e}"
        return ""

    # -- both -----------------------------------------------------------------------------

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every queued job is done; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Finish the selfies already queued (a person was promised them), then stop."""
        if not self._thread.is_alive():
            return
        if not self.wait_idle(timeout):
            log.error("capture writer still busy after %.0f s at shutdown", timeout)
            return
        self._jobs.put(_STOP)
        self._thread.join(timeout)
