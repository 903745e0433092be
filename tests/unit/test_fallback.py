"""YuNet and the covered-face fallback: orientation, agreement with BlazeFace, when it runs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from kiosk.analyze import record
from kiosk.domain import Face, Frame
from kiosk.errors import ModelError, ModelMissingError
from kiosk.vision.crops import face_axes
from kiosk.vision.fallback import SCAN_S, SEARCH_S, Fallback, prior_window
from kiosk.vision.manifest import load_manifest
from kiosk.vision.pipeline import Pipeline
from kiosk.vision.yunet import YuNet

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def yunet(models_dir) -> YuNet:
    return YuNet(load_manifest(models_dir)["face_detector_yunet"], models_dir, min_score=0.5)


def in_frame_of(face: Face, ref: Face) -> dict[str, np.ndarray]:
    origin, ex, ey, d = face_axes(ref)
    return {k: np.array([np.dot(np.subtract(p, origin), ex), np.dot(np.subtract(p, origin), ey)])
            / d for k, p in face.keypoints.items()}


@pytest.mark.parametrize("fixture", ["astronaut", "live_face"])
def test_yunet_agrees_with_blazeface_on_real_faces(request, detector, yunet, fixture):
    image = request.getfixturevalue(fixture)
    [blaze] = detector.detect(image)
    found = Fallback(yunet).find(image, blaze)
    assert found is not None and found.detector == "yunet"
    assert set(found.keypoints) == set(blaze.keypoints)
    # subject's left eye on the right of the unmirrored image, like BlazeFace
    assert found.keypoints["left_eye"][0] > found.keypoints["right_eye"][0]
    ours, theirs = in_frame_of(found, blaze), in_frame_of(blaze, blaze)
    for k in ("left_eye", "right_eye", "nose", "mouth"):
        # within a quarter eye distance (the p90 disagreement in models/face_detector.md)
        assert np.hypot(*(ours[k] - theirs[k])) < 0.25, k
    assert abs(np.log(found.eye_distance / blaze.eye_distance)) < 0.2


def test_window_and_whole_frame_give_the_same_face(yunet, live_face, detector):
    [blaze] = detector.detect(live_face)
    whole = Fallback.near(yunet.detect(live_face), blaze)
    window = Fallback(yunet).find(live_face, blaze)
    assert whole is not None and window is not None
    tol = 0.2 * blaze.eye_distance
    assert abs(whole.center[0] - window.center[0]) < tol
    assert abs(whole.center[1] - window.center[1]) < tol


def test_window_partly_outside_the_frame(yunet, live_face, detector):
    [blaze] = detector.detect(live_face)
    h, w = live_face.shape[:2]
    shifted = np.zeros_like(live_face)
    dx = int(blaze.center[0])  # the face's centre moved onto the left edge
    shifted[:, : w - dx] = live_face[:, dx:]
    moved = Face((blaze.box[0] - dx, *blaze.box[1:]), blaze.score,
                 {k: (x - dx, y) for k, (x, y) in blaze.keypoints.items()})
    assert prior_window(moved)[0] < 0
    found = Fallback(yunet).find(shifted, moved)
    assert found is not None and abs(found.center[0] - moved.center[0]) < blaze.eye_distance


def test_nothing_in_flat_noise_or_an_empty_window(yunet):
    rng = np.random.default_rng(0)
    assert yunet.detect(np.full((480, 640, 3), 128, np.uint8)) == []
    assert yunet.detect(rng.integers(0, 255, (480, 640, 3), dtype=np.uint8)) == []
    assert yunet.detect(np.zeros((480, 640, 3), np.uint8), (700, 500, 100, 100)) == []


def test_near_picks_the_face_last_seen_only(live_face, detector):
    [blaze] = detector.detect(live_face)
    d = blaze.eye_distance

    def moved(dx: float, scale: float = 1.0) -> Face:
        cx, cy = blaze.center
        kp = {k: (cx + dx + scale * (x - cx), cy + scale * (y - cy))
              for k, (x, y) in blaze.keypoints.items()}
        x, y, w, h = blaze.box
        return Face((cx + dx - scale * w / 2, cy - scale * h / 2, scale * w, scale * h),
                    0.9, kp)

    assert Fallback.near([moved(0.5 * d)], blaze) is not None
    assert Fallback.near([moved(2.0 * d)], blaze) is None  # somebody else, beside
    assert Fallback.near([moved(0.0, 2.0)], blaze) is None  # much larger: not the same face
    close, far = moved(0.2 * d), moved(1.0 * d)
    assert Fallback.near([far, close], blaze) is close


class Losing:
    """BlazeFace that stops seeing faces after its first call (a hand comes up)."""

    def __init__(self, real) -> None:  # type: ignore[no-untyped-def]
        self.real = real
        self.calls = 0

    def detect(self, image: np.ndarray) -> list[Face]:
        self.calls += 1
        return self.real.detect(image) if self.calls == 1 else []


def test_pipeline_runs_the_fallback_only_when_blazeface_loses_the_face(
        detector, yunet, live_face):
    pipeline = Pipeline(Losing(detector), fallback=Fallback(yunet))  # type: ignore[arg-type]
    first = pipeline.process(Frame(live_face, 0.0, 0))
    assert first.face is not None and first.face.detector == "blazeface"
    assert "fallback" not in first.timings
    second = pipeline.process(Frame(live_face, 0.1, 1))
    assert "fallback" in second.timings
    assert second.face is not None and second.face.detector == "yunet" and second.faces == 1
    rec = json.loads(json.dumps(record(Path("frame.png"), 1, 0.1, second, False)))
    assert rec["face"]["detector"] == "yunet"
    # found again: the search goes on from the new place, frame after frame
    t = 0.1 + 0.9 * SEARCH_S
    third = pipeline.process(Frame(live_face, t, 2))
    assert third.face is not None and third.face.detector == "yunet"
    # nobody there for longer than SEARCH_S: no more second looks
    blank = np.full_like(live_face, 90)
    gone = pipeline.process(Frame(blank, t + 0.1, 3))
    assert gone.face is None and "fallback" in gone.timings
    # nobody seen lately: a slow scan of the whole frame, at most every SCAN_S
    late = [pipeline.process(Frame(blank, t + SEARCH_S + 0.2 + i * SCAN_S / 3, 4 + i))
            for i in range(4)]
    assert ["fallback" in o.timings for o in late] == [True, False, False, True]
    assert all(o.face is None for o in late)


class Shifted:
    """BlazeFace whose face is moved sideways by a given number of eye distances per call."""

    def __init__(self, real, shifts: list[float]) -> None:  # type: ignore[no-untyped-def]
        self.real = real
        self.shifts = shifts

    def detect(self, image: np.ndarray) -> list[Face]:
        [face] = self.real.detect(image)
        dx = self.shifts.pop(0) * face.eye_distance
        return [Face((face.box[0] + dx, *face.box[1:]), face.score,
                     {k: (x + dx, y) for k, (x, y) in face.keypoints.items()})]


def test_a_face_found_by_both_detectors_is_one_face(detector, yunet, astronaut):
    # seen 1.4 eye distances to the left; now BlazeFace puts it 0.2 to the right (1.6 from
    # where it was: not near) while YuNet finds it where it is (1.4: near)
    pipeline = Pipeline(Shifted(detector, [-1.4, 0.2]),  # type: ignore[arg-type]
                        fallback=Fallback(yunet))
    pipeline.process(Frame(astronaut, 0.0, 0))
    obs = pipeline.process(Frame(astronaut, 0.1, 1))
    assert obs.face is not None and obs.face.detector == "yunet"
    assert obs.faces == 1 and obs.others == ()


def test_the_scan_finds_a_face_nobody_saw_before(detector, yunet, live_face):
    pipeline = Pipeline(Losing(detector), fallback=Fallback(yunet))  # type: ignore[arg-type]
    pipeline.detector.calls = 1  # BlazeFace never sees this face
    obs = pipeline.process(Frame(live_face, 0.0, 0))
    assert obs.face is not None and obs.face.detector == "yunet" and "fallback" in obs.timings


def test_every_face_in_analyze_json_names_its_detector(detector, live_face):
    obs = Pipeline(detector).process(Frame(live_face, 0.0, 0))
    rec = record(Path("frame.png"), 0, 0.0, obs, False)
    assert rec["face"]["detector"] == "blazeface"
    assert set(rec["face"]) == {"box", "score", "keypoints", "detector"}


def test_yunet_refuses_a_missing_or_corrupt_file(tmp_path, models_dir):
    shutil.copy(models_dir / "manifest.toml", tmp_path)
    spec = load_manifest(tmp_path)["face_detector_yunet"]
    with pytest.raises(ModelMissingError):
        YuNet(spec, tmp_path)
    data = bytearray((models_dir / spec.file).read_bytes())
    data[1000] ^= 0xFF
    (tmp_path / spec.file).write_bytes(bytes(data))
    with pytest.raises(ModelError, match="corrupt or the wrong file"):
        YuNet(spec, tmp_path)
