"""`kiosk replay` and `kiosk analyze` stream frames: peak memory does not grow with the clip."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.conftest import MODELS, ROOT

pytestmark = pytest.mark.emulator

LIMIT_MB = 300
# Prints the process's own peak RSS after a `kiosk` command (ru_maxrss is in KiB on Linux).
MEASURE = ("import resource, sys\nfrom kiosk.cli import main\nrc = main(sys.argv[1:])\n"
           "print('peak_rss_kib', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "
           "file=sys.stderr)\nsys.exit(rc)")


def long_clip(path: Path, seconds: float, fps: float = 5.0) -> Path:
    """1280x720 MJPG at 5 fps, a smooth gradient with a moving bar (no face): small on disk,
    2.8 MB a decoded frame, so keeping every frame of 24 s would take about 330 MB. (A low
    rate keeps the test quick: replay's 60 simulated seconds are 300 frames.)"""
    w, h = 1280, 720
    base = np.zeros((h, w, 3), np.uint8)
    base[..., 0] = np.linspace(40, 200, w, dtype=np.uint8)[None, :]
    base[..., 1] = np.linspace(60, 180, h, dtype=np.uint8)[:, None]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    assert writer.isOpened()
    for i in range(int(seconds * fps)):
        frame = base.copy()
        x = (i * 17) % (w - 40)
        frame[:, x:x + 40] = 230
        writer.write(frame)
    writer.release()
    return path


def peak_rss_mb(tmp_path: Path, *args: str) -> tuple[float, str]:
    env = dict(os.environ, KIOSK_MODELS_DIR=str(MODELS), PYTHONPATH=str(ROOT))
    env.pop("KIOSK_CONFIG", None)
    proc = subprocess.run([sys.executable, "-c", MEASURE, *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-2000:]
    kib = int(proc.stderr.rsplit("peak_rss_kib", 1)[1].split()[0])
    return kib / 1024, proc.stdout


def test_replay_and_analyze_stream_a_long_clip_in_bounded_memory(tmp_path):
    clip = long_clip(tmp_path / "long.avi", seconds=24)
    # no face: replay plays the clip until its 60 simulated seconds are up, looping twice
    peak, out = peak_rss_mb(tmp_path, "replay", "--json", str(clip))
    result = json.loads(out)
    assert result["outcome"] == "no_face" and result["frames"] > 2 * 120, result
    assert peak < LIMIT_MB, f"replay peaked at {peak:.0f} MB"
    peak, out = peak_rss_mb(tmp_path, "analyze", str(clip))
    assert out.count("\n") == 120
    assert peak < LIMIT_MB, f"analyze peaked at {peak:.0f} MB"
