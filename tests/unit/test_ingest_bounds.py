"""Ingest's engine with 10,000 objects waiting: bounded memory and objects in flight."""

from __future__ import annotations

import hashlib
import io
import json
import threading
import tracemalloc
from typing import Any

import pytest
from nacl.public import PrivateKey, SealedBox

from kiosk.backend.ingest import Ingest

pytestmark = pytest.mark.unit

N = 10_000
BODY = 32 * 1024  # 10,000 of these held at once would be 330 MB


class FakeBucket:
    """list_objects_v2 pages and get_object, as boto3 gives them, for N whole captures.

    Every capture is the same format-0 sealed blob (no header to match), so making them
    costs nothing; each GET still returns a fresh copy, like a real response."""

    def __init__(self, key: PrivateKey) -> None:
        jpeg = b"\xff\xd8" + bytes(BODY) + b"\xff\xd9"
        self.blob = bytes(SealedBox(key.public_key).encrypt(jpeg))
        self.lock = threading.Lock()
        self.in_flight = 0
        self.most_in_flight = 0

    def name(self, i: int) -> str:
        return f"p/kiosk-{i % 50}/2026-01-01/{i:010d}-abcdef12-0123456789abcdef"

    def get_paginator(self, _: str) -> Any:
        bucket = self

        class Pages:
            def paginate(self, **_: Any) -> Any:
                for start in range(0, N, 1000):
                    yield {"Contents": [{"Key": bucket.name(i) + ext}
                                        for i in range(start, start + 1000)
                                        for ext in (".bin", ".json")]}
        return Pages()

    def get_object(self, Bucket: str, Key: str) -> dict[str, Any]:  # noqa: N803 (boto3's)
        if Key.endswith(".json"):
            name = Key[:-5]
            kiosk, cid = name.split("/")[1], name.split("/")[-1]
            doc = {"capture_id": cid[:19], "store_id": cid[20:], "kiosk_id": kiosk,
                   "object": name + ".bin", "sha256": hashlib.sha256(self.blob).hexdigest(),
                   "size": len(self.blob)}
            body = json.dumps(doc).encode()
        else:
            with self.lock:
                self.in_flight += 1
                self.most_in_flight = max(self.most_in_flight, self.in_flight)
            body = bytes(bytearray(self.blob))
        return {"Body": io.BytesIO(body), "ContentLength": len(body)}


class CountingDestination:
    label = "count"

    def __init__(self, bucket: FakeBucket) -> None:
        self.bucket = bucket
        self.written = 0

    def settled(self, keys: Any, retry_quarantined: bool) -> set[str]:
        return set()

    def write(self, cap: Any) -> bool:
        assert len(cap.jpeg) == BODY + 4
        with self.bucket.lock:
            self.bucket.in_flight -= 1
            self.written += 1
        return True

    def quarantine(self, key: str, kiosk_id: str, reason: str) -> None:
        raise AssertionError(reason)

    def close(self) -> None:
        pass


def test_ten_thousand_waiting_objects_stay_bounded_in_memory():
    key = PrivateKey.generate()
    bucket = FakeBucket(key)
    dest = CountingDestination(bucket)
    ingest = Ingest(bucket, bucket="b", prefix="p", keys={"k": key}, dest=dest, concurrency=4)
    tracemalloc.start()
    try:
        summary = ingest.run()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (summary.listed, summary.ingested, summary.quarantined) == (N, N, 0)
    assert dest.written == N
    assert bucket.most_in_flight <= 2 * 4 + 4  # queued + running, never the whole backlog
    assert peak < 40 * 2**20, f"peak {peak / 2**20:.0f} MB"


def test_progress_bar_redraws_one_line_and_ends_it():
    from kiosk.backend.ingest import Progress, Summary

    out = io.StringIO()
    bar = Progress(out, width=10)
    s = Summary("b", "p", "count", 4, listed=10, ingested=5, quarantined=1)
    bar(s, False)
    bar(s, False)  # within 0.2 s: not redrawn
    s.ingested = 9
    bar(s, True)
    lines = out.getvalue().split("\r")[1:]
    assert len(lines) == 2
    assert lines[0].startswith("[######....] 6/10 new 5, quarantined 1")
    assert lines[1].startswith("[##########] 10/10 new 9") and lines[1].endswith("\n")
