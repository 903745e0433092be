"""Continuity on real NUAA frames through the real pipeline: live, print swap, second person."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import cv2
import numpy as np
import pytest

from kiosk.config import ContinuityConfig
from kiosk.domain import Face, Frame, Observation
from kiosk.session.continuity import CUES, Continuity
from kiosk.vision.pipeline import Pipeline
from tests.conftest import read_rgb

pytestmark = [pytest.mark.replay, pytest.mark.dataset]

NUAA_FPS = 20.0  # picNo is the frame counter of the 20 fps NUAA capture
LIVE = ("ClientRaw", "0004_01_06_03")  # session 3: a kept frame every 0.15 s
PHOTO = ("ImposterRaw", "0004_01_03_03")  # printed photo of the same person
OTHER = ("ClientRaw", "0007_01_05_03")


def sequence(datasets: Path, kind: str, key: str, n: int, skip_s: float = 0.0
             ) -> list[tuple[float, np.ndarray]]:
    """(t, RGB) of a NUAA sequence, t from picNo, after `skip_s` (camera settling)."""
    folder = datasets / "spoof" / "nuaa" / kind / key[:4]
    pics = sorted(int(p.stem.rsplit("_", 1)[1]) for p in folder.glob(f"{key}_*.jpg"))
    pics = [p for p in pics if (p - pics[0]) / NUAA_FPS >= skip_s][:n]
    return [((p - pics[0]) / NUAA_FPS, read_rgb(folder / f"{key}_{p}.jpg")) for p in pics]


def observe(pipeline: Pipeline, frames: list[tuple[float, np.ndarray]]) -> list[Observation]:
    pipeline.reset()
    return [pipeline.process(Frame(im, t, i)) for i, (t, im) in enumerate(frames)]


def breaks(observations: list[Observation]) -> list[tuple[int, str]]:
    c = Continuity(ContinuityConfig())
    return [(o.index, why) for o in observations if (why := c.update(o)) is not None]


def aligned(image: np.ndarray, face: Face, target: Face) -> np.ndarray:
    """The image moved and scaled so that `face` lands where `target` is (a careful attacker)."""
    s = target.eye_distance / face.eye_distance
    (fx, fy), (tx, ty) = face.center, target.center
    m = np.array([[s, 0, tx - s * fx], [0, s, ty - s * fy]], np.float64)
    h, w = image.shape[:2]
    return cv2.warpAffine(image, m, (w, h), borderMode=cv2.BORDER_REPLICATE)


@pytest.fixture(scope="module")
def pipeline(detector) -> Pipeline:  # type: ignore[no-untyped-def]
    return Pipeline(detector)


@pytest.fixture(scope="module")
def live(datasets: Path) -> list[tuple[float, np.ndarray]]:
    return sequence(datasets, *LIVE, n=40, skip_s=1.0)


def test_unbroken_live_sequence_is_never_broken(pipeline, live):
    observations = observe(pipeline, live)
    assert all(o.face is not None for o in observations)
    assert breaks(observations) == []


def test_printed_photo_of_the_same_person_swapped_in_place_breaks_it(datasets, pipeline, live):
    observations = observe(pipeline, live)
    last = observations[-1].face
    t0 = observations[-1].t + 1 / 15  # the print appears one loop interval later
    photo = []
    for i, (_, image) in enumerate(sequence(datasets, *PHOTO, n=6)):
        [face] = pipeline.detector.detect(image)
        photo.append((t0 + i / 15, aligned(image, face, last)))
    swapped = observe(pipeline, photo)
    observations += [dataclasses.replace(o, index=len(live) + i) for i, o in enumerate(swapped)]
    # the aligned print is where the face was: only appearance can tell
    moved = swapped[0].face
    assert moved is not None and abs(moved.center[0] - last.center[0]) < 0.1 * last.eye_distance
    found = breaks(observations)
    assert found and found[0][0] == len(live) and found[0][1] in CUES


def test_a_second_person_stepping_in_breaks_it(datasets, pipeline, live):
    [(_, other)] = sequence(datasets, *OTHER, n=1, skip_s=1.0)
    [other_face] = pipeline.detector.detect(other)
    x, y, w, h = (int(v) for v in other_face.box)
    pad = w // 4
    patch = other[max(0, y - pad):y + h + pad, max(0, x - pad):x + w + pad]
    first = observe(pipeline, live[:1])[0].face
    assert first is not None
    # scaled to 80 % of the main face, pasted beside it from frame 20 on
    scale = 0.8 * first.eye_distance / other_face.eye_distance
    patch = cv2.resize(patch, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    frames = []
    for i, (t, image) in enumerate(live):
        image = image.copy()
        if i >= 20:
            ph, pw = patch.shape[:2]
            x0 = int(first.box[0] + first.box[2]) + 10  # just right of the main face
            y0 = int(first.center[1] - ph / 2)
            image[y0:y0 + ph, x0:x0 + pw] = patch[:image.shape[0] - y0, :image.shape[1] - x0]
        frames.append((t, image))
    observations = observe(pipeline, frames)
    assert observations[20].faces == 2
    found = breaks(observations)
    assert found[0] == (20, "second face")
