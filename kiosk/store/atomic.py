"""Crash-safe file writes: temp file, fsync, rename, fsync the directory."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path

TMP_PREFIX = ".tmp-"
PRIVATE = 0o600

Step = Callable[[str], None]


def _no_step(_: str) -> None:
    pass


def fsync_dir(path: Path) -> None:
    """Make a rename or unlink in `path` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_private(path: Path, data: bytes, step: Step = _no_step, mode: int = PRIVATE) -> None:
    """Atomically create or replace `path` (mode 0600 unless told) with `data`.

    `step` is called between the stages so a test can kill the writer at each of them.
    """
    tmp = path.with_name(f"{TMP_PREFIX}{path.name}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        if mode != PRIVATE:
            os.fchmod(fd, mode)  # the service's UMask=0077 would drop the group bits
        step("tmp_created")
        half = len(data) // 2
        _write_all(fd, data[:half])
        step("tmp_half_written")
        _write_all(fd, data[half:])
        step("tmp_written")
        os.fsync(fd)
        step("tmp_synced")
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    os.replace(tmp, path)
    step("renamed")
    fsync_dir(path.parent)
    step("dir_synced")


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def remove_durably(path: Path) -> bool:
    """Unlink `path` and sync its directory; False when it was already gone."""
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    fsync_dir(path.parent)
    return True


def temp_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.name.startswith(TMP_PREFIX))
