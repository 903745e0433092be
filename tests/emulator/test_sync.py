"""Sync against a real S3 server (SeaweedFS on loopback): uploads, outages, crashes, bad input."""

from __future__ import annotations

import argparse
import json
import logging
import os
import pwd
import shutil
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from kiosk import config
from kiosk.errors import SyncError
from kiosk.store import receipts
from kiosk.store.index import PENDING, QUARANTINED, SYNCED
from kiosk.sync import cli as sync_cli
from kiosk.sync.uploader import PassResult, object_key
from tests.s3server import SECRET_KEY, SeaweedS3, scoped_identity
from tests.storehelp import open_capture

pytestmark = pytest.mark.emulator


def test_normal_upload_then_retention(s3, kiosk_factory):
    k = kiosk_factory(s3)
    ids = k.save(3)
    totals = k.runner.drain()
    assert (totals.uploaded, totals.error) == (3, None)
    k.check_delivered_once(ids)
    key = k.store.index.get(ids[0]).remote_key
    day = time.strftime("%Y-%m-%d", time.gmtime(k.store.index.get(ids[0]).wall_time))
    assert key == f"{k.prefix}/kiosk-7/{day}/{ids[0]}-{k.store.store_id}.bin"
    # retention_h = 0: local copies go right after the confirmed upload, rows stay
    assert not any(k.store.path_of(c).exists() or k.store.sidecar_of(c).exists() for c in ids)
    assert sync_cli.status(k.cfg)["last_sync_success"] is not None
    assert not list(receipts.receipts_dir(k.runner.dir).iterdir())  # absorbed, then forgotten
    assert k.runner.drain().uploaded == 0  # nothing pending: nothing sent twice
    k.check_delivered_once(ids)


def test_retry_after_lost_confirmation_does_not_duplicate(s3, kiosk_factory):
    """The sync process died after the PUTs but before its receipts: If-None-Match answers 412,
    HEAD finds the same bytes, nothing is sent twice."""
    k = kiosk_factory(s3, batch_size=10, retention_h=1.0)
    ids = k.save(4)
    assert k.runner.drain().uploaded == 4
    for cid in ids:
        k.store.index.set_state(cid, PENDING)
        receipts.remove(k.runner.dir, cid)
    again = k.runner.drain()
    assert (again.uploaded, again.already_there) == (0, 4)
    k.check_delivered_once(ids)


def test_server_down_then_up(own_s3, kiosk_factory):
    k = kiosk_factory(own_s3)
    ids = k.save(5)
    r = k.runner.one_pass()
    assert r.error and "cannot reach" in r.error and r.confirmed == 0
    assert k.runner.next_delay(r) > 0
    assert k.store.pending_count() == 5 and all(k.store.path_of(c).exists() for c in ids)
    assert sync_cli.status(k.cfg)["last_sync_error"] == r.error
    own_s3.start()
    totals = k.runner.drain()
    assert totals.error is None and totals.uploaded == 5
    k.check_delivered_once(ids)
    assert k.runner.failures == 0


def test_server_killed_mid_upload(own_s3, kiosk_factory, fast_disk):
    own_s3.start()
    k = kiosk_factory(own_s3, root=fast_disk, batch_size=1000)
    ids = k.save(200)
    worker = threading.Thread(target=k.runner.one_pass)
    worker.start()
    deadline = time.monotonic() + 30
    done = receipts.receipts_dir(k.runner.dir)
    while len(list(done.iterdir())) < 25 and time.monotonic() < deadline:
        time.sleep(0.005)
    own_s3.kill()  # while the pass is still uploading
    worker.join(30)
    assert not worker.is_alive()
    counts = k.store.index.counts()
    assert 25 <= counts.get(SYNCED, 0) < 200 and counts.get(PENDING, 0) > 0
    assert "cannot reach" in sync_cli.status(k.cfg)["last_sync_error"]
    own_s3.start()
    # A freshly restarted SeaweedFS may time out a request or two while it recovers from the
    # kill: retry as the daemon does, with its back-off.
    for _ in range(10):
        totals = k.runner.drain()
        if totals.error is None:
            break
        time.sleep(k.runner.next_delay(PassResult(error=totals.error)))
    assert totals.error is None
    k.check_delivered_once(ids)  # 0 lost, 0 duplicated


def test_wrong_credentials_clear_error_retry_nothing_deleted(s3, kiosk_factory, caplog):
    caplog.set_level(logging.DEBUG)
    k = kiosk_factory(s3, secret="definitely-wrong-secret")
    ids = k.save(3)
    r = k.runner.one_pass()
    assert r.auth_error and "rejected the credentials" in r.error
    assert k.runner.next_delay(r) > 0
    assert k.store.pending_count() == 3 and all(k.store.path_of(c).exists() for c in ids)
    assert k.remote() == {}
    assert "definitely-wrong-secret" not in caplog.text
    assert "definitely-wrong-secret" not in json.dumps(sync_cli.status(k.cfg))
    k.write_credentials(SECRET_KEY)  # fixed on disk: the next pass re-reads it
    assert k.runner.drain().uploaded == 3
    k.check_delivered_once(ids)
    assert SECRET_KEY not in caplog.text


def test_corrupted_local_files_are_quarantined_others_continue(s3, kiosk_factory):
    k = kiosk_factory(s3)
    ids = k.save(5)
    path = k.store.path_of(ids[1])
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    k.store.path_of(ids[3]).write_bytes(b"")  # truncated by a bad SD card
    totals = k.runner.drain()
    assert (totals.uploaded, totals.quarantined, totals.error) == (3, 2, None)
    good = [ids[0], ids[2], ids[4]]
    k.check_delivered_once(good)
    for cid in (ids[1], ids[3]):
        row = k.store.index.get(cid)
        assert row.state == QUARANTINED and "corrupted" in row.last_error
        assert (k.store.quarantine_dir / f"{cid}.bin").exists()  # kept for a human
    assert k.store.stats()["quarantined"] == 2
    assert sync_cli.status(k.cfg)["quarantined"] == 2


def test_a_thousand_queued_captures_drain(s3, kiosk_factory, fast_disk):
    k = kiosk_factory(s3, root=fast_disk, batch_size=250, retention_h=1.0)
    ids = k.save(1000)
    totals = k.runner.drain()
    assert totals.error is None and totals.uploaded == 1000 and totals.passes == 4
    assert k.store.pending_count() == 0 and k.runner.waiting() == 0
    k.check_listed_once(ids)


def test_bandwidth_cap_paces_uploads(s3, kiosk_factory):
    k = kiosk_factory(s3, max_kbps=64.0)
    ids = k.save(4)
    size = sum(k.store.index.get(c).size for c in ids)
    t0 = time.monotonic()
    assert k.runner.drain().uploaded == 4
    # the first body goes at once; the rest (bins and JSON documents) wait for the line
    assert time.monotonic() - t0 >= 0.8 * size / (64 * 1024) - 0.1


def _parse(*argv: str) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    sync_cli.add_commands(p.add_subparsers(dest="command"))
    return p.parse_args(list(argv))


def test_cli_daemon_sync_now_and_status(s3, kiosk_factory, capsys):
    k = kiosk_factory(s3, interval_s=30.0)
    cfg = replace(k.cfg, hardware="pi")
    k.save(2)
    stop = threading.Event()
    args = _parse("sync", "--daemon")
    daemon = threading.Thread(target=sync_cli.cmd_sync, args=(args, cfg, stop))
    daemon.start()
    try:
        deadline = time.monotonic() + 20
        while k.store.pending_count() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert k.store.pending_count() == 0
        with pytest.raises(SyncError, match="another sync process"):
            sync_cli.cmd_sync(_parse("sync"), cfg)
        ids = k.save(2)  # the daemon now sleeps for 30 s; `sync now` wakes it
        now = _parse("sync", "now", "--wait", "15")
        assert now.func(now, cfg) == 0
        assert k.runner.waiting() == 0 and "pending:      0" in capsys.readouterr().out
        deadline = time.monotonic() + 10
        while k.store.pending_count() and time.monotonic() < deadline:
            time.sleep(0.05)  # the daemon reconciles right after its pass
        k.check_delivered_once(ids + [r.id for r in k.store.index.rows()[:2]])
    finally:
        stop.set()
        daemon.join(10)
    assert not daemon.is_alive()
    status = _parse("sync", "status", "--json")
    assert status.func(status, cfg) == 0
    st = json.loads(capsys.readouterr().out)
    assert st["pending"] == 0 and st["synced"] == 4 and st["bucket"] == s3.bucket
    assert st["last_sync_success"] is not None


def test_cli_one_shot(s3, kiosk_factory, capsys):
    k = kiosk_factory(s3)
    k.save(2)
    args = _parse("sync")
    assert args.func(args, k.cfg) == 0
    assert "uploaded 2" in capsys.readouterr().out


def test_sync_now_without_a_daemon_runs_the_pass_here(s3, kiosk_factory, capsys):
    k = kiosk_factory(s3)
    k.save(3)
    t0 = time.monotonic()
    now = _parse("sync", "now", "--wait", "60")
    assert now.func(now, k.cfg) == 0
    assert time.monotonic() - t0 < 10  # no minute-long wait for a daemon that is not there
    assert "uploaded 3" in capsys.readouterr().out and k.store.pending_count() == 0


def test_status_drops_an_old_error_after_a_good_pass(own_s3, kiosk_factory):
    k = kiosk_factory(own_s3)
    k.save(1)
    assert k.runner.one_pass().error
    assert sync_cli.status(k.cfg)["last_sync_error"]
    own_s3.start()
    assert k.runner.drain().error is None
    st = sync_cli.status(k.cfg)
    assert st["last_sync_error"] is None and st["last_sync_success"] is not None


def test_sync_not_configured_is_a_clear_error(tmp_path):
    cfg = config.parse({"store": {"dir": str(tmp_path / "st"), "reserve_mb": 0}})
    args = _parse("sync")
    with pytest.raises(SyncError, match="sync.bucket"):
        args.func(args, cfg)


def test_wipe_and_reinstall_never_overwrites(s3, kiosk_factory, tmp_path):
    """The collision that lost data: a store wiped and reinstalled on the same day, same boot,
    same kiosk id, numbers its captures from 1 again. Its objects must land beside the old
    ones, never over them."""
    old = kiosk_factory(s3, retention_h=24.0)
    old_ids = old.save(3)
    assert old.runner.drain().uploaded == 3
    new = kiosk_factory(s3, keys=(old.pub, old.priv), retention_h=24.0)
    new_ids = new.save(3)
    assert new_ids == old_ids  # same sequence numbers and boot: the old keys would collide
    assert new.store.store_id != old.store.store_id
    totals = new.runner.drain()
    assert (totals.uploaded, totals.conflicts, totals.error) == (3, 0, None)
    objects = old.remote()
    rows = [k.store.index.get(c) for k in (old, new) for c in old_ids]
    assert {r.remote_key for r in rows} | {r.remote_key[:-4] + ".json" for r in rows} \
        == set(objects)
    assert len(objects) == 12
    for k in (old, new):
        for cid in old_ids:
            row = k.store.index.get(cid)
            assert objects[row.remote_key] == k.store.path_of(cid).read_bytes()
            assert open_capture(k.priv, objects[row.remote_key])[0]["store_id"] \
                == k.store.store_id


@pytest.mark.parametrize("conditional", [True, False], ids=["if-none-match", "head-first"])
def test_an_existing_different_object_is_never_overwritten(s3, kiosk_factory, conditional):
    """Whatever put it there, a different object at a capture's key stays; the capture is
    quarantined on the kiosk with the reason, and reported by `sync status`."""
    k = kiosk_factory(s3, conditional_put=conditional)
    ids = k.save(2)
    side = json.loads(k.store.sidecar_of(ids[0]).read_text())
    key = object_key(k.prefix, "kiosk-7", side)
    s3.client().put_object(Bucket=s3.bucket, Key=key, Body=b"somebody else's selfie")
    totals = k.runner.drain()
    assert (totals.uploaded, totals.conflicts, totals.quarantined) == (1, 1, 1)
    assert s3.objects(key)[key] == b"somebody else's selfie"
    row = k.store.index.get(ids[0])
    assert row.state == QUARANTINED and "conflict" in row.last_error
    assert "different content" in row.last_error
    assert (k.store.quarantine_dir / f"{ids[0]}.bin").exists()
    assert k.store.index.get(ids[1]).state == SYNCED
    assert sync_cli.status(k.cfg)["totals"]["conflicts"] == 1


def test_a_kiosk_cannot_write_into_another_kiosks_prefix(weed, tmp_path, kiosk_factory):
    """Per-kiosk credentials (SeaweedFS: actions scoped to bucket/prefix): kiosk A may write
    only under <prefix>/kiosk-a/. Configured as kiosk B, it is refused and writes nothing."""
    prefix = "test_a_kiosk_cannot_write_into_another_kiosks_prefix"
    server = SeaweedS3(weed, tmp_path / "seaweed", identities=[
        scoped_identity(name, f"AK-{name}", f"SK-{name}-0123456789", "selfies",
                        f"{prefix}/{name}") for name in ("kiosk-a", "kiosk-b")])
    server.start()
    try:
        a = kiosk_factory(server, kiosk_id="kiosk-a", access="AK-kiosk-a",
                          secret="SK-kiosk-a-0123456789")
        a.save(2)
        assert a.runner.drain().uploaded == 2
        victim = server.client().put_object(Bucket="selfies", Key=f"{prefix}/kiosk-b/x.bin",
                                            Body=b"b's object")
        assert victim["ETag"]
        liar = kiosk_factory(server, kiosk_id="kiosk-b", access="AK-kiosk-a",
                             secret="SK-kiosk-a-0123456789")
        liar.save(1)
        r = liar.runner.one_pass()
        assert r.auth_error and r.confirmed == 0
        assert server.keys(f"{prefix}/kiosk-b/") == [f"{prefix}/kiosk-b/x.bin"]
        own = server.client(access="AK-kiosk-a", secret="SK-kiosk-a-0123456789")
        with pytest.raises(ClientError):
            own.put_object(Bucket="selfies", Key=f"{prefix}/kiosk-b/x.bin", Body=b"overwrite")
        with pytest.raises(ClientError):
            own.list_objects_v2(Bucket="selfies", Prefix=f"{prefix}/")
        assert server.objects(f"{prefix}/kiosk-b/")[f"{prefix}/kiosk-b/x.bin"] == b"b's object"
    finally:
        server.stop()


def test_on_a_pi_the_uploader_only_writes_receipts_and_the_kiosk_user_reconciles(
        s3, kiosk_factory, capsys):
    """The sync user cannot write the store: its passes leave captures pending in the index
    and receipts in its own folder; `kiosk captures reconcile` (the timer, as the kiosk
    user) marks them synced. A receipt whose SHA-256 does not match changes nothing."""
    from kiosk.store import cli as store_cli
    from kiosk.sync.daemon import SyncRunner, build_uploader

    k = kiosk_factory(s3, retention_h=24.0)
    uploader_only = SyncRunner(k.cfg, lambda: build_uploader(k.cfg), store=None)
    ids = k.save(3)
    assert uploader_only.drain().uploaded == 3
    assert k.store.pending_count() == 3 and uploader_only.waiting() == 0
    forged = receipts.Receipt(ids[0], "0" * 64, receipts.UPLOADED, "x")
    receipts.write(k.runner.dir, forged)  # a lying receipt (wrong SHA-256) for one of them
    p = argparse.ArgumentParser()
    store_cli.add_commands(p.add_subparsers(dest="command"))
    args = p.parse_args(["captures", "reconcile"])
    assert args.func(args, k.cfg) == 0
    assert "synced 2" in capsys.readouterr().out
    assert [k.store.index.get(c).state for c in ids] == [PENDING, SYNCED, SYNCED]
    assert k.store.stats()["last_sync_success"] is not None


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to become another user (CI is root)")
def test_the_uploader_as_another_user_reads_captures_and_writes_only_receipts(s3, tmp_path):
    """The permission model with real Unix users: a child process turned into `nobody`, in
    the store's group (as kiosk-sync is in group kiosk), uploads every capture and leaves
    receipts, yet cannot write the capture folder nor read or write the index."""
    from kiosk.sync.daemon import SyncRunner, build_uploader
    from tests.synchelp import Kiosk

    nobody = pwd.getpwnam("nobody")
    top = Path(tempfile.mkdtemp(prefix="kiosk-perm-"))
    top.chmod(0o755)
    try:
        k = Kiosk(top / "kiosk", s3, "perm", retention_h=24.0)
        ids = k.save(3)
        state, sync_dir = k.store.root, top / "kiosk-sync"
        (top / "kiosk").chmod(0o755)
        state.chmod(0o750)  # what StateDirectoryMode=0750 gives the kiosk's state directory
        for p in [state, *state.rglob("*")]:
            os.chown(p, 0, nobody.pw_gid)  # group "kiosk", owner the kiosk user (here root)
        sync_dir.mkdir(mode=0o750)
        os.chown(sync_dir, nobody.pw_uid, nobody.pw_gid)
        cfg = replace(k.cfg, sync=replace(k.cfg.sync, state_dir=str(sync_dir)))
        uploader = build_uploader(cfg)
        uploader._same("perm/warm-up", b"")  # load botocore's lazy parts before the switch
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: become the sync user, then do a pass
            os.close(read)
            report: dict[str, Any] = {}
            try:
                os.setgroups([nobody.pw_gid])
                os.setgid(nobody.pw_gid)
                os.setuid(nobody.pw_uid)
                runner = SyncRunner(cfg, lambda: uploader, store=None)
                report["uploaded"] = runner.drain().uploaded
                report["receipts"] = sorted(p.stem for p in (sync_dir / "receipts").iterdir())
                for attempt, path in (("write captures", state / "captures" / "x"),
                                      ("write index", state / "index.sqlite3")):
                    try:
                        with open(path, "ab"):
                            report[attempt] = "allowed"
                    except PermissionError:
                        report[attempt] = "refused"
                try:
                    (state / "index.sqlite3").read_bytes()
                    report["read index"] = "allowed"
                except PermissionError:
                    report["read index"] = "refused"
            except BaseException as e:  # report anything back; never run pytest on in the child
                report["error"] = repr(e)
            os.write(write, json.dumps(report).encode())
            os._exit(0)
        os.close(write)
        with os.fdopen(read) as f:
            report = json.loads(f.read())
        os.waitpid(pid, 0)
        assert report == {"uploaded": 3, "receipts": sorted(ids), "write captures": "refused",
                          "write index": "refused", "read index": "refused"}
        assert k.store.pending_count() == 3  # nothing marked by the uploader itself
        assert k.store.reconcile(sync_dir)["synced"] == 3  # the kiosk user takes them in
        k.close()
    finally:
        shutil.rmtree(top, ignore_errors=True)
