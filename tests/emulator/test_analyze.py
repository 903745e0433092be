"""`kiosk analyze --json`: the JSON Lines contract, on real photos and clips."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import FIXTURES

pytestmark = pytest.mark.emulator

KEYS = {"source", "frame", "t", "faces", "face", "eyes", "regions", "attack", "blink"}
KEYPOINTS = {"left_eye", "right_eye", "nose", "mouth", "left_ear", "right_ear"}


def analyze(*args: str) -> tuple[list[dict], subprocess.CompletedProcess]:
    proc = subprocess.run([sys.executable, "-m", "kiosk", "analyze", *args, "--json"],
                          capture_output=True, text=True, timeout=120)
    return [json.loads(line) for line in proc.stdout.splitlines()], proc


def test_one_object_per_image_with_exactly_the_contract_keys():
    records, proc = analyze(str(FIXTURES / "astronaut.png"), str(FIXTURES / "nonface_150.png"))
    assert proc.returncode == 0, proc.stderr
    astronaut, nonface = records
    assert set(astronaut) == KEYS and set(nonface) == KEYS
    assert astronaut["frame"] == 0 and astronaut["t"] == 0 and astronaut["faces"] == 1
    face = astronaut["face"]
    assert set(face) == {"box", "score", "keypoints", "detector"} and len(face["box"]) == 4
    assert face["detector"] == "blazeface"
    assert set(face["keypoints"]) == KEYPOINTS
    assert face["keypoints"]["left_eye"][0] > face["keypoints"]["right_eye"][0]
    assert set(astronaut["eyes"]) == {"left", "right"}
    assert astronaut["eyes"]["left"]["closed"] < 0.5 and astronaut["eyes"]["right"]["closed"] < 0.5
    assert set(astronaut["regions"]) >= {"left_eye", "right_eye", "nose", "mouth"}
    assert all(0 <= p <= 1 for p in astronaut["regions"].values())
    assert astronaut["blink"] is False
    assert 0 <= astronaut["attack"] < 0.1  # a well-lit photo of a person scores live
    assert nonface["faces"] == 0 and nonface["face"] is None and nonface["eyes"] is None
    assert nonface["attack"] is None


def test_directory_of_photos_and_quality_option(tmp_path):
    records, proc = analyze(str(FIXTURES), "--quality")
    assert proc.returncode == 0, proc.stderr
    assert len(records) == 4 and all(r["frame"] == 0 for r in records)
    assert all("quality" in r for r in records)


def test_unreadable_inputs_are_errors_not_tracebacks(tmp_path):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"not a jpeg")
    records, proc = analyze(str(tmp_path / "absent.mp4"), str(bad),
                            str(FIXTURES / "astronaut.png"))
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert "absent.mp4: no such file" in proc.stderr and "broken.jpg" in proc.stderr
    assert len(records) == 1  # the good input is still analysed


@pytest.mark.dataset
def test_video_frames_have_times_and_the_two_blinks(datasets):
    records, proc = analyze(str(datasets / "clips/dinoman/example.mp4"))
    assert proc.returncode == 0, proc.stderr
    assert [r["frame"] for r in records] == list(range(75))
    assert records[25]["t"] == pytest.approx(1.0)
    assert sum(r["blink"] for r in records) == 2
