"""Small read-only probes of the host (systemd state, clock sync, disk) for doctor and status."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from kiosk.config import Config

SERVICE = "kiosk.service"
SYNC_SERVICE = "kiosk-sync.service"


@dataclass(frozen=True)
class Result:
    returncode: int
    stdout: str
    stderr: str


# Runs a command and returns its result, or None when the program does not exist.
Runner = Callable[[list[str]], "Result | None"]


def run(cmd: list[str], timeout: float = 10.0) -> Result | None:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except FileNotFoundError:
        return None
    except subprocess.TimeoutExpired:
        return Result(124, "", f"{cmd[0]} timed out after {timeout:g} s")
    return Result(done.returncode, done.stdout, done.stderr)


def service_state(unit: str = SERVICE, runner: Runner = run) -> str | None:
    """'active', 'inactive', 'failed', 'activating'...; None without systemd (or systemctl)."""
    result = runner(["systemctl", "is-active", unit])
    if result is None:
        return None
    state = result.stdout.strip()
    return state or None  # empty when systemd is not PID 1 or the bus is unreachable


def service_running(state: str | None) -> bool:
    """States in which the service may hold the camera, screen or pins."""
    return state in {"active", "activating", "deactivating", "reloading", "refreshing"}


def clock_synchronised(runner: Runner = run) -> bool | None:
    """NTPSynchronized from timedated; None when it cannot be asked."""
    result = runner(["timedatectl", "show", "-p", "NTPSynchronized", "--value"])
    if result is None or result.returncode != 0:
        return None
    return {"yes": True, "no": False}.get(result.stdout.strip())


def store_dir(cfg: Config, environ: Mapping[str, str] | None = None) -> Path:
    """Where captures live: the store's own rule, for this config's hardware mode."""
    from kiosk.store import resolve_dir

    return resolve_dir(cfg, cfg.hardware == "emulator", environ)


def disk_free_mb(path: Path) -> float | None:
    """Free space on the file system that holds `path` (or would, once created)."""
    for candidate in [path, *path.absolute().parents]:
        if candidate.exists():
            try:
                return shutil.disk_usage(candidate).free / 2**20
            except OSError:
                return None
    return None
