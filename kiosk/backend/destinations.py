"""Where ingested selfies go: a folder (default), SQLite or PostgreSQL; idempotent by object key.

Every destination keys a capture by its `.bin` object key, which is unique for all time (it
carries the kiosk's store id), so writing it twice is a no-op: that, not bookkeeping about
what was listed, is what makes a killed and re-run ingest exactly-once.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from kiosk.errors import KioskError
from kiosk.store import atomic


class DestinationError(KioskError, OSError):
    """The destination cannot be opened or written (ingest stops; nothing is lost)."""


@dataclass(frozen=True)
class Capture:
    key: str  # the .bin object key
    kiosk_id: str
    document: dict[str, Any]  # the plaintext .json uploaded beside it
    key_id: str
    sealed: dict[str, Any]  # the header that was sealed with the JPEG (face metadata)
    jpeg: bytes

    @property
    def relative(self) -> str:
        """<kiosk_id>/<date>/<capture_id>-<store_id>, checked safe by the ingest's key parser."""
        return "/".join(self.key.split("/")[-3:])[:-len(".bin")]

    def record(self) -> dict[str, Any]:
        return {"object": self.key, "kiosk_id": self.kiosk_id, "key_id": self.key_id,
                "document": self.document, "metadata": self.sealed.get("metadata", {}),
                "ingested_at": time.time()}


class Destination(Protocol):
    label: str

    def settled(self, keys: Sequence[str], retry_quarantined: bool) -> set[str]:
        """Those of `keys` already ingested (or quarantined, unless retrying those)."""
        ...

    def write(self, cap: Capture) -> bool:
        """Store one capture; False when it was already there."""
        ...

    def quarantine(self, key: str, kiosk_id: str, reason: str) -> None: ...

    def close(self) -> None: ...


def open_destination(spec: str) -> Destination:
    """`DIR` (a folder), `sqlite:PATH`, or `postgresql://...` (a libpq URL)."""
    if spec.startswith(("postgresql:", "postgres:")):
        return PostgresDestination(spec)
    if spec.startswith("sqlite:"):
        return SqliteDestination(Path(spec[len("sqlite:"):]))
    return FolderDestination(Path(spec))


class FolderDestination:
    """<dir>/<kiosk>/<date>/<capture>-<store>.jpg and .json (written last: it marks done);
    quarantine records in <dir>/_quarantine/<sha256 of the key>.json."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.label = f"folder:{root}"
        try:
            (root / "_quarantine").mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise DestinationError(f"cannot create the destination {root}: {e.strerror}") from e

    def _q(self, key: str) -> Path:
        return self.root / "_quarantine" / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.json"

    def _done(self, key: str) -> Path:
        return self.root / ("/".join(key.split("/")[-3:])[:-len(".bin")] + ".json")

    def settled(self, keys: Sequence[str], retry_quarantined: bool) -> set[str]:
        return {k for k in keys
                if self._done(k).exists() or (not retry_quarantined and self._q(k).exists())}

    def write(self, cap: Capture) -> bool:
        base = self.root / cap.relative
        done = base.with_suffix(".json")
        if done.exists():
            return False
        try:
            base.parent.mkdir(parents=True, exist_ok=True)
            atomic.write_private(base.with_suffix(".jpg"), cap.jpeg, mode=0o640)
            atomic.write_private(done, json.dumps(cap.record(), sort_keys=True, indent=1)
                                 .encode(), mode=0o640)
        except OSError as e:
            raise DestinationError(f"cannot write {base}: {e.strerror or e}") from e
        self._q(cap.key).unlink(missing_ok=True)
        return True

    def quarantine(self, key: str, kiosk_id: str, reason: str) -> None:
        doc = {"object": key, "kiosk_id": kiosk_id, "reason": reason, "at": time.time()}
        try:
            atomic.write_private(self._q(key), json.dumps(doc, sort_keys=True).encode())
        except OSError as e:
            raise DestinationError(f"cannot record quarantine in {self.root}: {e}") from e

    def close(self) -> None:
        pass


_COLUMNS = ("object_key", "kiosk_id", "capture_id", "store_id", "seq", "wall_time",
            "clock_synchronised", "sha256", "key_id", "document", "metadata", "jpeg",
            "ingested_at")


def _row(cap: Capture) -> tuple[Any, ...]:
    d = cap.document
    return (cap.key, cap.kiosk_id, d["capture_id"], d["store_id"], d.get("seq"),
            d.get("wall_time"), bool(d.get("clock_synchronised")), d["sha256"], cap.key_id,
            json.dumps(d, sort_keys=True), json.dumps(cap.sealed.get("metadata", {}),
                                                      sort_keys=True), cap.jpeg, time.time())


class _Sql:
    """What SQLite and PostgreSQL share; `ph` is the driver's placeholder."""

    ph = "?"
    blob_ph = "?"  # the JPEG's placeholder (psycopg: %b, sent in binary, not hex text)
    CHUNK = 500

    def _execute(self, sql: str, args: Sequence[Any] = ()) -> Any:
        raise NotImplementedError

    def settled(self, keys: Sequence[str], retry_quarantined: bool) -> set[str]:
        tables = ("selfies",) if retry_quarantined else ("selfies", "quarantine")
        out: set[str] = set()
        for i in range(0, len(keys), self.CHUNK):
            chunk = list(keys[i:i + self.CHUNK])
            marks = ",".join([self.ph] * len(chunk))
            for table in tables:
                rows = self._execute(
                    f"SELECT object_key FROM {table} WHERE object_key IN ({marks})", chunk)
                out.update(r[0] for r in rows)
        return out

    def _insert_sql(self) -> str:
        marks = ",".join(self.blob_ph if c == "jpeg" else self.ph for c in _COLUMNS)
        return (f"INSERT INTO selfies ({', '.join(_COLUMNS)}) VALUES ({marks}) "
                "ON CONFLICT (object_key) DO NOTHING")

    def _quarantine_sql(self) -> str:
        p = self.ph
        return (f"INSERT INTO quarantine (object_key, kiosk_id, reason, at) VALUES ({p},{p},{p},"
                f"{p}) ON CONFLICT (object_key) DO UPDATE SET reason = excluded.reason, "
                "at = excluded.at")


SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS selfies (
    object_key TEXT PRIMARY KEY, kiosk_id TEXT NOT NULL, capture_id TEXT NOT NULL,
    store_id TEXT NOT NULL, seq INTEGER, wall_time TEXT, clock_synchronised INTEGER,
    sha256 TEXT NOT NULL, key_id TEXT, document TEXT NOT NULL, metadata TEXT NOT NULL,
    jpeg BLOB NOT NULL, ingested_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS selfies_kiosk ON selfies (kiosk_id, wall_time);
CREATE TABLE IF NOT EXISTS quarantine (
    object_key TEXT PRIMARY KEY, kiosk_id TEXT, reason TEXT NOT NULL, at REAL NOT NULL);
"""


class SqliteDestination(_Sql):
    def __init__(self, path: Path) -> None:
        self.label = f"sqlite:{path}"
        self._lock = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False,
                                       timeout=30.0)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(SQLITE_SCHEMA)
        except (OSError, sqlite3.Error) as e:
            raise DestinationError(f"cannot open {path}: {e}") from e

    def _execute(self, sql: str, args: Sequence[Any] = ()) -> Any:
        with self._lock:
            try:
                return self._db.execute(sql, tuple(args)).fetchall()
            except sqlite3.Error as e:
                raise DestinationError(f"{self.label}: {e}") from e

    def write(self, cap: Capture) -> bool:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                new = self._db.execute(self._insert_sql(), _row(cap)).rowcount == 1
                self._db.execute("DELETE FROM quarantine WHERE object_key = ?", (cap.key,))
                self._db.execute("COMMIT")
            except sqlite3.Error as e:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise DestinationError(f"{self.label}: {e}") from e
        return new

    def quarantine(self, key: str, kiosk_id: str, reason: str) -> None:
        self._execute(self._quarantine_sql(), (key, kiosk_id, reason, time.time()))

    def close(self) -> None:
        self._db.close()


POSTGRES_SCHEMA = """
CREATE TABLE IF NOT EXISTS selfies (
    object_key TEXT PRIMARY KEY, kiosk_id TEXT NOT NULL, capture_id TEXT NOT NULL,
    store_id TEXT NOT NULL, seq BIGINT, wall_time TIMESTAMPTZ, clock_synchronised BOOLEAN,
    sha256 TEXT NOT NULL, key_id TEXT, document JSONB NOT NULL, metadata JSONB NOT NULL,
    jpeg BYTEA NOT NULL, ingested_at DOUBLE PRECISION NOT NULL);
-- a JPEG is compressed already: store it out of line without trying to compress it again
ALTER TABLE selfies ALTER COLUMN jpeg SET STORAGE EXTERNAL;
CREATE INDEX IF NOT EXISTS selfies_kiosk ON selfies (kiosk_id, wall_time);
CREATE TABLE IF NOT EXISTS quarantine (
    object_key TEXT PRIMARY KEY, kiosk_id TEXT, reason TEXT NOT NULL,
    at DOUBLE PRECISION NOT NULL);
"""


class PostgresDestination(_Sql):
    """One connection per worker thread; each capture is one transaction."""

    ph = "%s"
    blob_ph = "%b"

    def __init__(self, url: str) -> None:
        try:
            import psycopg
        except ImportError as e:
            raise DestinationError("PostgreSQL needs psycopg: pip install "
                                   "'selfie-kiosk[backend]'") from e
        self._psycopg = psycopg
        self.url = url
        self.label = "postgresql:" + url.split("@")[-1]  # never print a password
        self._local = threading.local()
        self._all: list[Any] = []
        self._lock = threading.Lock()
        with self._conn().transaction():
            for stmt in POSTGRES_SCHEMA.split(";"):
                if stmt.strip():
                    self._conn().execute(stmt)

    def _conn(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = self._psycopg.connect(self.url, autocommit=True)
            except self._psycopg.Error as e:
                raise DestinationError(f"cannot connect to {self.label}: {e}") from e
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def _execute(self, sql: str, args: Sequence[Any] = ()) -> Any:
        try:
            cur = self._conn().execute(sql, list(args))
            return cur.fetchall() if cur.description else []
        except self._psycopg.Error as e:
            raise DestinationError(f"{self.label}: {e}") from e

    def write(self, cap: Capture) -> bool:
        conn = self._conn()
        try:
            with conn.transaction():
                new = conn.execute(self._insert_sql(), _row(cap)).rowcount == 1
                conn.execute("DELETE FROM quarantine WHERE object_key = %s", (cap.key,))
        except self._psycopg.Error as e:
            raise DestinationError(f"{self.label}: {e}") from e
        return bool(new)

    def quarantine(self, key: str, kiosk_id: str, reason: str) -> None:
        self._execute(self._quarantine_sql(), (key, kiosk_id, reason, time.time()))

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
