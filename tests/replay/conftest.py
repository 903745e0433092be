"""Replay fixtures: the whole vision stack, as `kiosk replay` builds it."""

from __future__ import annotations

import pytest

from kiosk.config import Config
from kiosk.vision import stack


@pytest.fixture(scope="module")
def vision() -> stack.VisionStack:
    built = stack.build(Config())
    if built.missing:
        pytest.fail(f"models missing: {built.missing}")
    return built
