"""Readiness checks on the state directory: free space against the reserve, writability."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from kiosk.errors import StoreError, StoreFullError

MB = 2**20


def free_bytes(path: Path) -> int:
    try:
        return shutil.disk_usage(path).free
    except OSError as e:
        raise StoreError(f"cannot read free space of {path}: {e.strerror}") from e


def check_reserve(path: Path, reserve_bytes: int, needed: int = 0) -> None:
    free = free_bytes(path)
    if free - needed < reserve_bytes:
        raise StoreFullError(
            f"disk almost full: {free / MB:.0f} MB free in {path}, "
            f"the reserve is {reserve_bytes / MB:.0f} MB")


def check_writable(path: Path) -> None:
    """A real probe: os.access says yes on a read-only mount for root."""
    probe = path / f".probe-{os.getpid()}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.close(fd)
        probe.unlink()
    except OSError as e:
        raise StoreError(f"state directory {path} is not writable: {e.strerror}") from e
