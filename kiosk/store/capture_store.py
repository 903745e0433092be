"""The encrypted, crash-safe selfie store: one sealed file per capture plus its index row."""

from __future__ import annotations

import dataclasses
import datetime as dt
import fcntl
import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from kiosk.config import StoreConfig
from kiosk.errors import StoreError
from kiosk.store import atomic, clock, crypto, disk, payload, receipts
from kiosk.store.index import PENDING, QUARANTINED, SYNCED, WRITING, CaptureRow, Index

log = logging.getLogger(__name__)

SUFFIX = ".bin"
INDEX_NAME = "index.sqlite3"
SIDECAR = ".json"
MB = 2**20
# The sealed files and their sidecars are readable by the group (the sync service's user is in
# it); the index, quarantine and keys stay private to the kiosk user.
SHARED_DIR, SHARED_FILE = 0o750, 0o640


def _jsonable(value: Any) -> Any:
    """json.dumps fallback for what the pipeline hands over (numpy scalars, dataclasses)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return str(value)


def envelope(row: CaptureRow, store_id: str, key_id: str | None,
             fmt: str = payload.FORMAT) -> dict[str, Any]:
    """The plaintext sidecar of a capture: what sync and the back end need, no face data."""
    return {
        "format": fmt, "capture_id": row.id, "store_id": store_id, "seq": row.seq,
        "boot_id": row.boot_id,
        "wall_time": dt.datetime.fromtimestamp(row.wall_time, dt.UTC).isoformat(),
        "clock_synchronised": row.clock_synchronised, "session_s": row.session_s,
        "metadata": row.metadata, "sha256": row.sha256, "size": row.size, "key_id": key_id,
        "encryption": payload.ENCRYPTION,
    }


def encode_jpeg(image_rgb: np.ndarray, quality: int) -> bytes:
    if image_rgb.dtype != np.uint8 or image_rgb.ndim != 3 or image_rgb.shape[2] != 3:
        raise StoreError(f"selfie must be an H x W x 3 uint8 RGB image, got "
                         f"{image_rgb.dtype} {image_rgb.shape}")
    bgr = cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise StoreError("JPEG encoding failed")
    return buf.tobytes()


@dataclass
class RepairReport:
    temp_removed: int = 0
    recovered: list[str] = field(default_factory=list)
    rolled_back: list[str] = field(default_factory=list)
    quarantined: list[str] = field(default_factory=list)
    local_deleted: list[str] = field(default_factory=list)


class CaptureStore:
    """Writes selfies the kiosk can never read back; the sync process uploads them."""

    def __init__(self, root: Path, cfg: StoreConfig, public_key: Path, *,
                 wall_clock: Callable[[], float] = time.time,
                 clock_synchronised: Callable[[], bool] = clock.clock_synchronised,
                 step: atomic.Step = atomic._no_step) -> None:
        self.root = root
        self.cfg = cfg
        self.public_key_path = public_key
        self.captures_dir = root / "captures"
        self.quarantine_dir = root / "quarantine"
        self._wall = wall_clock
        self._synced_clock = clock_synchronised
        self._step = step  # crash-test hook: called between the stages of save()
        self.boot_id = clock.boot_id()
        try:
            for d in (root, self.captures_dir, self.quarantine_dir):
                d.mkdir(parents=True, exist_ok=True, mode=0o700)
            if self.captures_dir.stat().st_mode & 0o777 != SHARED_DIR:
                self.captures_dir.chmod(SHARED_DIR)
        except OSError as e:
            raise StoreError(f"cannot create the state directory {d}: {e.strerror}") from e
        self.index = Index(root / INDEX_NAME)
        self.store_id = self.index.store_id
        self._lock_fd: int | None = None

    def close(self) -> None:
        self.index.close()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def lock_writer(self) -> None:
        """Become the only writer: repair must never run beside another process's save()."""
        if self._lock_fd is not None:
            return
        fd = os.open(self.root / "writer.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as e:
            os.close(fd)
            raise StoreError(f"another kiosk process is writing to {self.root}") from e
        self._lock_fd = fd

    def path_of(self, cid: str) -> Path:
        return self.captures_dir / f"{cid}{SUFFIX}"

    def sidecar_of(self, cid: str) -> Path:
        return self.captures_dir / f"{cid}{SIDECAR}"

    @contextmanager
    def _maintenance(self) -> Iterator[None]:
        """Repair and reconcile move files around: never both at once (blocking lock)."""
        fd = os.open(self.root / "maintenance.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    # -- readiness ------------------------------------------------------------------------

    def check_ready(self) -> None:
        """Raise StoreError with the out-of-service reason when a selfie could not be stored."""
        crypto.load_public_key(self.public_key_path)
        disk.check_writable(self.captures_dir)
        disk.check_reserve(self.root, self.cfg.reserve_mb * MB)

    # -- writing --------------------------------------------------------------------------

    def save(self, image_rgb: np.ndarray, metadata: dict[str, Any]) -> str:
        """Encrypt and durably store one selfie; returns its capture id once it is safe.

        The face-identifying metadata is sealed with the JPEG; only the public part
        (`payload.PUBLIC_METADATA`) goes into the index and the plaintext sidecar."""
        self.lock_writer()
        key = crypto.load_public_key(self.public_key_path)
        jpeg = encode_jpeg(image_rgb, self.cfg.jpeg_quality)
        disk.check_reserve(self.root, self.cfg.reserve_mb * MB, needed=len(jpeg) + 4096)
        public, private = payload.split_metadata(
            json.loads(json.dumps(metadata, default=_jsonable)))
        session_s = public.get("session_s")

        def seal(cid: str, seq: int) -> bytes:
            header = {"format": payload.FORMAT, "capture_id": cid, "store_id": self.store_id,
                      "seq": seq, "metadata": private}
            return payload.seal(key, header, jpeg)

        row, sealed = self.index.reserve(
            boot_id=self.boot_id, wall_time=self._wall(),
            clock_synchronised=self._synced_clock(),
            session_s=float(session_s) if isinstance(session_s, int | float) else None,
            metadata=json.dumps(public, sort_keys=True), seal=seal)
        self._step("reserved")
        try:
            self._write_sidecar(row, payload.key_id(key))
            atomic.write_private(self.path_of(row.id), sealed, self._step, mode=SHARED_FILE)
        except OSError as e:
            self.index.delete(row.id)
            self.sidecar_of(row.id).unlink(missing_ok=True)
            raise StoreError(f"cannot write capture {row.id}: {e.strerror or e}") from e
        self.index.set_state(row.id, PENDING)
        self._step("committed")
        log.info("capture %s stored (%d bytes, seq %d)", row.id, len(sealed), row.seq)
        return row.id

    def _write_sidecar(self, row: CaptureRow, key_id: str | None,
                       fmt: str = payload.FORMAT) -> None:
        doc = json.dumps(envelope(row, self.store_id, key_id, fmt), sort_keys=True, indent=1)
        atomic.write_private(self.sidecar_of(row.id), doc.encode(), mode=SHARED_FILE)

    def _restore_sidecar(self, row: CaptureRow) -> None:
        """A pending capture without its sidecar: written by format 0, or lost; rebuild it."""
        with self.path_of(row.id).open("rb") as f:
            kid = payload.sealed_key_id(f.read(len(payload.MAGIC) + payload.KEY_ID_BYTES))
        self._write_sidecar(row, kid, payload.FORMAT if kid else payload.LEGACY_FORMAT)

    # -- start-up repair ------------------------------------------------------------------

    def repair(self) -> RepairReport:
        """Finish or roll back what a crash interrupted; quarantine what cannot be trusted."""
        self.lock_writer()
        with self._maintenance():
            return self._repair()

    def _repair(self) -> RepairReport:
        rep = RepairReport()
        for tmp in atomic.temp_files(self.captures_dir):
            tmp.unlink()
            rep.temp_removed += 1
        for row in self.index.rows(WRITING):
            path = self.path_of(row.id)
            if path.exists() and self._intact(row, path):
                self.index.set_state(row.id, PENDING)  # the rename happened: it is complete
                rep.recovered.append(row.id)
            elif path.exists():
                self.quarantine(row.id, "file does not match its index row after a crash")
                rep.quarantined.append(row.id)
            else:
                self.index.delete(row.id)  # crashed before the rename: nothing was stored
                self.sidecar_of(row.id).unlink(missing_ok=True)
                rep.rolled_back.append(row.id)
        known = {r.id: r for r in self.index.rows()}
        for row in known.values():
            gone = not self.path_of(row.id).exists()
            if gone and row.state == PENDING:
                self.quarantine(row.id, "local file is missing")
                rep.quarantined.append(row.id)
            elif gone and row.state == SYNCED and row.local_deleted_at is None:
                self.index.mark_local_deleted(row.id, self._wall())
                self.sidecar_of(row.id).unlink(missing_ok=True)
                rep.local_deleted.append(row.id)
            elif row.state == PENDING and not self.sidecar_of(row.id).exists():
                self._restore_sidecar(row)
        for path in sorted(self.captures_dir.glob("*")):
            if path.suffix in (SUFFIX, SIDECAR) and path.stem not in known:
                # Never delete data we cannot account for: keep it aside for a human.
                os.replace(path, self.quarantine_dir / path.name)
                log.warning("unknown capture file %s moved to quarantine", path.name)
                if path.suffix == SUFFIX:
                    rep.quarantined.append(path.stem)
        if rep.temp_removed or rep.rolled_back or rep.quarantined:
            atomic.fsync_dir(self.captures_dir)
            atomic.fsync_dir(self.quarantine_dir)
        if rep != RepairReport():
            log.warning("store repair: %s", rep)
        return rep

    @staticmethod
    def _intact(row: CaptureRow, path: Path) -> bool:
        data = path.read_bytes()
        return len(data) == row.size and hashlib.sha256(data).hexdigest() == row.sha256

    def read_verified(self, row: CaptureRow) -> bytes:
        """The sealed bytes of a capture, checked against the digest recorded at save time."""
        path = self.path_of(row.id)
        try:
            data = path.read_bytes()
        except FileNotFoundError as e:
            raise StoreError(f"capture {row.id}: local file is missing") from e
        if len(data) != row.size or hashlib.sha256(data).hexdigest() != row.sha256:
            raise StoreError(f"capture {row.id}: local file is corrupted "
                             f"({len(data)} bytes, expected {row.size}; sha256 mismatch)")
        return data

    def quarantine(self, cid: str, reason: str) -> None:
        """Move a capture aside and stop uploading it; it is never deleted automatically."""
        moved = False
        for src in (self.path_of(cid), self.sidecar_of(cid)):
            if src.exists():
                os.replace(src, self.quarantine_dir / src.name)
                moved = True
        if moved:
            atomic.fsync_dir(self.quarantine_dir)
            atomic.fsync_dir(self.captures_dir)
        self.index.set_state(cid, QUARANTINED, reason)
        log.error("capture %s quarantined: %s", cid, reason)

    # -- the sync service's receipts ------------------------------------------------------

    def reconcile(self, sync_dir: Path) -> dict[str, int]:
        """Take in the sync service's receipts, then delete local copies past the grace.

        A receipt only counts for a pending capture with the same SHA-256: the sync service
        can report what happened to a file, never invent or rename one."""
        counts = {"synced": 0, "quarantined": 0, "ignored": 0, "purged": 0}
        with self._maintenance():
            delivered: list[tuple[str, str]] = []
            for r in receipts.read_all(sync_dir):
                row = self.index.get(r.capture_id)
                if row is None or row.state != PENDING or row.sha256 != r.sha256:
                    counts["ignored"] += row is None or row.state not in (SYNCED, QUARANTINED)
                    continue
                if r.outcome in receipts.DELIVERED:
                    delivered.append((row.id, r.key))
                else:
                    self.quarantine(row.id, f"sync: {r.outcome}: {r.reason}")
                    counts["quarantined"] += 1
            now = self._wall()
            self.index.mark_synced(delivered, now)
            counts["synced"] = len(delivered)
            counts["purged"] = self.purge_synced()
            self.index.set_meta(last_pass_at=now, **({"last_success_at": now} if delivered
                                                     else {}))
        return counts

    # -- retention ------------------------------------------------------------------------

    def purge_synced(self, older_than_s: float | None = None) -> int:
        """Delete local copies of captures the server confirmed (default: after the grace)."""
        grace = self.cfg.retention_h * 3600 if older_than_s is None else older_than_s
        now = self._wall()
        n = 0
        for row in self.index.synced_with_local_copy(now - grace):
            self.sidecar_of(row.id).unlink(missing_ok=True)
            atomic.remove_durably(self.path_of(row.id))
            self.index.mark_local_deleted(row.id, now)
            n += 1
        if n:
            log.info("deleted %d local copies of uploaded captures", n)
        return n

    # -- reporting ------------------------------------------------------------------------

    def pending_count(self) -> int:
        return self.index.counts().get(PENDING, 0)

    def stats(self) -> dict[str, Any]:
        counts = self.index.counts()
        oldest = self.index.oldest(PENDING)
        meta = self.index.meta()
        return {
            "dir": str(self.root),
            "store_id": self.store_id,
            "last_capture_at": self.index.newest_wall_time(),
            "pending": counts.get(PENDING, 0),
            "synced": counts.get(SYNCED, 0),
            "quarantined": counts.get(QUARANTINED, 0),
            "oldest_pending_age_s": None if oldest is None else round(self._wall() - oldest, 1),
            "last_sync_success": meta.get("last_success_at"),
            "last_sync_error": meta.get("last_error"),
            "last_sync_error_at": meta.get("last_error_at"),
            "last_sync_pass": meta.get("last_pass_at"),
        }
