"""Region occlusion model on committed fixtures: clean faces pass, painted occluders are named on
the right side, the manifest is honoured, and a golden output pins the model."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from kiosk.domain import Face
from kiosk.errors import ModelError
from kiosk.vision.detector import FaceDetector
from kiosk.vision.manifest import load_manifest
from kiosk.vision.regions import MODEL_NAME, RegionModel, face_crop, rescale
from kiosk.vision.runtime import TFLiteModel

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def regions(models_dir: Path) -> RegionModel:
    return RegionModel.from_specs(load_manifest(models_dir), models_dir)


def main_face(detector: FaceDetector, image: np.ndarray) -> Face:
    faces = detector.detect(image)
    assert faces, "no face found in the fixture"
    return max(faces, key=lambda f: f.eye_distance)


def cover(
    image: np.ndarray,
    face: Face,
    keypoint: str,
    colour: tuple[int, int, int],
    size: tuple[float, float] = (0.5, 0.38),
) -> np.ndarray:
    """Paint an opaque ellipse (like a dark lens or a card) over one keypoint."""
    out = image.copy()
    d = face.eye_distance
    x, y = face.keypoints[keypoint]
    cv2.ellipse(
        out,
        (round(x), round(y)),
        (round(size[0] * d), round(size[1] * d)),
        0,
        0,
        360,
        colour,
        -1,
        cv2.LINE_AA,
    )
    return out


def test_reports_the_measured_regions_from_the_subjects_point_of_view(regions: RegionModel) -> None:
    assert regions.regions == ("left_eye", "right_eye", "nose", "mouth")
    assert regions.outputs == ("forehead", "left_eye", "right_eye", "nose", "mouth", "chin")
    assert 0.05 < regions.threshold < 0.95


@pytest.mark.parametrize("fixture", ["astronaut", "live_face"])
def test_clean_fixture_faces_pass(
    fixture: str, request: pytest.FixtureRequest, detector: FaceDetector, regions: RegionModel
) -> None:
    image = request.getfixturevalue(fixture)
    p = regions.predict(image, main_face(detector, image))
    assert set(p) == set(regions.regions)
    assert all(v < regions.threshold for v in p.values()), p


@pytest.mark.parametrize(
    ("colour", "mirror"),
    [((20, 20, 25), False), ((235, 235, 230), False), ((20, 20, 25), True)],
    ids=["dark_lens", "white_card", "dark_lens_mirrored_photo"],
)
def test_subjects_left_eye_covered_is_left_eye(
    colour: tuple[int, int, int],
    mirror: bool,
    astronaut: np.ndarray,
    detector: FaceDetector,
    regions: RegionModel,
) -> None:
    face = main_face(detector, astronaut)
    # the subject's left eye is on the image's right in an unmirrored photo
    assert face.keypoints["left_eye"][0] > face.keypoints["right_eye"][0]
    painted = cover(astronaut, face, "left_eye", colour)
    covered, clear = "left_eye", "right_eye"
    if mirror:  # a mirrored photo shows a person whose *right* eye is covered
        painted = np.ascontiguousarray(painted[:, ::-1])
        covered, clear = clear, covered
    p = regions.predict(painted, main_face(detector, painted))
    assert p[covered] >= regions.threshold, p
    assert p[clear] < regions.threshold, p


def test_mouth_covered_is_mouth(
    live_face: np.ndarray, detector: FaceDetector, regions: RegionModel
) -> None:
    face = main_face(detector, live_face)
    painted = cover(live_face, face, "mouth", (205, 160, 130), size=(0.75, 0.45))  # skin tone
    p = regions.predict(painted, main_face(detector, painted))
    assert p["mouth"] >= regions.threshold, p
    assert p["left_eye"] < regions.threshold and p["right_eye"] < regions.threshold, p


# Pinned outputs of every head on the astronaut fixture: a changed model file, crop geometry or
# runtime that changes the numbers must update these on purpose.
GOLDEN_ASTRONAUT = {
    "forehead": 0.8066, "left_eye": 0.0, "right_eye": 0.0,
    "nose": 0.0011, "mouth": 0.0009, "chin": 0.0020,
}


def test_golden_output_on_astronaut(
    astronaut: np.ndarray, detector: FaceDetector, regions: RegionModel
) -> None:
    got = regions.predict_all(face_crop(astronaut, main_face(detector, astronaut)))
    assert got == pytest.approx(GOLDEN_ASTRONAUT, abs=0.02)


def test_manifest_must_name_the_regions(models_dir: Path) -> None:
    spec = load_manifest(models_dir)[MODEL_NAME]
    bad = replace(spec, extra={k: v for k, v in spec.extra.items() if k != "regions"})
    with pytest.raises(ModelError, match="regions"):
        RegionModel(TFLiteModel(bad, models_dir))


def test_each_region_is_named_at_its_own_validated_threshold(regions: RegionModel) -> None:
    at = regions.head_thresholds
    to = regions.threshold
    # every reported region has its own threshold from the recipe's validation split
    spec = regions.model.spec.extra["thresholds"]
    assert set(regions.regions) <= set(spec)
    assert rescale(at, at, to) == pytest.approx(np.full(len(at), to))
    assert rescale(at - 1e-3, at, to).max() < to <= rescale(at + 1e-3, at, to).min()
    grid = np.linspace(0, 1, 101)[:, None]
    mapped = rescale(grid, at, to)
    assert mapped[0] == pytest.approx(np.zeros(len(at))) and mapped[-1] == pytest.approx(1.0)
    assert (np.diff(mapped, axis=0) >= 0).all()  # monotone: the ranking of faces is kept


@pytest.mark.parametrize("bad", [{"left_eye": 1.5}, {"elbow": 0.5}, [0.4]])
def test_manifest_thresholds_are_checked(models_dir: Path, bad: object) -> None:
    spec = load_manifest(models_dir)[MODEL_NAME]
    broken = replace(spec, extra={**spec.extra, "thresholds": bad})
    with pytest.raises(ModelError, match="thresholds"):
        RegionModel(TFLiteModel(broken, models_dir))


def test_missing_entry_is_a_clear_error(models_dir: Path) -> None:
    specs = {k: v for k, v in load_manifest(models_dir).items() if k != MODEL_NAME}
    with pytest.raises(ModelError, match=MODEL_NAME):
        RegionModel.from_specs(specs, models_dir)
