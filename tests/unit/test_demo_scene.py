"""The demo's composited pieces: the virtual camera, the drawn mask, the held-up tablet."""

from __future__ import annotations

import numpy as np
import pytest

from kiosk import demo_scene as ds

pytestmark = pytest.mark.unit

KP = {"left_eye": (240.0, 140.0), "right_eye": (160.0, 140.0), "nose": (200.0, 185.0),
      "mouth": (200.0, 225.0), "left_ear": (275.0, 170.0), "right_ear": (125.0, 170.0)}


def frame(w: int = 640, h: int = 360) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(60, 200, (h, w, 3), dtype=np.uint8)


def test_extend_left_mirrors_only_the_empty_wall() -> None:
    src = frame()
    out = ds.extend_left(src, empty_cols=100, width=250)
    assert out.shape == (360, 890, 3)
    assert np.array_equal(out[:, 250:], src)
    # right next to the real frame: the wall mirrored (a seamless fold), then repeated
    assert np.array_equal(out[:, 150:250], src[:, :100][:, ::-1])
    assert np.array_equal(out[:, 50:150], src[:, :100])
    wall = set(map(bytes, src[:, :100].reshape(-1, 3)))
    assert set(map(bytes, out[:, :250].reshape(-1, 3))) <= wall


def test_view_is_a_native_window_kept_inside_the_frame() -> None:
    src = frame()
    assert np.array_equal(ds.view(src, 100), src[:, 100:500])
    assert np.array_equal(ds.view(src, -50), src[:, :400])
    assert np.array_equal(ds.view(src, 10_000), src[:, 240:])
    assert ds.view(src, 0).shape == (ds.SIZE[1], ds.SIZE[0], 3)


def test_mask_covers_nose_and_mouth_not_the_eyes_and_slides_up() -> None:
    src = np.full((360, 400, 3), 128, np.uint8)
    assert ds.wear_mask(src, KP, 0.0) is src
    worn = ds.wear_mask(src, KP, 1.0).astype(int)
    changed = np.abs(worn - 128).max(axis=2) > 10
    for name in ("nose", "mouth"):
        x, y = (round(v) for v in KP[name])
        assert changed[y, x], name
    for name in ("left_eye", "right_eye"):
        x, y = (round(v) for v in KP[name])
        assert not changed[y - 5: y + 5, x - 5: x + 5].any(), name
    half = np.abs(ds.wear_mask(src, KP, 0.5).astype(int) - 128).max(axis=2) > 10
    nose_x, nose_y = (round(v) for v in KP["nose"])
    assert not half[nose_y, nose_x] and half.sum() > 0  # on its way up: still below the nose


def test_held_up_photo_fills_the_frame_and_sways_a_little() -> None:
    photo = frame(480, 640)
    a, b = ds.held_up(photo, 0.0), ds.held_up(photo, 1.7)
    assert a.shape == b.shape == (ds.SIZE[1], ds.SIZE[0], 3)
    assert not np.array_equal(a, b)
    same = [ds.held_up(photo, t) for t in (0.0, 0.0)]
    assert np.array_equal(*same)  # a function of time only: replays are reproducible
