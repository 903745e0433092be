"""The capture index: one SQLite database in WAL mode, shared by the kiosk and the sync process."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kiosk.errors import StoreError
from kiosk.store.payload import split_metadata

# States: a row is inserted as WRITING before its file exists and becomes PENDING once the file
# is durable, so a crash leaves either a row to finish or roll back, never an unknown file.
WRITING, PENDING, SYNCED, QUARANTINED = "writing", "pending", "synced", "quarantined"

SCHEMA = """
CREATE TABLE IF NOT EXISTS captures (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL UNIQUE,
    boot_id TEXT NOT NULL,
    wall_time REAL NOT NULL,
    clock_synchronised INTEGER NOT NULL,
    session_s REAL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    metadata TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    last_attempt_at REAL,
    synced_at REAL,
    remote_key TEXT,
    local_deleted_at REAL
);
CREATE INDEX IF NOT EXISTS captures_state ON captures (state, seq);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
INSERT OR IGNORE INTO counters VALUES ('seq', 0);
-- Generated once per store: object keys carry it, so a wiped and reinstalled store (same
-- kiosk id, same boot, same sequence numbers) can never name an object the old one wrote.
INSERT OR IGNORE INTO meta VALUES ('store_id', '"' || lower(hex(randomblob(8))) || '"');
"""
VERSION = 1  # PRAGMA user_version; 1: face-identifying metadata moved into the sealed file


@dataclass(frozen=True)
class CaptureRow:
    id: str
    seq: int
    boot_id: str
    wall_time: float
    clock_synchronised: bool
    session_s: float | None
    size: int
    sha256: str
    metadata: dict[str, Any]
    state: str
    attempts: int
    last_error: str | None
    last_attempt_at: float | None
    synced_at: float | None
    remote_key: str | None
    local_deleted_at: float | None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


_COLUMNS = ", ".join(CaptureRow.__dataclass_fields__)


def _row(r: tuple[Any, ...]) -> CaptureRow:
    values = list(r)
    values[4] = bool(values[4])
    values[8] = json.loads(values[8])
    return CaptureRow(*values)


class Index:
    """Thread-safe (one lock) access; other processes coordinate through SQLite's own locks."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            if not path.exists():
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))  # WAL/SHM inherit it
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False,
                                       timeout=10.0)
            self._db.execute("PRAGMA journal_mode=WAL")
            # FULL: a commit survives a power cut, which is the promise made to the person.
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(SCHEMA)
            self._migrate()
        except (OSError, sqlite3.Error) as e:
            raise StoreError(f"capture index {path} cannot be opened: {e}") from e
        self._lock = threading.RLock()
        self.store_id: str = self.meta()["store_id"]

    def _migrate(self) -> None:
        """Version 0 kept the face box, keypoints and colour in plaintext: keep only the rest."""
        if self._db.execute("PRAGMA user_version").fetchone()[0] >= VERSION:
            return
        self._db.execute("BEGIN IMMEDIATE")
        for cid, meta in self._db.execute("SELECT id, metadata FROM captures").fetchall():
            public, _ = split_metadata(json.loads(meta))
            self._db.execute("UPDATE captures SET metadata = ? WHERE id = ?",
                             (json.dumps(public, sort_keys=True), cid))
        self._db.execute(f"PRAGMA user_version = {VERSION}")
        self._db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as e:
                raise StoreError(f"capture index {self.path}: {e}") from e
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            try:
                self._db.execute("COMMIT")
            except sqlite3.Error as e:
                raise StoreError(f"capture index {self.path}: commit failed: {e}") from e

    def _query(self, sql: str, args: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return self._db.execute(sql, tuple(args)).fetchall()
            except sqlite3.Error as e:
                raise StoreError(f"capture index {self.path}: {e}") from e

    # -- writes ---------------------------------------------------------------------------

    def reserve(self, *, boot_id: str, wall_time: float, clock_synchronised: bool,
                session_s: float | None, metadata: str,
                seal: Callable[[str, int], bytes]) -> tuple[CaptureRow, bytes]:
        """Take the next sequence number and insert a WRITING row, in one transaction.

        `seal(capture_id, seq)` makes the file's bytes, so the sealed header can name its id."""
        with self._tx() as db:
            seq = db.execute("UPDATE counters SET value = value + 1 WHERE name = 'seq' "
                             "RETURNING value").fetchone()[0]
            cid = f"{seq:010d}-{boot_id[:8]}"
            data = seal(cid, seq)
            size, sha256 = len(data), hashlib.sha256(data).hexdigest()
            db.execute(
                "INSERT INTO captures (id, seq, boot_id, wall_time, clock_synchronised, "
                "session_s, size, sha256, metadata, state) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (cid, seq, boot_id, wall_time, int(clock_synchronised), session_s, size,
                 sha256, metadata, WRITING))
        row = self.get(cid)
        assert row is not None
        return row, data

    def set_state(self, cid: str, state: str, error: str | None = None) -> None:
        with self._tx() as db:
            db.execute("UPDATE captures SET state = ?, last_error = COALESCE(?, last_error) "
                       "WHERE id = ?", (state, error, cid))

    def delete(self, cid: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM captures WHERE id = ?", (cid,))

    def mark_attempt(self, ids: list[str], now: float) -> None:
        with self._tx() as db:
            db.executemany("UPDATE captures SET attempts = attempts + 1, last_attempt_at = ? "
                           "WHERE id = ?", [(now, cid) for cid in ids])

    def record_error(self, cid: str, error: str) -> None:
        with self._tx() as db:
            db.execute("UPDATE captures SET last_error = ? WHERE id = ?", (error, cid))

    def mark_synced(self, done: list[tuple[str, str]], now: float) -> None:
        """`done` holds (capture id, remote key) pairs confirmed by the server."""
        with self._tx() as db:
            db.executemany(
                "UPDATE captures SET state = ?, synced_at = ?, remote_key = ?, last_error = NULL"
                " WHERE id = ? AND state = ?",
                [(SYNCED, now, key, cid, PENDING) for cid, key in done])

    def mark_local_deleted(self, cid: str, now: float) -> None:
        with self._tx() as db:
            db.execute("UPDATE captures SET local_deleted_at = ? WHERE id = ?", (now, cid))

    def set_meta(self, **values: Any) -> None:
        with self._tx() as db:
            db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                           [(k, json.dumps(v)) for k, v in values.items()])

    # -- reads ----------------------------------------------------------------------------

    def get(self, cid: str) -> CaptureRow | None:
        rows = self._query(f"SELECT {_COLUMNS} FROM captures WHERE id = ?", (cid,))
        return _row(rows[0]) if rows else None

    def rows(self, state: str | None = None, limit: int = -1) -> list[CaptureRow]:
        where, args = ("WHERE state = ?", (state,)) if state else ("", ())
        rows = self._query(f"SELECT {_COLUMNS} FROM captures {where} ORDER BY seq LIMIT ?",
                           (*args, limit))
        return [_row(r) for r in rows]

    def upload_batch(self, limit: int) -> list[CaptureRow]:
        """Pending captures, fewest attempts first: one that keeps failing cannot starve others."""
        rows = self._query(f"SELECT {_COLUMNS} FROM captures WHERE state = ? "
                           "ORDER BY attempts, seq LIMIT ?", (PENDING, limit))
        return [_row(r) for r in rows]

    def synced_with_local_copy(self, synced_before: float) -> list[CaptureRow]:
        rows = self._query(
            f"SELECT {_COLUMNS} FROM captures WHERE state = ? AND local_deleted_at IS NULL "
            "AND synced_at <= ? ORDER BY seq", (SYNCED, synced_before))
        return [_row(r) for r in rows]

    def newest_wall_time(self) -> float | None:
        rows = self._query("SELECT MAX(wall_time) FROM captures")
        return rows[0][0] if rows else None

    def counts(self) -> dict[str, int]:
        return {s: n for s, n in self._query(
            "SELECT state, COUNT(*) FROM captures GROUP BY state")}

    def oldest(self, state: str) -> float | None:
        rows = self._query("SELECT MIN(wall_time) FROM captures WHERE state = ?", (state,))
        return rows[0][0] if rows else None

    def meta(self) -> dict[str, Any]:
        return {k: json.loads(v) for k, v in self._query("SELECT key, value FROM meta")}
