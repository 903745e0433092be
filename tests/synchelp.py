"""Test helpers for sync: a kiosk (state dir, writer store, sync runner) on one S3 server."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from kiosk import config
from kiosk.store import CaptureStore, open_store
from kiosk.store.index import SYNCED
from kiosk.sync.daemon import SyncRunner, build_uploader
from tests.s3server import ACCESS_KEY, SECRET_KEY, SeaweedS3
from tests.storehelp import SMALL, decrypt_jpeg, keypair, open_capture


class Kiosk:
    """A kiosk's state dir, writer store and sync runner pointed at one S3 server."""

    def __init__(self, tmp: Path, server: SeaweedS3, prefix: str, secret: str = SECRET_KEY,
                 retention_h: float = 0.0, kiosk_id: str = "kiosk-7",
                 keys: tuple[Path, Path] | None = None, access: str = ACCESS_KEY,
                 **sync: Any) -> None:
        self.pub, self.priv = keys or keypair(tmp)
        tmp.mkdir(parents=True, exist_ok=True)
        self.creds = tmp / "s3-credentials"
        self.access = access
        self.write_credentials(secret)
        self.cfg = config.parse({
            "kiosk_id": kiosk_id,
            "store": {"dir": str(tmp / "state"), "public_key": str(self.pub), "reserve_mb": 0,
                      "retention_h": retention_h},
            "sync": {"endpoint": server.endpoint, "bucket": server.bucket, "prefix": prefix,
                     "credentials_file": str(self.creds), "timeout_s": 2.0,
                     "state_dir": str(tmp / "sync-state"),
                     "backoff_base_s": 0.05, "backoff_max_s": 0.2, **sync},
        })
        self.server = server
        self.prefix = prefix
        self.store: CaptureStore = open_store(self.cfg, emulator=False)
        self.runner = SyncRunner(self.cfg, lambda: build_uploader(self.cfg), store=self.store)

    def write_credentials(self, secret: str) -> None:
        self.creds.write_text(f"[default]\naws_access_key_id = {self.access}\n"
                              f"aws_secret_access_key = {secret}\n")
        self.creds.chmod(0o600)

    def save(self, n: int) -> list[str]:
        return [self.store.save(SMALL, {"n": i, "session_s": 4.5}) for i in range(n)]

    def remote(self) -> dict[str, bytes]:
        return self.server.objects(self.prefix + "/")

    def check_delivered_once(self, ids: list[str]) -> None:
        """Every capture is on the server exactly once, byte-identical, with its metadata."""
        objects = self.remote()
        objects.pop(f"{self.prefix}/kiosk-7/heartbeat.json", None)
        expected = {}
        for cid in ids:
            row = self.store.index.get(cid)
            assert row is not None and row.state == SYNCED, (cid, row and row.state)
            key = row.remote_key
            assert key == (f"{self.prefix}/kiosk-7/{key.split('/')[-2]}/"
                           f"{cid}-{self.store.store_id}.bin")
            expected[key] = row
            expected[key[:-4] + ".json"] = row
        assert sorted(objects) == sorted(expected), "missing or extra objects on the server"
        for key, row in expected.items():
            if key.endswith(".json"):
                doc = json.loads(objects[key])
                assert doc["capture_id"] == row.id and doc["sha256"] == row.sha256
                assert doc["metadata"]["session_s"] == 4.5 and doc["kiosk_id"] == "kiosk-7"
                assert "n" not in doc["metadata"]  # sealed, not in the plaintext document
            else:
                assert len(objects[key]) == row.size
                header, _ = open_capture(self.priv, objects[key])
                assert header["capture_id"] == row.id and "n" in header["metadata"]
                assert decrypt_jpeg(self.priv, objects[key]).shape == SMALL.shape

    def check_listed_once(self, ids: list[str]) -> None:
        """Cheaper than downloading: the listing's sizes and ETags (MD5) match the local files."""
        listed = {o["Key"]: o for o in self.server.listing(self.prefix + "/")}
        assert len(listed) == 2 * len(ids)
        for cid in ids:
            row = self.store.index.get(cid)
            assert row is not None and row.state == SYNCED
            obj = listed[row.remote_key]
            local = self.store.path_of(cid).read_bytes()
            assert obj["Size"] == row.size
            assert obj["ETag"].strip('"') == hashlib.md5(local).hexdigest()
            assert row.remote_key[:-4] + ".json" in listed

    def close(self) -> None:
        self.store.close()
