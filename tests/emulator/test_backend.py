"""The back end against a real SeaweedFS (and PostgreSQL): ingest exactly once, quarantine."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import psycopg
import pytest

from kiosk.backend import cli as backend_cli
from kiosk.backend.destinations import open_destination
from kiosk.backend.ingest import Ingest
from kiosk.backend.keys import load_keys
from kiosk.store import crypto
from tests.s3server import ACCESS_KEY, SECRET_KEY, SeaweedS3
from tests.storehelp import SMALL, keypair
from tests.synchelp import Kiosk

pytestmark = pytest.mark.emulator

PREFIX = "fleet"


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return keypair(tmp_path_factory.mktemp("backend-keys"))


def _dest(kind: str, tmp: Path, postgres: Any) -> str:
    if kind == "folder":
        return str(tmp / "ingested")
    if kind == "sqlite":
        return f"sqlite:{tmp / 'ingested.sqlite3'}"
    with psycopg.connect(postgres.url, autocommit=True) as c:
        db = f"t{os.getpid()}_{time.monotonic_ns()}"
        c.execute(f"CREATE DATABASE {db}")
    return postgres.url.rsplit("/", 1)[0] + "/" + db


def ingested(spec: str) -> dict[str, dict[str, Any]]:
    """Object key -> what the destination holds (jpeg, metadata, document), any destination;
    fails if one capture is there twice."""
    out: dict[str, dict[str, Any]] = {}
    if spec.startswith("sqlite:") or spec.startswith("postgresql:"):
        q = "SELECT object_key, jpeg, metadata, document FROM selfies"
        if spec.startswith("sqlite:"):
            with sqlite3.connect(spec[len("sqlite:"):]) as db:
                rows = [(k, j, json.loads(m), json.loads(d)) for k, j, m, d in db.execute(q)]
        else:
            with psycopg.connect(spec) as db:
                rows = [(k, bytes(j), m, d) for k, j, m, d in db.execute(q)]
        for key, jpeg, meta, doc in rows:
            assert key not in out, f"{key} ingested twice"
            out[key] = {"jpeg": jpeg, "metadata": meta, "document": doc}
        return out
    root = Path(spec)
    for doc_path in root.glob("*/*/*.json"):
        rec = json.loads(doc_path.read_text())
        assert rec["object"] not in out, f"{rec['object']} ingested twice"
        out[rec["object"]] = {"jpeg": doc_path.with_suffix(".jpg").read_bytes(),
                              "metadata": rec["metadata"], "document": rec["document"]}
    return out


def quarantined(spec: str) -> dict[str, str]:
    if spec.startswith("sqlite:"):
        with sqlite3.connect(spec[len("sqlite:"):]) as db:
            return dict(db.execute("SELECT object_key, reason FROM quarantine"))
    if spec.startswith("postgresql:"):
        with psycopg.connect(spec) as db:
            return dict(db.execute("SELECT object_key, reason FROM quarantine").fetchall())
    return {d["object"]: d["reason"] for d in
            (json.loads(p.read_text()) for p in (Path(spec) / "_quarantine").glob("*.json"))}


def run_ingest(server: SeaweedS3, dest: str, key_paths: list[Path], prefix: str = PREFIX,
               concurrency: int = 4, retry: bool = False) -> dict[str, Any]:
    args = ["ingest", "--endpoint", server.endpoint, "--bucket", server.bucket,
            "--prefix", prefix, "--dest", dest, "--concurrency", str(concurrency), "--json"]
    for k in key_paths:
        args += ["--key", str(k)]
    if retry:
        args.append("--retry-quarantined")
    env = {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        from io import StringIO
        from contextlib import redirect_stdout
        buf = StringIO()
        with redirect_stdout(buf):
            rc = backend_cli.main(args)
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    summary = json.loads(buf.getvalue())
    summary["rc"] = rc
    return summary


def uploaded_captures(kiosks: list[Kiosk]) -> dict[str, str]:
    """.bin key -> capture id, from each kiosk's index (what must be ingested exactly once)."""
    out = {}
    for k in kiosks:
        for row in k.store.index.rows("synced"):
            out[row.remote_key] = row.id
    return out


@pytest.mark.parametrize("kind", ["folder", "sqlite", "postgres"])
def test_ingest_end_to_end_then_nothing_twice(s3, kiosk_factory, keys, tmp_path, postgres,
                                              kind):
    kiosks = [kiosk_factory(s3, kiosk_id=f"kiosk-{i}", keys=keys, prefix=PREFIX + kind)
              for i in range(3)]
    for k in kiosks:
        k.save(4)
        assert k.runner.drain().uploaded == 4
    dest = _dest(kind, tmp_path, postgres)
    first = run_ingest(s3, dest, [keys[1].parent], prefix=PREFIX + kind)
    assert first["rc"] == 0, first
    assert (first["ingested"], first["quarantined"], first["failed"]) == (12, 0, 0)
    got = ingested(dest)
    expected = uploaded_captures(kiosks)
    assert set(got) == set(expected)
    for key, rec in got.items():
        image = cv2.imdecode(np.frombuffer(rec["jpeg"], np.uint8), cv2.IMREAD_COLOR)
        assert image.shape == SMALL.shape
        assert "n" in rec["metadata"]  # the sealed face metadata, opened
        assert rec["document"]["capture_id"] == expected[key]
    again = run_ingest(s3, dest, [keys[1].parent], prefix=PREFIX + kind)
    assert (again["ingested"], again["already_done"], again["rc"]) == (0, 12, 0)
    assert set(ingested(dest)) == set(expected)
