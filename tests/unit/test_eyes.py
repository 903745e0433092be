"""EyeStateModel on real fixtures (open eyes), golden outputs, and crop plumbing."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import cv2
import numpy as np
import pytest

from kiosk.config import CaptureConfig
from kiosk.domain import Face
from kiosk.errors import ModelError
from kiosk.vision.crops import EYE_STATE, crop
from kiosk.vision.eyes import EyeStateModel
from kiosk.vision.manifest import load_manifest
from kiosk.vision.runtime import TFLiteModel
from tests.conftest import recipe_module

pytestmark = pytest.mark.unit

# p(closed) (left, right) of the shipped model; re-pin when the model is retrained.
GOLDEN = {"astronaut": (0.0, 0.0), "live_face": (114 / 256, 68 / 256)}
TOLERANCE = 2 / 256  # two uint8 output steps: room for int8 kernel differences on arm64


@pytest.fixture(scope="module")
def eye_model(models_dir: Path) -> EyeStateModel:
    return EyeStateModel(TFLiteModel(load_manifest(models_dir)["eye_state"], models_dir))


def main_face(detector, image: np.ndarray) -> Face:  # type: ignore[no-untyped-def]
    faces = detector.detect(image)
    assert faces, "no face found in the fixture"
    return max(faces, key=lambda f: f.eye_distance)


@pytest.mark.parametrize("name", ["astronaut", "live_face"])
def test_open_eyes_on_real_photos(name: str, request: pytest.FixtureRequest,
                                  detector, eye_model: EyeStateModel) -> None:  # type: ignore[no-untyped-def]
    image = request.getfixturevalue(name)
    eyes = eye_model.predict(image, main_face(detector, image))
    # open enough for the selfie (the blink detector measures against each person's level)
    limit = CaptureConfig().max_eye_closed
    assert eyes.left_closed < limit and eyes.right_closed < limit


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden_outputs(name: str, request: pytest.FixtureRequest,
                        detector, eye_model: EyeStateModel) -> None:  # type: ignore[no-untyped-def]
    image = request.getfixturevalue(name)
    eyes = eye_model.predict(image, main_face(detector, image))
    assert (eyes.left_closed, eyes.right_closed) == pytest.approx(GOLDEN[name], abs=TOLERANCE)


class _MeanModel:
    """Stands in for a TFLiteModel: p = mean pixel of each crop / 255."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.input_shape = shape
        self.calls = 0

    def run(self, x: np.ndarray) -> list[np.ndarray]:
        self.calls += 1
        return [x.reshape(len(x), -1).mean(axis=1, keepdims=True) / 255.0]


@pytest.mark.parametrize("batch", [1, 2])
@pytest.mark.parametrize("channels", [1, 3])
def test_left_and_right_crops_reach_the_right_fields(batch: int, channels: int,
                                                     astronaut: np.ndarray, detector) -> None:  # type: ignore[no-untyped-def]
    face = main_face(detector, astronaut)
    fake = _MeanModel((batch, 32, 32, channels))
    eyes = EyeStateModel(fake).predict(astronaut, face)  # type: ignore[arg-type]
    assert fake.calls == (1 if batch == 2 else 2)
    for value, name in ((eyes.left_closed, "left_eye"), (eyes.right_closed, "right_eye")):
        patch = crop(astronaut, face, EYE_STATE[name])
        if channels == 1:
            patch = cv2.cvtColor(patch, cv2.COLOR_RGB2GRAY)
        assert value == pytest.approx(patch.mean() / 255.0, abs=1e-6)


@pytest.mark.parametrize("shape", [(1, 32, 32), (4, 32, 32, 1), (1, 24, 24, 1), (1, 32, 32, 2)])
def test_unsuitable_model_shapes_are_refused(shape: tuple[int, ...]) -> None:
    with pytest.raises(ModelError):
        EyeStateModel(_MeanModel(shape))  # type: ignore[arg-type]


def load_eye_data() -> ModuleType:
    return recipe_module("eye_data")


def test_training_crops_use_the_runtime_geometry(astronaut: np.ndarray, detector) -> None:  # type: ignore[no-untyped-def]
    # Training data is cut with kiosk.vision.crops.crop (a wider window around the same
    # centre); un-augmented, it must reproduce the run-time crop.
    data = load_eye_data()
    face = main_face(detector, astronaut)
    for name, base in data.base_crops(astronaut, face).items():
        h, w = base.shape
        sample = data.Sample(base, ((w - 1) / 2, (h - 1) / 2), w / 2, 0, "test", "test")
        runtime = cv2.cvtColor(crop(astronaut, face, EYE_STATE[name]), cv2.COLOR_RGB2GRAY)
        diff = np.abs(data.render(sample).astype(int) - runtime.astype(int))
        assert diff.mean() < 6, name
