"""`kiosk-backend ingest`: list new captures, verify, open, write; exactly once, resumable.

A capture on the server is `<name>.bin` (sealed) and `<name>.json` (its plaintext document,
uploaded second): a listed `.json` means the capture is whole. Each one is checked against the
SHA-256 and size its document records, opened with the private key its header names, and its
sealed header must name the same capture. Anything that fails is quarantined in the
destination with the reason and never stops the batch; a server or network failure is not the
object's fault, so those are only counted and retried by the next run.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from nacl.public import PrivateKey

from kiosk.backend.destinations import Capture, Destination, DestinationError
from kiosk.errors import PayloadError, SyncError
from kiosk.store import payload

# <prefix>/<kiosk>/<date>/<seq>-<boot>-<store>.json: anything else under the prefix is not ours
NAME = re.compile(r"(?:^|/)(?P<kiosk>[A-Za-z0-9][A-Za-z0-9._-]{0,62})/(?P<day>\d{4}-\d{2}-\d{2})/"
                  r"(?P<name>(?P<cid>\d{10,}-[0-9a-f]{8})-(?P<store>[0-9a-f]{16}))\.json$")
HEARTBEAT = "heartbeat.json"
MAX_OBJECT = 64 * 2**20  # a selfie is well under 1 MB; anything this big is not one


class Quarantine(Exception):
    """This object is bad (its reason says how); the batch goes on."""


@dataclass
class Summary:
    bucket: str
    prefix: str
    destination: str
    concurrency: int
    listed: int = 0  # captures whose document is on the server
    already_done: int = 0
    ingested: int = 0
    quarantined: int = 0
    incomplete: int = 0  # a .bin whose .json has not arrived (an upload in progress)
    failed: int = 0  # server/network trouble: retried by the next run
    seconds: float = 0.0
    quarantine_reasons: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["quarantine_reasons"] = dict(self.quarantine_reasons)
        d["objects_per_s"] = round(self.ingested / self.seconds, 1) if self.seconds else 0.0
        d["seconds"] = round(self.seconds, 3)
        return d

    @property
    def ok(self) -> bool:
        return not self.failed and not self.errors


def _reason_class(reason: str) -> str:
    return reason.split(":")[0]


class Ingest:
    def __init__(self, client: Any, *, bucket: str, prefix: str, keys: Mapping[str, PrivateKey],
                 dest: Destination, concurrency: int = 8, retry_quarantined: bool = False,
                 progress: Callable[[Summary, bool], None] | None = None) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.keys = keys
        self.dest = dest
        self.concurrency = max(1, concurrency)
        self.retry_quarantined = retry_quarantined
        self._progress = progress
        self._lock = threading.Lock()
        self.summary = Summary(bucket, self.prefix, dest.label, self.concurrency)

    # -- listing ------------------------------------------------------------------------

    def _pages(self) -> Iterator[list[str]]:
        """Each listing page's whole captures (their .json keys), counting incomplete ones."""
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=f"{self.prefix}/" if self.prefix else "")
        pending_bin: str | None = None
        for page in pages:
            docs = []
            for obj in page.get("Contents", []):
                key = obj["Key"]
                if key.endswith(".bin"):
                    if pending_bin is not None:
                        self.summary.incomplete += 1
                    pending_bin = key
                elif key.endswith(".json") and not key.endswith("/" + HEARTBEAT):
                    if pending_bin is not None and pending_bin[:-4] != key[:-5]:
                        self.summary.incomplete += 1
                    pending_bin = None
                    docs.append(key)
            yield docs
        if pending_bin is not None:
            self.summary.incomplete += 1

    # -- the run ------------------------------------------------------------------------

    def run(self) -> Summary:
        t0 = time.monotonic()
        # At most 2 x concurrency objects in flight, whatever waits in the bucket: memory stays
        # bounded by that and one listing page (1,000 keys).
        slots = threading.BoundedSemaphore(2 * self.concurrency)
        try:
            with ThreadPoolExecutor(self.concurrency, thread_name_prefix="ingest") as pool:
                for docs in self._pages():
                    done = self.dest.settled([d[:-5] + ".bin" for d in docs],
                                             self.retry_quarantined)
                    with self._lock:
                        self.summary.listed += len(docs)
                    self._count(already_done=len(done))
                    for key in docs:
                        if key[:-5] + ".bin" in done:
                            continue
                        slots.acquire()
                        fut = pool.submit(self._guarded, key)
                        fut.add_done_callback(lambda _f: slots.release())
        except (ClientError, BotoCoreError) as e:
            self.summary.errors.append(f"listing stopped: {_describe(e)}")
        except DestinationError as e:
            self.summary.errors.append(str(e))
        self.summary.seconds = time.monotonic() - t0
        self._tick(True)
        return self.summary

    def _tick(self, final: bool) -> None:
        if self._progress is not None:
            self._progress(self.summary, final)

    def _guarded(self, doc_key: str) -> None:
        try:
            outcome = self._one(doc_key)
        except Quarantine as q:
            reason = str(q)
            try:
                self.dest.quarantine(doc_key[:-5] + ".bin", _kiosk_of(doc_key), reason)
            except DestinationError as e:
                self._count(failed=1, error=str(e))
                return
            with self._lock:
                self.summary.quarantined += 1
                self.summary.quarantine_reasons[_reason_class(reason)] += 1
            self._tick(False)
        except (SyncError, DestinationError) as e:
            self._count(failed=1, error=str(e))
        except Exception as e:  # a bug must not stop the batch either; it is reported
            self._count(failed=1, error=f"{doc_key}: unexpected {type(e).__name__}: {e}")
        else:
            self._count(ingested=int(outcome), already_done=int(not outcome))

    def _count(self, *, ingested: int = 0, already_done: int = 0, failed: int = 0,
               error: str | None = None) -> None:
        with self._lock:
            self.summary.ingested += ingested
            self.summary.already_done += already_done
            self.summary.failed += failed
            if error and len(self.summary.errors) < 20:
                self.summary.errors.append(error)
        self._tick(False)

    def _get(self, key: str) -> bytes | None:
        try:
            obj = self.client.get_object(Bucket=self.bucket, Key=key)
            if int(obj.get("ContentLength") or 0) > MAX_OBJECT:
                raise Quarantine(f"too large: {obj['ContentLength']} bytes")
            return bytes(obj["Body"].read())
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise SyncError(f"{key}: {_describe(e)}") from e
        except BotoCoreError as e:
            raise SyncError(f"{key}: {_describe(e)}") from e

    def _one(self, doc_key: str) -> bool:
        """Ingest one capture; True if written now, False if the destination had it."""
        m = NAME.search(doc_key)
        if m is None:
            raise Quarantine(f"unexpected name: {doc_key} is not <kiosk>/<date>/<capture>.json")
        bin_key = doc_key[:-5] + ".bin"
        raw_doc = self._get(doc_key)
        if raw_doc is None:
            raise SyncError(f"{doc_key} vanished while listed")
        try:
            doc = json.loads(raw_doc)
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise Quarantine("bad document: not JSON") from e
        _check_document(doc, m, bin_key)
        data = self._get(bin_key)
        if data is None:
            raise Quarantine("missing: the document is there, the sealed object is not")
        if len(data) != doc["size"] or hashlib.sha256(data).hexdigest() != doc["sha256"]:
            raise Quarantine(f"checksum: {len(data)} bytes, the document records {doc['size']} "
                             "and another SHA-256 (truncated or corrupted)")
        try:
            key_id, header, jpeg = payload.open_sealed(self.keys, data)
        except PayloadError as e:
            raise Quarantine(f"sealed: {e}") from e
        if header and (header.get("capture_id"), header.get("store_id")) != (
                doc["capture_id"], doc["store_id"]):
            raise Quarantine("mismatch: the sealed header names another capture")
        return self.dest.write(Capture(bin_key, m["kiosk"], doc, key_id, header, jpeg))


def _check_document(doc: Any, m: re.Match[str], bin_key: str) -> None:
    if not isinstance(doc, dict):
        raise Quarantine("bad document: not a JSON object")
    need = {"capture_id": str, "store_id": str, "sha256": str, "size": int}
    for name, kind in need.items():
        if not isinstance(doc.get(name), kind):
            raise Quarantine(f"bad document: {name} missing or not {kind.__name__}")
    claims = (doc.get("kiosk_id"), doc["capture_id"], doc["store_id"], doc.get("object"))
    if claims != (m["kiosk"], m["cid"], m["store"], bin_key):
        raise Quarantine("mismatch: the document's kiosk, capture, store or object differs "
                         "from its key")


def _kiosk_of(key: str) -> str:
    m = NAME.search(key)
    return m["kiosk"] if m else ""


def _describe(e: Exception) -> str:
    if isinstance(e, ClientError):
        err = e.response.get("Error", {})
        return f"{err.get('Code', '')} {err.get('Message', '')}".strip()
    return str(e)


class Progress:
    """One updating line on a terminal: done/listed, quarantined, rate (5 redraws a second)."""

    def __init__(self, stream: Any, width: int = 30) -> None:
        self.stream = stream
        self.width = width
        self.t0 = time.monotonic()
        self._next = 0.0
        self._lock = threading.Lock()

    def __call__(self, s: Summary, final: bool) -> None:
        now = time.monotonic()
        with self._lock:
            if not final and now < self._next:
                return
            self._next = now + 0.2
            self._draw(s, final)

    def _draw(self, s: Summary, final: bool) -> None:
        todo = max(s.listed, 1)
        done = s.ingested + s.already_done + s.quarantined + s.failed
        filled = int(self.width * min(done, todo) / todo)
        rate = s.ingested / max(time.monotonic() - self.t0, 1e-6)
        self.stream.write(f"\r[{'#' * filled}{'.' * (self.width - filled)}] {done}/{s.listed} "
                          f"new {s.ingested}, quarantined {s.quarantined}, failed {s.failed}, "
                          f"{rate:.0f}/s" + ("\n" if final else ""))
        self.stream.flush()
