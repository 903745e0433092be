"""Capture checks and choice on real photos and degraded copies of them."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest

from kiosk.config import CaptureConfig
from kiosk.domain import Eyes, Frame, Observation
from kiosk.session import capture
from kiosk.vision.pipeline import Pipeline

pytestmark = pytest.mark.unit

CFG = CaptureConfig()
OPEN = Eyes(0.02, 0.03)


def observe(detector, image: np.ndarray, eyes: Eyes | None = OPEN) -> Observation:  # type: ignore[no-untyped-def]
    obs = Pipeline(detector).process(Frame(image, 0.0, 0))
    return dataclasses.replace(obs, eyes=eyes)


@pytest.fixture
def portrait(detector, astronaut) -> np.ndarray:  # type: ignore[no-untyped-def]
    """The astronaut photo cropped around her face and enlarged: centred, big enough."""
    face = detector.detect(astronaut)[0]
    cx, cy = (int(v) for v in face.center)
    half = int(3 * face.eye_distance)
    crop = astronaut[max(0, cy - half):cy + half, max(0, cx - half):cx + half]
    return cv2.resize(crop, (480, 480), interpolation=cv2.INTER_CUBIC)


def test_a_good_real_frame_passes_every_check(detector, portrait):
    obs = observe(detector, portrait)
    assert capture.failures(obs, CFG) == [], capture.scores(obs)


def test_a_blurred_copy_scores_lower_and_fails_sharpness(detector, portrait):
    sharp = observe(detector, portrait)
    blurred = observe(detector, cv2.GaussianBlur(portrait, (0, 0), 4))
    assert blurred.quality.sharpness < 0.3 * sharp.quality.sharpness
    assert capture.failures(blurred, CFG) == ["blurred"]


@pytest.mark.parametrize("gain", [0.15, 3.0])
def test_a_dark_or_blown_out_copy_fails_exposure(detector, portrait, gain):
    image = np.clip(portrait.astype(np.float32) * gain, 0, 255).astype(np.uint8)
    assert "badly_exposed" in capture.failures(observe(detector, image), CFG)


def test_a_rolled_face_fails_frontal(detector, portrait):
    h, w = portrait.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), 30, 1.0)
    rolled = observe(detector, cv2.warpAffine(portrait, m, (w, h), borderMode=cv2.BORDER_REFLECT))
    assert abs(rolled.quality.roll_deg) > CFG.max_roll_deg
    assert "not_frontal" in capture.failures(rolled, CFG)


def test_a_turned_face_fails_frontal(detector, live_face):
    obs = observe(detector, live_face)  # the fixture looks past the camera
    assert abs(obs.quality.yaw) > CFG.max_yaw
    assert "not_frontal" in capture.failures(obs, CFG)


def test_off_centre_small_and_closed_eyes_are_named(detector, astronaut, portrait):
    assert "off_centre" in capture.failures(observe(detector, astronaut), CFG)
    small = cv2.resize(portrait, (160, 160), interpolation=cv2.INTER_AREA)
    assert "face_too_small" in capture.failures(observe(detector, small), CFG)
    assert capture.failures(observe(detector, portrait, Eyes(0.9, 0.05)), CFG) == ["eyes_closed"]
    assert "eyes_closed" in capture.failures(observe(detector, portrait, None), CFG)


def test_best_is_the_sharpest_and_metadata_carries_scores_and_thresholds(detector, portrait):
    frames = [observe(detector, cv2.GaussianBlur(portrait, (0, 0), s) if s else portrait)
              for s in (1.5, 0, 1.0)]
    frames = [dataclasses.replace(o, index=i) for i, o in enumerate(frames)]
    assert capture.best(frames).index == 1
    assert capture.best([frames[1], dataclasses.replace(frames[1], index=7)]).index == 7
    assert capture.best([]) is None
    meta = capture.metadata(frames[1], CFG)
    assert set(meta["scores"]) >= {"sharpness", "eye_distance_px", "offset", "yaw", "roll_deg",
                                   "luma_range", "clipped", "eye_closed"}
    assert meta["thresholds"]["max_offset"] == CFG.max_offset
    assert meta["face"]["box"] and meta["checks"] == list(capture.CHECKS)
