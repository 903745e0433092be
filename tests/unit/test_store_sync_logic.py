"""Pure parts of sync: back-off, pacing, object keys, error classification, credentials."""

from __future__ import annotations

import datetime as dt
import json
import os
import pwd
import subprocess
import sys

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from kiosk import config
from kiosk.errors import SyncAuthError, SyncError
from kiosk.store.capture_store import envelope
from kiosk.store.index import CaptureRow
from kiosk.sync.backoff import Pacer, backoff_delay
from kiosk.sync.credentials import S3Credentials, load_credentials
from kiosk.sync.uploader import (
    CaptureRejected,
    PreconditionFailed,
    classify,
    metadata_document,
    object_key,
)

pytestmark = pytest.mark.unit


def test_backoff_grows_is_capped_and_jittered():
    assert backoff_delay(0, 2, 60, lambda: 0.5) == 0
    lows = [backoff_delay(n, 2, 60, lambda: 0.0) for n in range(1, 9)]
    highs = [backoff_delay(n, 2, 60, lambda: 0.999999) for n in range(1, 9)]
    assert lows == [1, 2, 4, 8, 16, 30, 30, 30]
    assert all(h == pytest.approx(2 * lo, rel=1e-5) for lo, h in zip(lows, highs, strict=True))
    assert backoff_delay(10_000, 2, 60, lambda: 0.0) == 30  # no overflow


def test_pacer_keeps_the_average_rate():
    now = [0.0]
    p = Pacer(1000, lambda: now[0])
    assert p.delay(500) == 0
    assert p.delay(500) == pytest.approx(0.5)
    assert p.delay(1000) == pytest.approx(1.0)
    now[0] = 10.0  # idle time is not saved up as a burst beyond one send
    assert p.delay(100) == 0 and p.delay(100) == pytest.approx(0.1)
    assert Pacer(0, lambda: 0.0).delay(10**9) == 0


def _sidecar(wall: float) -> dict:
    row = CaptureRow(id="0000000042-abcdef12", seq=42, boot_id="abcdef12" * 4, wall_time=wall,
                     clock_synchronised=True, session_s=6.5, size=10, sha256="f" * 64,
                     metadata={"session_s": 6.5}, state="pending", attempts=0,
                     last_error=None, last_attempt_at=None, synced_at=None, remote_key=None,
                     local_deleted_at=None)
    return envelope(row, "0123456789abcdef", "fedcba9876543210")


def test_object_key_is_unique_per_store_and_dated_in_utc():
    side = _sidecar(dt.datetime(2025, 3, 1, 23, 30, tzinfo=dt.UTC).timestamp())
    assert (object_key("selfies/", "k1", side)
            == "selfies/k1/2025-03-01/0000000042-abcdef12-0123456789abcdef.bin")
    assert (object_key("", "k1", side, ".json")
            == "k1/2025-03-01/0000000042-abcdef12-0123456789abcdef.json")
    other_store = dict(side, store_id="1111111111111111")
    assert object_key("s", "k1", other_store) != object_key("s", "k1", side)
    doc = metadata_document(side, "k1", "x.bin")
    assert doc == metadata_document(side, "k1", "x.bin")  # identical bytes on every retry
    parsed = json.loads(doc)
    assert parsed["wall_time"].startswith("2025-03-01T23:30") and parsed["seq"] == 42
    assert parsed["kiosk_id"] == "k1" and parsed["key_id"] == "fedcba9876543210"


@pytest.mark.parametrize("bad", ["", "a/b", "../x", "kiosk 1", "-x", "k" * 64])
def test_kiosk_id_that_cannot_name_objects_is_refused(bad):
    with pytest.raises(SyncError, match="cannot name objects"):
        object_key("s", bad, _sidecar(0.0))


def _client_error(code: str, status: int) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "m"},
                        "ResponseMetadata": {"HTTPStatusCode": status}}, "PutObject")


@pytest.mark.parametrize("code,status,kind", [
    ("InvalidAccessKeyId", 403, SyncAuthError), ("SignatureDoesNotMatch", 403, SyncAuthError),
    ("AccessDenied", 403, SyncAuthError), ("NoSuchBucket", 404, SyncError),
    ("InternalError", 500, SyncError), ("SlowDown", 503, SyncError),
    ("BadDigest", 400, CaptureRejected), ("EntityTooLarge", 400, CaptureRejected),
    ("PreconditionFailed", 412, PreconditionFailed), ("ConditionalRequestConflict", 409, SyncError),
])
def test_classify_client_errors(code, status, kind):
    e = classify(_client_error(code, status), "http://s3", "b")
    assert type(e) is kind


def test_classify_connection_error():
    e = classify(EndpointConnectionError(endpoint_url="http://s3"), "http://s3", "b")
    assert type(e) is SyncError and "cannot reach http://s3" in str(e)


def _aws_file(tmp_path, body: str):
    path = tmp_path / "creds"
    path.write_text(body)
    path.chmod(0o600)
    return path


def test_credentials_order_and_secret_never_in_repr(tmp_path):
    f = _aws_file(tmp_path, "[default]\naws_access_key_id = AK\naws_secret_access_key = SEC\n")
    sync = config.parse({}).sync
    cfg_file = config.parse({"sync": {"credentials_file": str(f)}}).sync
    env = {"AWS_ACCESS_KEY_ID": "EK", "AWS_SECRET_ACCESS_KEY": "ES"}
    assert load_credentials(cfg_file, env).access_key_id == "AK"
    (tmp_path / "s3").write_text(f.read_text().replace("AK", "CK"))
    assert load_credentials(sync, {"CREDENTIALS_DIRECTORY": str(tmp_path), **env}
                            ).access_key_id == "CK"
    assert load_credentials(sync, {"AWS_SHARED_CREDENTIALS_FILE": str(f)}).source == str(f)
    creds = load_credentials(sync, env)
    assert (creds.access_key_id, creds.secret_access_key, creds.source) == ("EK", "ES",
                                                                            "environment")
    assert "ES" not in repr(creds) and "SEC" not in repr(S3Credentials("AK", "SEC"))


def test_credentials_errors_are_clear_and_leak_nothing(tmp_path):
    sync = config.parse({}).sync
    with pytest.raises(SyncAuthError, match="no S3 credentials"):
        load_credentials(sync, {})
    bad = _aws_file(tmp_path, "aws_secret_access_key = TOPSECRET\n")
    cfg = config.parse({"sync": {"credentials_file": str(bad)}}).sync
    with pytest.raises(SyncAuthError, match="not in the AWS format") as info:
        load_credentials(cfg, {})
    assert "TOPSECRET" not in str(info.value)
    partial = _aws_file(tmp_path, "[default]\naws_access_key_id = AK\n")
    cfg = config.parse({"sync": {"credentials_file": str(partial)}}).sync
    with pytest.raises(SyncAuthError, match="lacks"):
        load_credentials(cfg, {})
    missing = config.parse({"sync": {"credentials_file": str(tmp_path / "nope")}}).sync
    with pytest.raises(SyncAuthError, match="cannot be read"):
        load_credentials(missing, {})


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to change user (CI runs as root)")
def test_sync_run_as_root_becomes_the_owner_of_the_sync_folder(tmp_path):
    """`sudo kiosk sync now`: receipts and state stay the sync user's, readable by its group."""
    folder = tmp_path / "sync"
    folder.mkdir()
    nobody = pwd.getpwnam("nobody")
    os.chown(folder, nobody.pw_uid, nobody.pw_gid)
    code = ("import os, sys; from pathlib import Path; from kiosk.sync.outbox import drop_root;"
            "drop_root(Path(sys.argv[1])); print(os.geteuid(), os.getegid())")
    out = subprocess.run([sys.executable, "-c", code, str(folder)], capture_output=True,
                         text=True, timeout=60, cwd="/")
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [str(nobody.pw_uid), str(nobody.pw_gid)]
