"""Pi install dry runs: the package's dependencies resolve as arm64 wheels next to apt's numpy.

These ask PyPI (metadata and wheels, nothing is installed); set KIOSK_OFFLINE=1 to skip them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.unit,
    pytest.mark.skipif(os.environ.get("KIOSK_OFFLINE") == "1",
                       reason="KIOSK_OFFLINE=1: these dry runs need PyPI"),
    pytest.mark.timeout(600),
]

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"

# (release, Python, apt numpy): the numpy each Raspberry Pi OS release ships, which
# install.sh pins exactly; picamera2 and simplejpeg are built against it.
RELEASES = [("bookworm", "3.11", "1.24.2"), ("trixie", "3.13", "2.2.4")]


def _requirements() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return list(project["dependencies"]) + list(project["optional-dependencies"]["pi"])


def _report(args: list[str], tmp_path: Path, python: str = sys.executable) -> dict[str, str]:
    report = tmp_path / "report.json"
    result = subprocess.run(
        [python, "-m", "pip", "install", "--dry-run", "--quiet", "--ignore-installed",
         "--disable-pip-version-check", "--report", str(report), *args],
        capture_output=True, text=True, timeout=540)
    assert result.returncode == 0, result.stderr[-3000:]
    data = json.loads(report.read_text())
    return {i["metadata"]["name"].lower(): i["metadata"]["version"] for i in data["install"]}


@pytest.mark.parametrize(("release", "python", "apt_numpy"), RELEASES, ids=[r[0] for r in RELEASES])
def test_arm64_wheels_resolve_with_the_apt_numpy(tmp_path: Path, release: str, python: str,
                                                 apt_numpy: str) -> None:
    constraints = tmp_path / "constraints.txt"
    constraints.write_text((DEPLOY / f"constraints-{release}.txt").read_text()
                           + f"numpy=={apt_numpy}\n")  # what install.sh appends
    # this pip does not widen a manylinux tag to older glibc versions itself
    platforms = [a for v in range(36, 16, -1) for a in ("--platform", f"manylinux_2_{v}_aarch64")]
    abi = "cp" + python.replace(".", "")
    resolved = _report([
        "--only-binary=:all:", *platforms, "--platform", "manylinux2014_aarch64",
        "--python-version", python, "--implementation", "cp", "--abi", abi,
        "--target", str(tmp_path / "target"), "-c", str(constraints), *_requirements(),
    ], tmp_path)
    assert resolved["numpy"] == apt_numpy
    assert resolved["ai-edge-litert"] and resolved["opencv-python-headless"].startswith("4.11.")


def test_fresh_venv_resolves_the_project_with_bookworm_constraints(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    resolved = _report(["-c", str(DEPLOY / "constraints-bookworm.txt"), f"{ROOT}[pi]"],
                       tmp_path, python=str(venv / "bin" / "python"))
    assert resolved["selfie-kiosk"]
    assert int(resolved["numpy"].split(".")[0]) < 2
