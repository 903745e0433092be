"""Presentation-attack model: context-crop geometry, golden outputs on the minivision fixtures,
manifest checks, and a missing or corrupt model taking the kiosk out of service."""

from __future__ import annotations

import shutil
import tomllib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from kiosk.config import AttackConfig, Config, ModelsConfig
from kiosk.domain import Face
from kiosk.errors import ModelError
from kiosk.vision import stack
from kiosk.vision.attack import MODEL_NAME, AttackModel
from kiosk.vision.crops import WIDER_BOX, ContextCrop, context_box, context_crop
from kiosk.vision.detector import FaceDetector
from kiosk.vision.manifest import load_manifest
from kiosk.vision.runtime import TFLiteModel
from tests.conftest import FIXTURES, read_rgb

pytestmark = pytest.mark.unit

# p(attack) of the committed minivision fixtures (Apache-2.0) through detector + crop + model;
# the card's sample table (models/presentation_attack.md) shows the same numbers
GOLDEN = {"print_F1.jpg": 0.9258, "live_T1.jpg": 0.0039, "astronaut.png": 0.0117}


def square(cx: float, cy: float, side: float) -> Face:
    return Face((cx - side / 2, cy - side / 2, side, side), 0.9, {})


@pytest.fixture(scope="module")
def model(models_dir: Path) -> AttackModel:
    return AttackModel(TFLiteModel(load_manifest(models_dir)[MODEL_NAME], models_dir))


def test_context_box_is_the_scaled_wider_style_box_when_it_fits() -> None:
    x0, y0, x1, y1 = context_box(square(320, 240, 60), 2.7, (640, 480))
    kw, kh, shift = WIDER_BOX
    assert (x1 - x0) == pytest.approx(60 * kw * 2.7, abs=1)
    assert (y1 - y0) == pytest.approx(60 * kh * 2.7, abs=1)
    assert (y0 + y1) / 2 == pytest.approx(240 + shift * 60, abs=1)


def test_context_box_shifts_inside_the_frame_instead_of_padding() -> None:
    x0, y0, x1, y1 = context_box(square(30, 30, 60), 2.7, (640, 480))
    assert (x0, y0) == (0, 0) and x1 == pytest.approx(60 * WIDER_BOX[0] * 2.7, abs=1)
    x0, y0, x1, y1 = context_box(square(620, 470, 60), 2.7, (640, 480))
    assert (x1, y1) == (639, 479)


def test_context_box_shrinks_to_the_frame_for_a_close_face() -> None:
    x0, y0, x1, y1 = context_box(square(320, 240, 300), 4.0, (640, 480))
    assert 0 <= x0 < x1 <= 639 and y0 == 0 and y1 >= 478  # int() truncates, as upstream
    ratio = (x1 - x0) / (y1 - y0)  # the box keeps its aspect while shrinking
    assert ratio == pytest.approx(WIDER_BOX[0] / WIDER_BOX[1], abs=0.01)


def test_context_crop_is_80x80_rgb() -> None:
    image = np.zeros((480, 640, 3), np.uint8)
    image[..., 0] = 200
    out = context_crop(image, square(320, 240, 100), ContextCrop(2.7))
    assert out.shape == (80, 80, 3) and out.dtype == np.uint8 and (out[..., 0] == 200).all()


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden_outputs_on_fixtures(name: str, model: AttackModel, detector: FaceDetector) -> None:
    image = read_rgb(FIXTURES / name)
    face = max(detector.detect(image), key=lambda f: f.eye_distance)
    assert model.predict(image, face) == pytest.approx(GOLDEN[name], abs=0.02)


def test_print_is_an_attack_and_live_faces_are_not_at_the_operating_point(
        model: AttackModel, detector: FaceDetector) -> None:
    threshold = AttackConfig().threshold
    for name in GOLDEN:
        image = read_rgb(FIXTURES / name)
        face = max(detector.detect(image), key=lambda f: f.eye_distance)
        assert (model.predict(image, face) >= threshold) == name.startswith("print")


def test_config_threshold_is_the_recipes_operating_point(models_dir: Path) -> None:
    manifest = tomllib.loads((models_dir / "manifest.toml").read_text())[MODEL_NAME]
    assert AttackConfig().threshold == pytest.approx(manifest["threshold"], abs=0.005)


def test_manifest_must_give_the_crop_scale(models_dir: Path) -> None:
    spec = load_manifest(models_dir)[MODEL_NAME]
    bad = replace(spec, extra={k: v for k, v in spec.extra.items() if k != "scale"})
    with pytest.raises(ModelError, match="scale"):
        AttackModel(TFLiteModel(bad, models_dir))


@pytest.fixture
def models_copy(tmp_path: Path, models_dir: Path) -> Path:
    for f in models_dir.iterdir():
        if f.suffix in (".toml", ".tflite", ".onnx"):
            shutil.copy(f, tmp_path)
    return tmp_path


def config_for(folder: Path) -> Config:
    return Config(models=ModelsConfig(dir=str(folder)))


def test_full_stack_loads_the_attack_model(models_copy: Path) -> None:
    built = stack.build(config_for(models_copy))
    assert built.complete and isinstance(built.pipeline.attack, AttackModel)
    assert built.sizes[MODEL_NAME] == (models_copy / f"{MODEL_NAME}.tflite").stat().st_size


def test_missing_attack_model_is_an_out_of_service_reason(models_copy: Path) -> None:
    (models_copy / f"{MODEL_NAME}.tflite").unlink()
    built = stack.build(config_for(models_copy))
    assert not built.complete and built.pipeline.attack is None
    assert any(MODEL_NAME in why and "missing" in why for why in built.missing), built.missing


def test_corrupt_attack_model_is_an_out_of_service_reason(models_copy: Path) -> None:
    path = models_copy / f"{MODEL_NAME}.tflite"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    built = stack.build(config_for(models_copy))
    assert any("corrupt" in why for why in built.missing), built.missing


def test_manifest_without_the_attack_model_is_an_out_of_service_reason(models_copy: Path) -> None:
    manifest = models_copy / "manifest.toml"
    text = manifest.read_text()
    manifest.write_text(text[:text.index(f"[{MODEL_NAME}]")])
    built = stack.build(config_for(models_copy))
    assert any(MODEL_NAME in why for why in built.missing), built.missing
