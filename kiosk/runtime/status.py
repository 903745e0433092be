"""Status publishing: the snapshot `kiosk status` reads, status.json, and systemd's STATUS=."""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from kiosk.control.server import jsonable
from kiosk.store import atomic

log = logging.getLogger(__name__)

FILE_NAME = "status.json"
FILE_MODE = 0o640  # group-readable: the sync service's fleet heartbeat reads it
WRITE_EVERY_S = 5.0
NOTIFY_EVERY_S = 1.0


def write_status_file(path: Path, snapshot: Mapping[str, Any], wall: float) -> None:
    """Atomically (temp, fsync, rename) write `snapshot` with its `written_at` time."""
    written_at = dt.datetime.fromtimestamp(wall, dt.UTC).isoformat(timespec="seconds")
    data = json.dumps(jsonable({**snapshot, "written_at": written_at}), sort_keys=True)
    atomic.write_private(path, data.encode() + b"\n", mode=FILE_MODE)


class StatusPublisher:
    """The loop hands over a fresh dict each iteration (`publish`); readers get a merged copy.

    Slow facts (store counts, free disk, clock sync) and the status.json write run on this
    part's own thread every few seconds, so neither the loop nor the control socket thread
    touches the disk or the store for `kiosk status`.
    """

    def __init__(self, path: Path | None, facts: Callable[[], dict[str, Any]],
                 notify: Callable[[str], None] = lambda _: None, *,
                 every_s: float = WRITE_EVERY_S, clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time) -> None:
        self.path = path
        self._facts_fn = facts
        self._notify = notify
        self.every_s = every_s
        self._clock = clock
        self._wall = wall
        self._latest: dict[str, Any] = {}
        self._facts: dict[str, Any] = {}
        self._notified_at = float("-inf")
        self._stop = threading.Event()
        self._wake = threading.Event()  # the first snapshot is written at once, not in 5 s
        self._thread = threading.Thread(target=self._run, name="status", daemon=True)
        self._warned = False

    def start(self) -> None:
        self._thread.start()

    def publish(self, snapshot: dict[str, Any], line: str) -> None:
        """Called by the loop thread: one reference swap, plus STATUS= about once a second."""
        first = not self._latest
        self._latest = snapshot
        if first:
            self._wake.set()
        now = self._clock()
        if now - self._notified_at >= NOTIFY_EVERY_S:
            self._notified_at = now
            self._notify(line)

    def snapshot(self) -> dict[str, Any]:
        return {**self._latest, **self._facts}

    def _run(self) -> None:
        while not self._stop.is_set():
            self.refresh()
            self._wake.wait(self.every_s)
            self._wake.clear()

    def refresh(self) -> None:
        """Gather the slow facts and write the file now."""
        try:
            self._facts = self._facts_fn()
        except Exception:  # noqa: BLE001 - a broken probe must not end status publishing
            log.exception("status facts could not be gathered")
        if self.path is None or not self._latest:
            return
        try:
            write_status_file(self.path, self.snapshot(), self._wall())
            self._warned = False
        except OSError as e:
            if not self._warned:  # once per outage, not every 5 s
                self._warned = True
                log.warning("cannot write %s: %s", self.path, e)

    def close(self) -> None:
        """Stop the thread and write the last snapshot (a stopped daemon's file goes stale)."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2.0)
        self.refresh()
