"""OCCLUSION stage logic: smoothing over time, verdicts, progress, and which prompt is chosen."""

from __future__ import annotations

import pytest

from kiosk.config import OcclusionConfig
from kiosk.messages import load
from kiosk.session.occlusion import OcclusionCheck, prompt

pytestmark = pytest.mark.unit

FPS = 15
CLEAR = {"forehead": 0.05, "left_eye": 0.02, "right_eye": 0.03, "nose": 0.01, "mouth": 0.04,
         "chin": 0.1}


Frames = list[dict[str, float] | None]


def feed(check: OcclusionCheck, frames: Frames, t0: float = 0.0) -> list[str]:
    return [check.update(t0 + i / FPS, r) for i, r in enumerate(frames)]


def with_(**p: float) -> dict[str, float]:
    return {**CLEAR, **p}


def test_clear_face_passes_after_duration_and_progress_grows() -> None:
    check = OcclusionCheck(duration_s=2.0, threshold=0.5)
    statuses = feed(check, [CLEAR] * (3 * FPS))
    first_clear = statuses.index("clear")
    # judged from the 3rd frame on, then 2 s of clear face
    assert (first_clear - 2) / FPS == pytest.approx(2.0, abs=1.5 / FPS)
    assert set(statuses[:first_clear]) == {"checking"}
    assert check.progress == 1.0
    assert check.blocked_parts == []


def test_progress_is_partial_midway() -> None:
    check = OcclusionCheck(duration_s=2.0, threshold=0.5)
    feed(check, [CLEAR] * (FPS + 2))
    assert 0.4 < check.progress < 0.6


def test_one_noisy_frame_is_not_a_verdict() -> None:
    check = OcclusionCheck(duration_s=2.0, threshold=0.5)
    frames: Frames = [CLEAR] * 10 + [with_(mouth=0.99)] + [CLEAR] * 40
    statuses = feed(check, frames)
    assert "blocked" not in statuses
    assert statuses[-1] == "clear"


def test_first_frames_alone_cannot_block() -> None:
    check = OcclusionCheck(duration_s=2.0, threshold=0.5, min_frames=3)
    assert feed(check, [with_(nose=1.0)] * 2) == ["checking", "checking"]


def test_held_occluder_is_named_in_region_order() -> None:
    check = OcclusionCheck(duration_s=2.0, threshold=0.5)
    statuses = feed(check, [with_(mouth=0.9, nose=0.8)] * 10)
    assert statuses[-1] == "blocked"
    assert check.blocked_parts == ["nose", "mouth"]
    assert check.progress == 0.0


def test_occluder_that_comes_and_goes_keeps_the_stage_from_passing() -> None:
    check = OcclusionCheck(duration_s=2.0, threshold=0.5)
    # a hand over the left eye for 0.6 s in every 1.6 s, for 8 s
    cycle = [with_(left_eye=0.95)] * 9 + [CLEAR] * 15
    named: list[list[str]] = []
    statuses = []
    for i, r in enumerate(cycle * 5):
        statuses.append(check.update(i / FPS, r))
        named.append(check.blocked_parts)
    assert "clear" not in statuses
    # named in every cycle, and only ever the left eye
    for k in range(5):
        assert ["left_eye"] in named[k * 24 : (k + 1) * 24]
    assert all(n in ([], ["left_eye"]) for n in named)


def test_removing_the_occluder_then_clear_for_duration_passes() -> None:
    check = OcclusionCheck(duration_s=1.0, threshold=0.5)
    feed(check, [with_(right_eye=0.9, left_eye=0.9)] * 15)
    assert check.blocked_parts == ["left_eye", "right_eye"]
    statuses = feed(check, [CLEAR] * 40, t0=1.0)
    assert check.blocked_parts == []
    assert statuses[-1] == "clear"


def test_hysteresis_keeps_a_region_named_near_the_threshold() -> None:
    check = OcclusionCheck(duration_s=1.0, threshold=0.5, hysteresis=0.1)
    feed(check, [with_(nose=0.8)] * 10)
    feed(check, [with_(nose=0.45)] * 10, t0=1.0)  # below threshold, above threshold - hysteresis
    assert check.blocked_parts == ["nose"]
    feed(check, [with_(nose=0.2)] * 10, t0=2.0)
    assert check.blocked_parts == []


def test_losing_the_face_restarts_the_clear_count() -> None:
    check = OcclusionCheck(duration_s=2.0, threshold=0.5)
    feed(check, [CLEAR] * 25)
    assert check.progress > 0.5
    assert check.update(2.0, None) == "checking"
    assert check.progress == 0.0
    statuses = feed(check, [CLEAR] * 20, t0=2.1)
    assert "clear" not in statuses


def test_from_config_uses_the_config_fields() -> None:
    cfg = OcclusionConfig(duration_s=3.0, threshold=0.7, window_s=0.3, min_frames=2)
    check = OcclusionCheck.from_config(cfg)
    got = (check.duration_s, check.threshold, check.window_s, check.min_frames)
    assert got == (3.0, 0.7, 0.3, 2)


@pytest.mark.parametrize(
    ("blocked", "key", "text"),
    [
        (["nose", "mouth"], "occlusion.mask",
         "Please remove your mask — your nose and mouth are covered"),
        (["nose", "mouth", "chin"], "occlusion.mask",
         "Please remove your mask — your nose, mouth and chin are covered"),
        (["left_eye", "right_eye"], "occlusion.sunglasses",
         "Please take off your sunglasses — both eyes are covered"),
        (["left_eye"], "occlusion.left_eye", "Your left eye is covered"),
        (["right_eye"], "occlusion.right_eye", "Your right eye is covered"),
        (["mouth"], "occlusion.hand_mouth", "Move your hand away from your mouth"),
        (["nose"], "occlusion.one", "Your nose is covered"),
        (["forehead"], "occlusion.one", "Your forehead is covered"),
        (["mouth", "chin"], "occlusion.many", "Your mouth and chin are covered"),
        (["left_eye", "nose", "mouth"], "occlusion.many",
         "Your left eye, nose and mouth are covered"),
        ([], "occlusion.checking", "Keep your face uncovered"),
    ],
)
def test_prompt_selection_and_texts(blocked: list[str], key: str, text: str) -> None:
    cat = load("en")
    got_key, params = prompt(blocked, cat)
    assert got_key == key
    assert cat.text(got_key, **params) == text


def test_prompt_ignores_the_order_it_is_given() -> None:
    assert prompt(["mouth", "nose"]) == prompt(["nose", "mouth"])
