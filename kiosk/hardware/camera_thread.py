"""A reader thread that keeps only the newest camera frame (latest-frame-wins)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from kiosk.domain import Frame
from kiosk.errors import CameraError

log = logging.getLogger(__name__)


class LatestFrameReader:
    """Calls `grab()` in a loop on a daemon thread and keeps the newest RGB image only.

    `grab()` returns an RGB image (or `(image, extra)`: data that belongs to the same capture,
    such as a held camera request with its full-resolution image), or None (or raises) on a
    failed read. Every extra is handed to `release` exactly once: when a newer frame
    supersedes its frame before it was read, or when the frame after it is read (until then
    the loop may use it through `delivered_extra`). After `max_failures` failed reads in a
    row the camera is considered gone: `read()` raises CameraError. A camera that delivers
    nothing for `stall_s` seconds (a driver that blocks) counts as gone too.
    """

    def __init__(self, grab: Callable[[], np.ndarray | tuple[np.ndarray, Any] | None],
                 clock: Callable[[], float], name: str, max_failures: int = 10,
                 stall_s: float = 5.0, release: Callable[[Any], None] = lambda _: None) -> None:
        self._grab = grab
        self._clock = clock
        self._release = release
        self.name = name
        self.max_failures = max_failures
        self.stall_s = stall_s
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._newest: Frame | None = None
        self._newest_extra: Any = None  # owned by the reader thread until read() takes it
        self.delivered: Frame | None = None  # the frame read() returned last (loop thread)
        self.delivered_extra: Any = None  # its extra, owned by the loop until the next read
        self._returned = 0
        self._count = 0
        self._error: str | None = None
        self._last_ok = 0.0
        self.failures = 0

    def start(self) -> None:
        if self._thread is not None:
            return
        self._last_ok = self._clock()
        self._thread = threading.Thread(target=self._run, name=f"camera-{self.name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                grabbed = self._grab()
                problem = "read failed" if grabbed is None else ""
            except Exception as e:  # noqa: BLE001 - any driver error counts as a failed read
                grabbed, problem = None, f"{type(e).__name__}: {e}"
            if grabbed is None:
                self.failures += 1
                log.debug("%s: %s (%d in a row)", self.name, problem, self.failures)
                if self.failures >= self.max_failures:
                    with self._lock:
                        self._error = (f"camera {self.name} stopped delivering frames "
                                       f"({self.failures} failed reads; last: {problem})")
                    log.error("%s", self._error)
                    return
                self._stop.wait(0.02)  # don't spin on a dead device
                continue
            self.failures = 0
            image, extra = grabbed if isinstance(grabbed, tuple) else (grabbed, None)
            now = self._clock()
            with self._lock:
                superseded = self._newest_extra
                self._newest = Frame(image=image, t=now, index=self._count)
                self._newest_extra = extra
                self._count += 1
                self._last_ok = now
            self._give_back(superseded)

    def read(self) -> Frame | None:
        """The newest frame if it is new since the last call, else None; CameraError if gone."""
        with self._lock:
            error, frame, last_ok = self._error, self._newest, self._last_ok
            fresh = frame is not None and frame is not self.delivered
            extra = self._newest_extra if fresh else None
            if fresh:
                self._newest_extra = None  # the loop owns it now
        if error:
            raise CameraError(error)
        if self._thread is None:
            raise CameraError(f"camera {self.name} is not started")
        if self._clock() - last_ok > self.stall_s:
            raise CameraError(f"camera {self.name} delivered no frame for {self.stall_s:.0f} s")
        if not fresh:
            return None
        self._give_back(self.delivered_extra)
        self.delivered, self.delivered_extra = frame, extra
        self._returned += 1
        return frame

    def _give_back(self, extra: Any) -> None:
        if extra is not None:
            try:
                self._release(extra)
            except Exception as e:  # noqa: BLE001 - a failed release must not stop the reader
                log.warning("%s: releasing a capture failed: %s", self.name, e)

    def newest(self) -> Frame | None:
        with self._lock:
            return self._newest

    @property
    def dropped(self) -> int:
        """Frames grabbed but never returned by read() (superseded by newer ones)."""
        with self._lock:
            pending = self._newest is not None and self._newest is not self.delivered
            return self._count - self._returned - int(pending)

    def stop(self, timeout: float = 2.0) -> None:
        """Stop the thread, then give back every extra still held."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("%s: reader thread did not stop within %.1f s", self.name, timeout)
        with self._lock:
            held, self._newest_extra = self._newest_extra, None
        self._give_back(held)
        self._give_back(self.delivered_extra)
        self.delivered_extra = None


class ThreadedCamera:
    """Shared read side of the cameras whose frames come from a LatestFrameReader."""

    _reader: LatestFrameReader

    def read(self) -> Frame | None:
        return self._reader.read()

    @property
    def dropped(self) -> int:
        return self._reader.dropped
