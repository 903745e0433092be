"""Capture store: encryption, permissions, metadata, readiness reasons, repair, retention."""

from __future__ import annotations

import argparse
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from kiosk import config
from kiosk.errors import StoreError, StoreFullError, StoreKeyError
from kiosk.store import CaptureStore, crypto, open_store, payload, resolve_dir
from kiosk.store import cli as store_cli
from kiosk.store.index import PENDING, QUARANTINED, SYNCED, WRITING
from tests.storehelp import SMALL, decrypt_jpeg, keypair, make_store, open_capture

pytestmark = pytest.mark.unit


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    return keypair(tmp_path)


@pytest.fixture
def store(tmp_path: Path, keys: tuple[Path, Path]):
    s = make_store(tmp_path, keys[0])
    s.repair()
    yield s
    s.close()


def test_save_seals_face_metadata_with_the_image_and_keeps_the_rest_public(store, keys):
    meta = {"face": np.array([10, 20, 30, 40]), "sharpness": np.float32(12.5), "session_s": 7.25,
            "models": {"eye_state": "1.0"}}
    cid = store.save(SMALL, meta)
    data = store.path_of(cid).read_bytes()
    assert b"JFIF" not in data and not data.startswith(b"\xff\xd8")
    assert np.abs(decrypt_jpeg(keys[1], data)[..., ::-1].astype(int) - SMALL).mean() < 3
    header, _ = open_capture(keys[1], data)
    assert header == {"format": "kiosk-capture/1", "capture_id": cid, "seq": 1,
                      "store_id": store.store_id,
                      "metadata": {"face": [10, 20, 30, 40], "sharpness": 12.5}}
    row = store.index.get(cid)
    assert row is not None and row.state == PENDING and row.seq == 1
    assert row.metadata == {"session_s": 7.25, "models": {"eye_state": "1.0"}}
    assert row.session_s == 7.25 and row.boot_id and row.wall_time > 1e9
    assert cid == f"{1:010d}-{row.boot_id[:8]}"
    # the plaintext sidecar the sync service uploads says nothing about the face
    side = json.loads(store.sidecar_of(cid).read_text())
    assert side["metadata"] == row.metadata and side["sha256"] == row.sha256
    assert side["key_id"] == payload.key_id(crypto.load_public_key(keys[0]))
    assert side["store_id"] == store.store_id and len(store.store_id) == 16
    assert "face" not in store.sidecar_of(cid).read_text()
    index_bytes = b"".join(p.read_bytes() for p in store.root.glob("index.sqlite3*"))
    assert b"sharpness" not in index_bytes and b"session_s" in index_bytes


def test_old_index_loses_its_plaintext_face_data_and_gains_sidecars(tmp_path, keys, store):
    """Format 0 kept the face box in the index and had no sidecar: migrated on open."""
    cid = store.save(SMALL, {"face": [1, 2, 3, 4], "session_s": 1.0})
    db = store.index._db
    db.execute("UPDATE captures SET metadata = ?", (json.dumps({"face": [1, 2, 3, 4],
                                                                "session_s": 1.0}),))
    db.execute("PRAGMA user_version = 0")
    store.sidecar_of(cid).unlink()
    store.close()
    again = make_store(tmp_path, keys[0])
    again.repair()
    assert again.index.get(cid).metadata == {"session_s": 1.0}
    assert json.loads(again.sidecar_of(cid).read_text())["metadata"] == {"session_s": 1.0}
    again.close()


def test_only_sealed_files_and_sidecars_are_group_readable(store):
    """The sync service's user (in the kiosk group) reads what it uploads, nothing else."""
    cid = store.save(SMALL, {})
    assert store.index.path.stat().st_mode & 0o777 == 0o600
    for p in (store.path_of(cid), store.sidecar_of(cid)):
        assert p.stat().st_mode & 0o777 == 0o640, p
    assert store.captures_dir.stat().st_mode & 0o777 == 0o750
    assert store.quarantine_dir.stat().st_mode & 0o077 == 0


def test_sequence_survives_reopen(tmp_path, keys, store):
    first = store.save(SMALL, {})
    store.close()
    again = make_store(tmp_path, keys[0])
    second = again.save(SMALL, {})
    assert again.index.get(second).seq == again.index.get(first).seq + 1
    again.close()


def test_missing_key_is_an_out_of_service_reason(tmp_path):
    s = make_store(tmp_path, tmp_path / "nope.key")
    with pytest.raises(StoreKeyError, match="public key file not found"):
        s.check_ready()
    with pytest.raises(StoreKeyError):
        s.save(SMALL, {})
    assert s.index.rows() == []


@pytest.mark.parametrize("content", [b"", b"not base64 !!", b"c2hvcnQ=\n", b"\x00" * 32])
def test_malformed_key_is_an_out_of_service_reason(tmp_path, content):
    bad = tmp_path / "bad.key"
    bad.write_bytes(content)
    with pytest.raises(StoreKeyError, match="malformed"):
        make_store(tmp_path, bad).check_ready()


def test_reserve_above_free_space_goes_out_of_service(tmp_path, keys):
    free_mb = shutil.disk_usage(tmp_path).free // 2**20
    s = make_store(tmp_path, keys[0], reserve_mb=free_mb + 1024)
    with pytest.raises(StoreFullError, match="disk almost full"):
        s.check_ready()
    with pytest.raises(StoreFullError):
        s.save(SMALL, {})
    assert s.index.rows() == [] and list(s.captures_dir.iterdir()) == []
    assert isinstance(StoreFullError("x"), StoreError)


def test_unwritable_directory_is_reported(store):
    shutil.rmtree(store.captures_dir)
    with pytest.raises(StoreError, match="not writable"):
        store.check_ready()


def test_ready_store_passes(store):
    store.check_ready()


def test_rejects_non_rgb_images(store):
    with pytest.raises(StoreError, match="uint8 RGB"):
        store.save(np.zeros((4, 4), np.uint8), {})


def test_repair_rolls_back_finishes_and_quarantines(tmp_path, keys, store):
    done = store.save(SMALL, {})
    # a crash after the row was reserved, before the rename: nothing was stored
    lost, _ = store.index.reserve(boot_id="b" * 32, wall_time=1.0, clock_synchronised=False,
                                  session_s=None, metadata="{}", seal=lambda cid, seq: b"abc")
    (store.captures_dir / f".tmp-{lost.id}.bin.1234").write_bytes(b"abc")
    # a crash after the rename, before the PENDING update: the capture is complete
    store.index.set_state(done, WRITING)
    (store.captures_dir / "stranger.bin").write_bytes(b"who am I")
    store.close()
    again = make_store(tmp_path, keys[0])
    rep = again.repair()
    assert rep.temp_removed == 1 and rep.rolled_back == [lost.id] and rep.recovered == [done]
    assert rep.quarantined == ["stranger"]
    assert again.index.get(lost.id) is None and again.index.get(done).state == PENDING
    assert (again.quarantine_dir / "stranger.bin").read_bytes() == b"who am I"
    again.close()


def test_repair_quarantines_pending_capture_whose_file_vanished(store):
    cid = store.save(SMALL, {})
    store.path_of(cid).unlink()
    assert store.repair().quarantined == [cid]
    row = store.index.get(cid)
    assert row.state == QUARANTINED and "missing" in row.last_error
    assert store.stats()["quarantined"] == 1


def test_read_verified_detects_corruption(store):
    cid = store.save(SMALL, {})
    path = store.path_of(cid)
    data = bytearray(path.read_bytes())
    data[100] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(StoreError, match="corrupted"):
        store.read_verified(store.index.get(cid))


def test_second_writer_is_refused(tmp_path, keys, store):
    other = make_store(tmp_path, keys[0])
    with pytest.raises(StoreError, match="another kiosk process"):
        other.repair()
    other.close()


def test_retention_deletes_only_synced_copies_after_the_grace(tmp_path, keys):
    now = [1_000_000.0]
    cfg = config.parse({"store": {"retention_h": 1.0, "reserve_mb": 0}}).store
    s = CaptureStore(tmp_path / "state", cfg, keys[0], wall_clock=lambda: now[0])
    kept, synced = s.save(SMALL, {}), s.save(SMALL, {})
    s.index.mark_synced([(synced, "k")], now[0])
    now[0] += 1800
    assert s.purge_synced() == 0
    now[0] += 1801
    assert s.purge_synced() == 1
    assert not s.path_of(synced).exists() and s.path_of(kept).exists()
    assert s.index.get(synced).state == SYNCED and s.index.get(synced).local_deleted_at
    assert s.purge_synced(older_than_s=0) == 0  # never an unsynced capture
    st = s.stats()
    assert st["pending"] == 1 and st["synced"] == 1 and st["oldest_pending_age_s"] == 3601.0
    s.close()


def test_resolve_dir_order(tmp_path, monkeypatch):
    cfg = config.parse({})
    monkeypatch.delenv("STATE_DIRECTORY", raising=False)
    assert resolve_dir(cfg, emulator=False) == Path("/var/lib/kiosk")
    assert resolve_dir(cfg, emulator=True) == Path("kiosk-state").absolute()
    assert resolve_dir(cfg, False, {"STATE_DIRECTORY": "/a:/b"}) == Path("/a")
    cfg = config.parse({"store": {"dir": str(tmp_path)}})
    assert resolve_dir(cfg, False, {"STATE_DIRECTORY": "/a"}) == tmp_path


def test_open_store_in_emulator_makes_a_dev_key(tmp_path):
    cfg = config.parse({"store": {"dir": str(tmp_path / "st"), "reserve_mb": 0}})
    s = open_store(cfg, emulator=True)
    s.check_ready()
    assert (tmp_path / "st/dev-keys/capture_private.key").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "st").stat().st_mode & 0o777 == 0o700
    s.close()
    cfg = config.parse({"store": {"dir": str(tmp_path / "pi"), "reserve_mb": 0,
                                  "public_key": str(tmp_path / "absent.key")}})
    s = open_store(cfg, emulator=False)
    with pytest.raises(StoreKeyError, match="absent.key"):
        s.check_ready()
    s.close()


def _run(cfg, *argv):
    p = argparse.ArgumentParser()
    store_cli.add_commands(p.add_subparsers(dest="command"))
    args = p.parse_args(list(argv))
    return args.func(args, cfg)


def test_cli_list_show_purge_and_keys(tmp_path, capsys):
    cfg = config.parse({"store": {"dir": str(tmp_path / "st"), "reserve_mb": 0}})
    assert _run(cfg, "keys", "generate", "--out", str(tmp_path / "k")) == 0
    assert (tmp_path / "k/capture_private.key").stat().st_mode & 0o777 == 0o600
    with pytest.raises(StoreError, match="refusing to overwrite"):
        _run(cfg, "keys", "generate", "--out", str(tmp_path / "k"))
    cfg = config.parse({"store": {"dir": str(tmp_path / "st"), "reserve_mb": 0,
                                  "public_key": str(tmp_path / "k/capture_public.key")}})
    s = open_store(cfg, emulator=False)
    a, b = s.save(SMALL, {"q": 1}), s.save(SMALL, {})
    s.index.mark_synced([(a, "key-a")], 0.0)
    capsys.readouterr()
    assert _run(cfg, "captures", "list", "--json") == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["id"], r["state"]) for r in rows] == [(a, SYNCED), (b, PENDING)]
    assert _run(cfg, "captures", "list") == 0
    assert b in capsys.readouterr().out
    assert _run(cfg, "captures", "show", a) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["metadata"] == {} and shown["file"].endswith(f"{a}.bin")
    with pytest.raises(StoreError, match="no capture"):
        _run(cfg, "captures", "show", "nope")
    assert _run(cfg, "captures", "purge", "--synced") == 0
    assert "deleted 1" in capsys.readouterr().out
    assert not s.path_of(a).exists() and s.path_of(b).exists()
    s.close()
    assert os.path.exists(tmp_path / "st/index.sqlite3")


def test_reading_commands_never_create_a_store_or_keys(tmp_path, monkeypatch, capsys):
    from kiosk.cli import main

    cfg = tmp_path.parent / f"{tmp_path.name}.toml"  # outside the folder being watched
    cfg.write_text('hardware = "emulator"\n')  # the store would be ./kiosk-state
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("STATE_DIRECTORY", raising=False)
    monkeypatch.setenv("KIOSK_CONFIG", str(cfg))
    for args in (["captures", "list"], ["captures", "show", "0000000001-x"],
                 ["captures", "purge", "--synced"], ["sync", "status"],
                 ["sync", "status", "--json"]):  # not zeros: there is no store to count
        assert main(args) == 1, args
        assert "no capture store" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []  # no kiosk-state/, no dev-keys/, no index
