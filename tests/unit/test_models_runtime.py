"""Model loading refuses missing, corrupt and wrong files with clear messages."""

from __future__ import annotations

import shutil

import pytest

from kiosk.errors import ModelError, ModelMissingError
from kiosk.vision.manifest import load_manifest, verify
from kiosk.vision.runtime import TFLiteModel, runtime_info

pytestmark = pytest.mark.unit


@pytest.fixture
def models_copy(tmp_path, models_dir):
    shutil.copy(models_dir / "manifest.toml", tmp_path)
    shutil.copy(models_dir / "face_detection_short_range.tflite", tmp_path)
    return tmp_path


def test_runtime_is_litert():
    assert runtime_info()["name"] == "ai-edge-litert"


def test_every_manifest_model_verifies(models_dir):
    for spec in load_manifest(models_dir).values():
        assert verify(spec, models_dir).is_file()


def test_missing_model_names_the_fix(models_copy):
    (models_copy / "face_detection_short_range.tflite").unlink()
    spec = load_manifest(models_copy)["face_detector"]
    with pytest.raises(ModelMissingError, match="kiosk models install"):
        TFLiteModel(spec, models_copy)


def test_corrupt_model_is_refused(models_copy):
    path = models_copy / "face_detection_short_range.tflite"
    data = bytearray(path.read_bytes())
    data[5000] ^= 0xFF
    path.write_bytes(bytes(data))
    spec = load_manifest(models_copy)["face_detector"]
    with pytest.raises(ModelError, match="corrupt or the wrong file"):
        TFLiteModel(spec, models_copy)


def test_truncated_model_with_matching_manifest_fails_cleanly(models_copy):
    """A file that passes its (edited) checksum but is not a model still gives a ModelError."""
    path = models_copy / "face_detection_short_range.tflite"
    path.write_bytes(path.read_bytes()[:1000])
    import hashlib

    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    manifest = models_copy / "manifest.toml"
    old = load_manifest(models_copy)["face_detector"].sha256
    manifest.write_text(manifest.read_text().replace(old, digest))
    with pytest.raises(ModelError, match="cannot be loaded"):
        TFLiteModel(load_manifest(models_copy)["face_detector"], models_copy)


def test_broken_manifest(tmp_path):
    (tmp_path / "manifest.toml").write_text("[face_detector]\nfile = 3\n")
    with pytest.raises(ModelError, match="incomplete"):
        load_manifest(tmp_path)
    with pytest.raises(ModelMissingError):
        load_manifest(tmp_path / "nowhere")
