"""`kiosk emulate --headless` on the bundled demo clip: the screens it saved."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.conftest import MODELS, ROOT

pytestmark = pytest.mark.emulator


def emulate(tmp_path: Path, seconds: float, **env: str) -> tuple[list[dict], str]:
    shots = tmp_path / "shots"
    environ = dict(os.environ, SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy",
                   KIOSK_CONTROL_SOCKET=str(tmp_path / "control.sock"), **env)
    environ.pop("KIOSK_CONFIG", None)
    proc = subprocess.run(
        [sys.executable, "-m", "kiosk", "emulate", "--headless", "--source", "demo",
         "--screenshots", str(shots), "--seconds", str(seconds)],
        cwd=tmp_path, env=environ, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    index = [json.loads(line) for line in (shots / "screens.jsonl").read_text().splitlines()]
    for entry in index:
        assert (shots / entry["file"]).is_file()
    return index, proc.stderr


def image(tmp_path: Path, entry: dict) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(tmp_path / "shots" / entry["file"])), cv2.COLOR_BGR2RGB)


def test_demo_shows_attract_then_guidance_with_oval_and_prompt(tmp_path):
    index, _ = emulate(tmp_path, 9)
    kinds = [e["kind"] for e in index]
    assert kinds[0] == "attract" and "live" in kinds
    prompts = {e["prompt"] for e in index}
    assert "Take your selfie" in prompts
    assert prompts & {"Please come closer", "Please move into the oval", "Perfect, stay there"}
    # the demo's seed puts its first "Blink now" about 7 s in
    assert any(e["cue"] == 1 and e["prompt"] == "Blink now" for e in index), prompts
    live = next(e for e in index if e["kind"] == "live")
    img = image(tmp_path, live).astype(int)
    h, w = img.shape[:2]
    # the prompt line: bright text on the dark top band
    assert (img[: h // 8].max(axis=2) > 200).sum() > 200
    # the face oval guide: a thin ring of white (searching) or green (well placed) pixels
    white = (img.min(axis=2) > 235).sum()
    green = ((img[..., 1] > 150) & (img[..., 0] < 120) & (img[..., 2] < 150)).sum()
    assert white + green > 500


def test_missing_model_puts_the_kiosk_out_of_service_naming_it(tmp_path):
    models = tmp_path / "models"
    shutil.copytree(MODELS, models, ignore=shutil.ignore_patterns("*.py", "*.md", ".cache"))
    (models / "eye_state.tflite").unlink()
    index, stderr = emulate(tmp_path, 2, KIOSK_MODELS_DIR=str(models))
    assert {e["kind"] for e in index} == {"out_of_service"}
    assert "eye_state" in index[0]["hint"] and "missing" in index[0]["hint"]
    assert index[0]["prompt"] == "Out of service"
    assert "eye_state" in stderr


def test_demo_asset_is_real_footage_with_provenance():
    notice = (ROOT / "kiosk/assets/NOTICE.md").read_text()
    assert "WolfgangLanger_Pexels.mp4" in notice and "Pexels" in notice
    cap = cv2.VideoCapture(str(ROOT / "kiosk/assets/demo.mp4"))
    assert cap.isOpened() and cap.get(cv2.CAP_PROP_FRAME_COUNT) >= 300
    cap.release()
