"""The back end against a real SeaweedFS (and PostgreSQL): ingest exactly once, quarantine."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import redirect_stdout
from io import StringIO
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import psycopg
import pytest

from kiosk.backend import cli as backend_cli
from kiosk.backend.keys import load_keys
from tests.s3server import ACCESS_KEY, SECRET_KEY, SeaweedS3
from tests.storehelp import SMALL, keypair
from tests.synchelp import Kiosk

pytestmark = pytest.mark.emulator

PREFIX = "fleet"


@pytest.fixture(autouse=True)
def backend_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """The back end's S3 credentials (kiosks use their own credentials files)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)


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
    buf = StringIO()
    with redirect_stdout(buf):
        rc = backend_cli.main(args)
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


def test_bad_objects_are_quarantined_with_a_reason_and_the_batch_goes_on(
        s3, kiosk_factory, keys, tmp_path):
    prefix = "bad-objects"
    k = kiosk_factory(s3, kiosk_id="kiosk-0", keys=keys, prefix=prefix, retention_h=24.0)
    k.save(9)
    other_keys = keypair(tmp_path / "other")
    stranger = kiosk_factory(s3, kiosk_id="kiosk-9", keys=other_keys, prefix=prefix)
    stranger.save(1)
    for kiosk in (k, stranger):
        assert kiosk.runner.drain().error is None
    admin = s3.client()
    keys_of = sorted(uploaded_captures([k]))  # 9 .bin keys, in order
    objs = {key: s3.objects(key)[key] for key in keys_of}

    def put(key: str, body: bytes) -> None:
        admin.put_object(Bucket=s3.bucket, Key=key, Body=body)

    def doc_of(key: str) -> dict[str, Any]:
        return json.loads(s3.objects(key[:-4] + ".json")[key[:-4] + ".json"])

    corrupted, truncated, mismatch, missing, swapped, source = keys_of[:6]
    flipped = bytearray(objs[corrupted])
    flipped[len(flipped) // 2] ^= 0x01
    put(corrupted, bytes(flipped))
    put(truncated, objs[truncated][: len(objs[truncated]) // 2])
    doc = doc_of(mismatch)
    put(mismatch[:-4] + ".json", json.dumps(dict(doc, object=keys_of[7])).encode())
    admin.delete_object(Bucket=s3.bucket, Key=missing)
    # a valid capture's sealed bytes under another capture's name, with a matching checksum
    put(swapped, objs[source])
    doc = doc_of(swapped)
    put(swapped[:-4] + ".json", json.dumps(dict(
        doc, sha256=hashlib.sha256(objs[source]).hexdigest(), size=len(objs[source]))).encode())
    day = keys_of[0].split("/")[-2]
    put(f"{prefix}/kiosk-0/{day}/0000000099-abcdef12-0123456789abcdef.json", b"not json")
    put(f"{prefix}/kiosk-0/{day}/evil.json", b"{}")
    put(f"{prefix}/kiosk-0/{day}/0000000098-abcdef12-0123456789abcdef.bin", b"half uploaded")

    dest = f"sqlite:{tmp_path / 'out.sqlite3'}"
    summary = run_ingest(s3, dest, [keys[1]], prefix=prefix)
    assert summary["rc"] == 0, summary  # bad objects are not a failure of the run
    good = {keys_of[6], keys_of[7], keys_of[8], source}
    assert set(ingested(dest)) == good
    q = quarantined(dest)
    reasons = {key: q[key].split(":")[0] for key in q}
    assert reasons == {
        corrupted: "checksum", truncated: "checksum", mismatch: "mismatch",
        missing: "missing", swapped: "mismatch",
        f"{prefix}/kiosk-0/{day}/0000000099-abcdef12-0123456789abcdef.bin": "bad document",
        f"{prefix}/kiosk-0/{day}/evil.bin": "unexpected name",
        next(iter(uploaded_captures([stranger]))): "sealed",
    }, q
    assert "another key" in q[next(iter(uploaded_captures([stranger])))]
    assert summary["quarantined"] == 8 and summary["incomplete"] == 1
    assert summary["quarantine_reasons"]["checksum"] == 2
    # quarantined objects are not tried again, unless asked after a fix (the missing key)
    again = run_ingest(s3, dest, [keys[1]], prefix=prefix)
    assert (again["ingested"], again["quarantined"], again["already_done"]) == (0, 0, 12)
    retry = run_ingest(s3, dest, [keys[1], other_keys[1]], prefix=prefix, retry=True)
    assert retry["ingested"] == 1 and retry["quarantined"] == 7
    assert set(ingested(dest)) == good | set(uploaded_captures([stranger]))
    assert next(iter(uploaded_captures([stranger]))) not in quarantined(dest)


def test_key_rotation_old_and_new_captures_both_open(s3, kiosk_factory, tmp_path):
    """The back end makes a new pair; kiosks get the new public key through their config
    (here: the key file replaced); captures name their key id; ingest holds both keys."""
    old_pub, old_priv = keypair(tmp_path / "2026-01")
    k = kiosk_factory(s3, kiosk_id="kiosk-r", keys=(old_pub, old_priv), prefix="rotation")
    k.save(2)
    new_pub, new_priv = keypair(tmp_path / "2026-07")
    old_pub.write_bytes(new_pub.read_bytes())  # the kiosk's store.public_key now holds the new
    k.save(2)
    assert k.runner.drain().uploaded == 4
    sides = [json.loads(s3.objects(key[:-4] + ".json")[key[:-4] + ".json"])
             for key in sorted(uploaded_captures([k]))]
    assert len({s["key_id"] for s in sides}) == 2
    assert set(load_keys([tmp_path])) == {s["key_id"] for s in sides}
    only_new = f"sqlite:{tmp_path / 'a.sqlite3'}"
    s = run_ingest(s3, only_new, [new_priv], prefix="rotation")
    assert (s["ingested"], s["quarantined"]) == (2, 2)
    both = f"sqlite:{tmp_path / 'b.sqlite3'}"
    s = run_ingest(s3, both, [tmp_path], prefix="rotation")  # finds both folders' keys
    assert (s["ingested"], s["quarantined"]) == (4, 0)




@pytest.fixture(scope="module")
def many(s3, keys, tmp_path_factory: pytest.TempPathFactory):
    """One kiosk's 300 uploaded captures, for the tests that kill things mid-ingest."""
    shm = Path("/dev/shm")
    root = Path(tempfile.mkdtemp(dir=shm if os.access(shm, os.W_OK) else None))
    k = Kiosk(root, s3, "many", keys=keys, retention_h=24.0, batch_size=1000)
    k.save(300)
    assert k.runner.drain().uploaded == 300
    yield k, uploaded_captures([k])
    k.close()
    shutil.rmtree(root, ignore_errors=True)


def _count(dest: str) -> int:
    if dest.startswith("sqlite:"):
        with sqlite3.connect(dest[len("sqlite:"):], timeout=5) as db:
            try:
                return int(db.execute("SELECT COUNT(*) FROM selfies").fetchone()[0])
            except sqlite3.OperationalError:
                return 0
    if dest.startswith("postgresql:"):
        with psycopg.connect(dest) as db:
            try:
                return int(db.execute("SELECT COUNT(*) FROM selfies").fetchone()[0])
            except psycopg.errors.UndefinedTable:
                return 0
    return len(list(Path(dest).glob("*/*/*.json")))


@pytest.mark.parametrize("kind", ["folder", "sqlite", "postgres"])
def test_ingest_sigkilled_then_rerun_gives_no_duplicate_and_no_loss(
        s3, many, keys, tmp_path, postgres, kind):
    _, expected = many
    dest = _dest(kind, tmp_path, postgres)
    cmd = [sys.executable, "-m", "kiosk.backend.cli", "ingest", "--endpoint", s3.endpoint,
           "--bucket", s3.bucket, "--prefix", "many", "--dest", dest, "--key", str(keys[1]),
           "--concurrency", "4", "--json"]
    env = dict(os.environ, AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY)
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while _count(dest) < 40 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    partial = _count(dest)
    assert 40 <= partial < 300, (partial, proc.stderr.read() if proc.stderr else b"")
    again = run_ingest(s3, dest, [keys[1]], prefix="many")
    assert again["rc"] == 0 and again["quarantined"] == 0, again
    assert again["ingested"] + again["already_done"] == 300
    assert again["ingested"] <= 300 - partial + 4  # at most the ones in flight redone
    assert set(ingested(dest)) == set(expected)  # none twice (checked inside), none missing


def test_server_killed_mid_ingest_then_rerun(own_s3, keys, tmp_path, fast_disk):
    own_s3.start()
    k = Kiosk(fast_disk / "k", own_s3, "outage", keys=keys, retention_h=24.0, batch_size=1000)
    try:
        k.save(300)
        assert k.runner.drain().uploaded == 300
        expected = uploaded_captures([k])
    finally:
        k.close()
    dest = f"sqlite:{tmp_path / 'out.sqlite3'}"
    summary: dict[str, Any] = {}

    def ingest() -> None:
        summary.update(run_ingest(own_s3, dest, [keys[1]], prefix="outage", concurrency=2))

    worker = threading.Thread(target=ingest)
    worker.start()
    deadline = time.monotonic() + 60
    while _count(dest) < 30 and time.monotonic() < deadline:
        time.sleep(0.01)
    own_s3.kill()
    worker.join(120)
    assert not worker.is_alive()
    assert summary["rc"] == 1 and (summary["failed"] or summary["errors"])
    assert summary["quarantined"] == 0  # the server's failure is not the objects' fault
    assert quarantined(dest) == {} and 30 <= _count(dest) < 300
    own_s3.start()
    for _ in range(10):  # a freshly restarted SeaweedFS may time out a request or two
        again = run_ingest(own_s3, dest, [keys[1]], prefix="outage")
        if again["rc"] == 0:
            break
        time.sleep(0.5)
    assert again["rc"] == 0 and again["quarantined"] == 0
    assert set(ingested(dest)) == set(expected)


def test_fifty_kiosks_uploading_while_ingest_runs(s3, keys, tmp_path, fast_disk):
    """50 simulated kiosks upload in rounds while ingest runs again and again; then every
    selfie is in the destination exactly once, and every kiosk is in the fleet."""
    kiosks = [Kiosk(fast_disk / f"k{i}", s3, "fifty", keys=keys, kiosk_id=f"kiosk-{i:02d}",
                    retention_h=24.0) for i in range(50)]
    dest = f"sqlite:{tmp_path / 'fleet.sqlite3'}"
    uploading = threading.Event()
    uploading.set()
    runs: list[dict[str, Any]] = []

    def kiosk_life(k: Kiosk) -> None:
        for round_ in range(3):
            deadline = time.monotonic() + 60
            while len(runs) < round_ and time.monotonic() < deadline:
                time.sleep(0.01)  # the next round uploads while ingest runs again
            k.save(2)
            assert k.runner.drain().error is None
        _write_status(k, fault=None)
        k.runner.beat()

    def ingest_loop() -> None:
        while uploading.is_set():
            runs.append(run_ingest(s3, dest, [keys[1]], prefix="fifty"))

    try:
        ingester = threading.Thread(target=ingest_loop)
        ingester.start()
        workers = [threading.Thread(target=kiosk_life, args=(k,)) for k in kiosks]
        for w in workers:
            w.start()
        for w in workers:
            w.join(120)
        uploading.clear()
        ingester.join(120)
        final = run_ingest(s3, dest, [keys[1]], prefix="fifty", concurrency=8)
        expected = uploaded_captures(kiosks)
        assert len(expected) == 300
        assert final["rc"] == 0 and all(r["quarantined"] == 0 for r in [*runs, final])
        assert len(runs) >= 3 and sum(r["ingested"] for r in runs) > 0
        assert sum(r["ingested"] for r in [*runs, final]) == 300
        assert set(ingested(dest)) == set(expected)
        beats = fleet_json(s3, "fifty")
        assert len(beats["kiosks"]) == 50 and beats["counts"]["ok"] == 50
    finally:
        for k in kiosks:
            k.close()


def _write_status(k: Kiosk, fault: str | None, outcomes: dict[str, int] | None = None,
                  age_s: float = 0.0) -> None:
    """The daemon's status snapshot (the production daemon writes it every ~5 s)."""
    written = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=age_s)
    snap = {"stage": "idle", "fault": fault, "uptime_s": 3600.0,
            "outcomes": outcomes or {"captured": 6}, "captures": 6, "fps": 15.0,
            "overruns": 2, "lag_ms": 1.0, "written_at": written.isoformat(),
            "store": {"last_capture_at": time.time(), "pending": 0}}
    (k.store.root / "status.json").write_text(json.dumps(snap))


def fleet_json(server: SeaweedS3, prefix: str, *extra: str) -> dict[str, Any]:
    buf = StringIO()
    with redirect_stdout(buf):
        rc = backend_cli.main(["fleet", "--endpoint", server.endpoint, "--bucket",
                               server.bucket, "--prefix", prefix, "--json", *extra])
    out = json.loads(buf.getvalue())
    out["rc"] = rc
    return out


def test_fleet_from_heartbeats_flags_faulted_stopped_and_attacked_kiosks(
        s3, kiosk_factory, keys, tmp_path):
    normal = {"captured": 40, "liveness_no_blink": 4}
    cases = {"kiosk-a": dict(fault=None), "kiosk-b": dict(fault=None), "kiosk-c": dict(fault=None),
             "kiosk-d": dict(fault="camera: not found"),
             "kiosk-e": dict(fault=None, age_s=900),  # the daemon stopped writing its status
             "kiosk-f": dict(fault=None, outcomes={"captured": 5, "liveness_no_blink": 30,
                                                   "presentation_attack": 15})}
    for kid, status in cases.items():
        k = kiosk_factory(s3, kiosk_id=kid, keys=keys, prefix="beats",
                          metrics_file=str(tmp_path / kid / "kiosk.prom"))
        k.save(1)
        assert k.runner.drain().uploaded == 1
        _write_status(k, **{"outcomes": normal, **status})
        k.runner.beat()
    prom = (tmp_path / "kiosk-d" / "kiosk.prom").read_text()
    assert 'kiosk_fault{reason="camera: not found"} 1' in prom and "kiosk_up 1" in prom
    assert "kiosk_up 0" in (tmp_path / "kiosk-e" / "kiosk.prom").read_text()
    metrics = tmp_path / "fleet.prom"
    report = fleet_json(s3, "beats", "--metrics", str(metrics))
    health = {k["kiosk_id"]: k["health"] for k in report["kiosks"]}
    assert health == {"kiosk-a": "ok", "kiosk-b": "ok", "kiosk-c": "ok",
                      "kiosk-d": "faulted", "kiosk-e": "faulted", "kiosk-f": "suspicious"}
    assert report["rc"] == 1  # something needs a person
    by_id = {k["kiosk_id"]: k for k in report["kiosks"]}
    assert by_id["kiosk-a"]["numbers"]["fps"] == 15.0
    assert by_id["kiosk-a"]["numbers"]["last_capture_at"] is not None
    assert by_id["kiosk-a"]["silent_s"] < 60
    assert 'kiosk_fleet_kiosks{health="faulted"} 2' in metrics.read_text()
