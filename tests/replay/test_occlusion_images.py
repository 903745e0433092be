"""Region model + OCCLUSION logic on real held-out dataset photos: masks name nose and mouth,
sunglasses name both eyes, clean live faces pass. Images come from the recipe's test split
(its own split rules, so the test follows them when they change)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from kiosk.messages import load
from kiosk.session.occlusion import OcclusionCheck, prompt
from kiosk.vision.detector import FaceDetector
from kiosk.vision.manifest import load_manifest
from kiosk.vision.regions import RegionModel
from tests.conftest import MODELS, read_rgb

sys.path.insert(0, str(MODELS))
import occlusion_data  # noqa: E402  (the recipe's split rules: models/ is not a package)

pytestmark = [pytest.mark.replay, pytest.mark.dataset]

N = 24  # images per set: enough for a rate, a few seconds to run


@pytest.fixture(scope="module")
def regions(models_dir: Path) -> RegionModel:
    return RegionModel.from_specs(load_manifest(models_dir), models_dir)


def held_out(datasets: Path, source: str, group: str | None = None) -> list[Path]:
    return [it.path for it in occlusion_data.list_items(datasets)
            if it.split == "test" and it.source == source and group in (None, it.group)]


def spread(paths: list[Path], n: int = N) -> list[Path]:
    """n files evenly spread over a sorted list (deterministic, not hand-picked)."""
    paths = sorted(paths)
    return [paths[i] for i in np.linspace(0, len(paths) - 1, min(n, len(paths))).astype(int)]


def verdicts(paths: list[Path], detector: FaceDetector, regions: RegionModel) -> list[list[str]]:
    """Blocked parts per photo, as the session would name them after a steady 1 s view."""
    out = []
    for path in paths:
        # tight web crops get a border, as in the recipe: a camera frame has surroundings
        image = read_rgb(path)
        face = occlusion_data.detect_main_face(detector, image)
        if face is None:
            continue
        p = regions.predict(image, face)
        check = OcclusionCheck(duration_s=0.5, threshold=regions.threshold)
        for i in range(15):  # a still photo held in front of the camera
            check.update(i / 15, p)
        out.append(check.blocked_parts)
    return out


def test_masked_faces_name_nose_and_mouth(
    datasets: Path, detector: FaceDetector, regions: RegionModel
) -> None:
    paths = spread(held_out(datasets, "masks_with"))
    named = verdicts(paths, detector, regions)
    assert len(named) >= N * 0.8
    hits = [{"nose", "mouth"} <= set(parts) for parts in named]
    assert np.mean(hits) >= 0.85, named
    cat = load("en")
    key, params = prompt(next(p for p, h in zip(named, hits, strict=True) if h), cat)
    assert cat.text(key, **params).startswith("Please remove your mask")


def test_sunglasses_name_both_eyes(
    datasets: Path, detector: FaceDetector, regions: RegionModel
) -> None:
    paths = spread(held_out(datasets, "sunglasses"))
    named = verdicts(paths, detector, regions)
    assert len(named) >= N * 0.8
    both = [{"left_eye", "right_eye"} <= set(parts) for parts in named]
    assert np.mean(both) >= 0.75, named


def test_clean_live_faces_pass(
    datasets: Path, detector: FaceDetector, regions: RegionModel
) -> None:
    # NUAA test subjects: 0006 wears clear glasses, 0003 and 0009 do not
    paths = [p for subject in ("0003", "0006", "0009")
             for p in spread(held_out(datasets, "nuaa", subject), 3 * N)]
    named = verdicts(paths, detector, regions)
    assert len(named) == len(paths)
    assert np.mean([parts == [] for parts in named]) >= 0.95, named
