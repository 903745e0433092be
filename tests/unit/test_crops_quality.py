"""Crop geometry and the quality measures on real photos."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from kiosk.domain import Face
from kiosk.vision import crops, quality

pytestmark = pytest.mark.unit


def synthetic_face(left=(120.0, 100.0), right=(80.0, 100.0)) -> Face:
    return Face((60, 60, 80, 100), 0.9, {
        "left_eye": left, "right_eye": right, "nose": (100, 125), "mouth": (100, 150),
        "left_ear": (140, 110), "right_ear": (60, 110)})


def test_crop_is_centred_on_its_anchor_and_scaled_by_eye_distance():
    image = np.zeros((200, 200, 3), np.uint8)
    cv2.circle(image, (120, 100), 3, (255, 0, 0), -1)  # a red dot on the subject's left eye
    face = synthetic_face()
    spec = crops.CropSpec("left_eye", (0, 0), (0.5, 0.5), (20, 20))
    out = crops.crop(image, face, spec)
    ys, xs = np.nonzero(out[..., 0] > 128)
    assert abs(xs.mean() - 9.5) < 1 and abs(ys.mean() - 9.5) < 1
    # 0.5 eye distances = 20 px of image in 20 output pixels: the 7-px dot stays about 7 px
    assert 5 <= xs.max() - xs.min() + 1 <= 9


def test_crop_follows_roll_and_mirror():
    image = np.zeros((200, 200, 3), np.uint8)
    image[:, 100:] = 255  # right half of the image white
    face = synthetic_face()
    spec = crops.CropSpec("eyes", (0, 0), (1.0, 1.0), (10, 10))
    plain = crops.crop(image, face, spec)[..., 0]
    assert plain[:, :4].max() == 0 and plain[:, 6:].min() == 255
    mirrored = crops.crop(image, face, crops.CropSpec("eyes", (0, 0), (1, 1), (10, 10), True))
    assert np.array_equal(mirrored[..., 0], plain[:, ::-1])
    # an upside-down face (eyes swapped) turns the crop around
    flipped = synthetic_face(left=(80.0, 100.0), right=(120.0, 100.0))
    assert np.array_equal(crops.crop(image, flipped, spec)[..., 0], plain[::-1, ::-1])


def test_region_polygon_matches_crop_matrix():
    face = synthetic_face()
    poly = crops.region_polygon(face, crops.REGION_BOXES["mouth"])
    centre = poly.mean(0)
    assert np.allclose(centre, face.keypoints["mouth"], atol=1e-6)


def test_blurred_copy_scores_lower(detector, live_face):
    face = detector.detect(live_face)[0]
    sharp, _ = quality.measure(live_face, face, None)
    blurred, _ = quality.measure(cv2.GaussianBlur(live_face, (0, 0), 2.5), face, None)
    assert blurred.sharpness < 0.5 * sharp.sharpness


def test_dark_copy_fails_exposure(detector, live_face):
    from kiosk.config import CaptureConfig, PositionConfig

    face = detector.detect(live_face)[0]
    ok, _ = quality.measure(live_face, face, None)
    dark, _ = quality.measure((live_face * 0.15).astype(np.uint8), face, None)
    assert ok.luminance > PositionConfig().min_luma > dark.luminance
    assert dark.luma_range < CaptureConfig().min_luma_range <= ok.luma_range


def test_pose_from_keypoints():
    yaw, roll = quality.pose(synthetic_face())
    assert abs(yaw) < 1e-6 and abs(roll) < 1e-6
    turned = synthetic_face()
    turned.keypoints["nose"] = (115, 125)  # nose towards the subject's left eye
    assert quality.pose(turned)[0] > 0.5
    tilted = synthetic_face(left=(120.0, 120.0), right=(80.0, 100.0))
    assert 25 < quality.pose(tilted)[1] < 28


def test_motion_is_in_eye_distances(detector, live_face):
    face = detector.detect(live_face)[0]
    shifted = Face((face.box[0] + 35, *face.box[1:]), face.score, face.keypoints)
    q, _ = quality.measure(live_face, shifted, face)
    assert abs(q.motion - 35 / face.eye_distance) < 1e-6


def test_signature_is_unit_norm_and_matches_itself(detector, live_face, astronaut):
    a, _ = quality.appearance(live_face, detector.detect(live_face)[0])
    b, _ = quality.appearance(astronaut, detector.detect(astronaut)[0])
    assert abs(np.linalg.norm(a) - 1) < 1e-5
    assert float(a @ a) > float(a @ b)
