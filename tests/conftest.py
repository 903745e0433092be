"""Shared fixtures: paths, the real face detector, and the dataset skip rule."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import cv2
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
MODELS = ROOT / "models"
DATASETS = Path(os.environ.get("KIOSK_DATASETS", ROOT.parent / "shared" / "datasets"))

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")


def read_rgb(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)  # applies EXIF orientation
    assert image is not None, f"cannot read {path}"
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def recipe_module(name: str) -> ModuleType:
    """A module of models/ (recipes and their data readers; models/ is not a package)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, MODELS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while defining
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def datasets() -> Path:
    if not (DATASETS / "README.md").is_file():
        pytest.skip(f"real datasets not found at {DATASETS} (set KIOSK_DATASETS)")
    return DATASETS


@pytest.fixture(scope="session")
def models_dir() -> Path:
    return MODELS


@pytest.fixture(scope="session")
def detector():
    from kiosk.vision.detector import FaceDetector
    from kiosk.vision.manifest import load_manifest
    from kiosk.vision.runtime import TFLiteModel

    spec = load_manifest(MODELS)["face_detector"]
    return FaceDetector(TFLiteModel(spec, MODELS))


@pytest.fixture
def astronaut() -> np.ndarray:
    return read_rgb(FIXTURES / "astronaut.png")


@pytest.fixture
def live_face() -> np.ndarray:
    return read_rgb(FIXTURES / "live_T1.jpg")
