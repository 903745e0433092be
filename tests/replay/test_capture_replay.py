"""The selfie is the sharpest eligible frame of the last second, on real NUAA frames."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from kiosk import config
from kiosk.domain import Frame, Observation
from kiosk.session import capture
from kiosk.vision import stack
from kiosk.vision.pipeline import Pipeline
from tests.conftest import read_rgb

pytestmark = [pytest.mark.replay, pytest.mark.dataset]

CLIP = "0007_01_05_03"  # live, session 3: a kept frame every 0.15 s, so 7 frames ~ 1 s
# Gaussian blur per frame; frame 3 is untouched, frame 2 is the least blurred of the rest.
BLUR = (1.8, 1.5, 1.0, 0.0, 1.2, 1.6, 2.0)


@pytest.fixture(scope="module")
def pipeline() -> Pipeline:
    vision = stack.build(config.parse({}))
    if vision.pipeline.eyes is None:
        pytest.skip("eye-state model not installed (capture needs 'eyes open')")
    vision.pipeline.regions = None
    return vision.pipeline


@pytest.fixture(scope="module")
def clip(datasets: Path) -> list[np.ndarray]:
    folder = datasets / "spoof" / "nuaa" / "ClientRaw" / CLIP[:4]
    pics = sorted(int(p.stem.rsplit("_", 1)[1]) for p in folder.glob(f"{CLIP}_*.jpg"))
    return [read_rgb(folder / f"{CLIP}_{p}.jpg") for p in pics[40:40 + len(BLUR)]]


def observe(pipeline: Pipeline, images: list[np.ndarray]) -> list[Observation]:
    pipeline.reset()
    return [pipeline.process(Frame(im, i * 0.15, i)) for i, im in enumerate(images)]


def blurred(clip: list[np.ndarray]) -> list[np.ndarray]:
    return [cv2.GaussianBlur(im, (0, 0), s) if s else im for im, s in zip(clip, BLUR, strict=True)]


def test_the_stored_frame_is_the_sharpest_eligible_one(pipeline, clip):
    cfg = config.parse({}).capture
    observations = observe(pipeline, blurred(clip))
    eligible = [o for o in observations if not capture.failures(o, cfg)]
    assert len(eligible) >= 5  # mild blur keeps frames eligible: the choice is by sharpness
    chosen = capture.best(eligible)
    assert chosen is not None and chosen.index == 3
    meta = capture.metadata(chosen, cfg)
    json.dumps(meta)  # stored as JSON next to the selfie
    assert meta["scores"]["sharpness"] == pytest.approx(max(o.quality.sharpness for o in eligible),
                                                      abs=1e-3)
    assert meta["thresholds"]["min_sharpness"] == cfg.min_sharpness


def test_an_ineligible_sharp_frame_is_passed_over(pipeline, clip):
    cfg = config.parse({}).capture
    images = blurred(clip)
    # the sharp frame over-exposed: its highlights clip, so it may not be the selfie
    images[3] = np.clip(images[3].astype(np.float32) * 2.5, 0, 255).astype(np.uint8)
    observations = observe(pipeline, images)
    assert "badly_exposed" in capture.failures(observations[3], cfg)
    chosen = capture.best(o for o in observations if not capture.failures(o, cfg))
    assert chosen is not None and chosen.index == 2
