"""Covering part of the face after the blink, on real frames through the real pipeline: the part
is named, uncovering goes on to the selfie without a second blink, and a swap made behind the
cover is still caught. The hand is composited (tests/occluder.py); the frames are real."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from kiosk import demo, messages
from kiosk.config import Config, ContinuityConfig
from kiosk.domain import Frame, Observation
from kiosk.replay import replay
from kiosk.screens import to_screen
from kiosk.session.continuity import CUES, Continuity
from kiosk.session.covered import CoverWatch
from kiosk.session.machine import BLOCKED_KEY, Stage
from kiosk.vision import stack
from tests.conftest import ROOT
from tests.occluder import hand_over_mouth
from tests.replay.test_continuity_replay import LIVE, PHOTO, aligned, sequence

pytestmark = pytest.mark.replay

COVER_S = 2.5  # the hand stays over the mouth this long after the blink
DEMO = demo.settings(Config())  # the demo clip is played as `kiosk replay` plays it


class HandAfterBlink:
    """The real pipeline, fed frames with a hand over the mouth for COVER_S from the moment the
    session enters OCCLUSION (the person covers their mouth right after blinking)."""

    def __init__(self, pipeline) -> None:  # type: ignore[no-untyped-def]
        self.pipeline = pipeline
        self.detector = pipeline.detector
        self.since: float | None = None
        self.covered: list[float] = []

    def reset(self) -> None:
        self.pipeline.reset()

    def process(self, frame: Frame, attack: bool = True) -> Observation:
        if self.since is not None and frame.t - self.since < COVER_S:
            faces = self.detector.detect(frame.image)
            if faces:
                face = max(faces, key=lambda f: f.eye_distance)
                frame = Frame(hand_over_mouth(frame.image, face), frame.t, frame.index)
                self.covered.append(frame.t)
        return self.pipeline.process(frame, attack)

    def on_frame(self, frame, obs, session, events) -> None:  # type: ignore[no-untyped-def]
        if self.since is None and session.stage == Stage.OCCLUSION:
            self.since = frame.t
        screen = to_screen(session.prompt, messages.load("en"))
        self.prompts.append((frame.t, str(session.stage), session.prompt, screen.prompt))

    prompts: list = []


@pytest.fixture(scope="module")
def vision():
    built = stack.build(Config())
    if built.missing:
        pytest.fail(f"models missing: {built.missing}")
    return built


def test_hand_over_the_mouth_after_the_blink_is_named_then_the_selfie_is_taken(vision):
    hand = HandAfterBlink(vision.pipeline)
    hand.prompts = []
    result = replay(hand, DEMO, ROOT / "kiosk/assets/demo.mp4",  # type: ignore[arg-type]
                    seed=demo.SEED, on_frame=hand.on_frame)
    stages = [s["stage"] for s in result["stages"]]
    assert result["outcome"] == "captured" and result["liveness_passed"], result
    # no second blink: the cover is named, not taken for a swap
    assert stages == ["idle", "position", "liveness", "occlusion", "capture", "result"], stages
    assert len(hand.covered) >= 0.9 * COVER_S * 15
    during = [(p, text) for t, stage, p, text in hand.prompts
              if hand.covered[0] + 0.5 <= t <= hand.covered[-1]]
    named = [p for p, _ in during if p.key == BLOCKED_KEY and "mouth" in p.highlight]
    assert len(named) >= 0.8 * len(during), [text for _, text in during]
    texts = {text for _, text in during}
    assert all("mouth" in text or text == "Please take your hand away from your face"
               for text in texts), texts
    assert not any("closer" in text or "blink" in text for text in texts), texts
    # the selfie is a frame from after the hand went away
    assert result["selfie"]["t"] > hand.covered[-1]


def test_without_the_cover_signal_the_same_hand_sent_the_session_back_to_liveness(
        vision, monkeypatch):
    """What the issue reported, reproduced on the same frames: continuity took the cover for a
    swap (covers told apart from swaps is what keeps the test above at one blink)."""
    import kiosk.session.machine as machine
    from kiosk.session.covered import NONE

    class Blind(CoverWatch):
        def update(self, obs: Observation):  # type: ignore[no-untyped-def]
            return NONE

    monkeypatch.setattr(machine, "CoverWatch", Blind)
    hand = HandAfterBlink(vision.pipeline)
    hand.prompts = []
    result = replay(hand, DEMO, ROOT / "kiosk/assets/demo.mp4",  # type: ignore[arg-type]
                    seed=demo.SEED, on_frame=hand.on_frame, max_s=30)
    stages = [s["stage"] for s in result["stages"]]
    assert stages[:5] == ["idle", "position", "liveness", "occlusion", "liveness"], stages


def observe(pipeline, frames) -> list[Observation]:  # type: ignore[no-untyped-def]
    pipeline.reset()
    return [pipeline.process(Frame(im, t, i)) for i, (t, im) in enumerate(frames)]


def breaks(observations: list[Observation]) -> list[tuple[int, str]]:
    """Continuity as the session runs it: fed the cover signal of each frame."""
    c, watch = Continuity(ContinuityConfig()), CoverWatch(Config().occlusion.threshold)
    return [(o.index, why) for o in observations
            if (why := c.update(o, watch.update(o).covered)) is not None]


def covered_copy(detector, frames, ramp: bool = True):  # type: ignore[no-untyped-def]
    """The frames with a hand over the mouth, coming up over the first frames and going away
    over the last ones (`ramp`), or there all along."""
    out = []
    for i, (t, image) in enumerate(frames):
        face = max(detector.detect(image), key=lambda f: f.eye_distance)
        up = min(1.0, (i + 1) / 4, (len(frames) - i) / 4) if ramp else 1.0
        out.append((t, hand_over_mouth(image, face, up)))
    return out


@pytest.mark.dataset
def test_covering_and_uncovering_a_live_face_keeps_continuity(vision, datasets: Path):
    live = sequence(datasets, *LIVE, n=40, skip_s=1.0)
    pipeline = vision.pipeline
    frames = live[:15] + covered_copy(pipeline.detector, live[15:30]) + live[30:]
    observations = observe(pipeline, frames)
    assert all(o.face is not None for o in observations)
    assert any(o.regions and o.regions["mouth"] >= 0.4 for o in observations[15:30])
    assert breaks(observations) == []
    # without the cover signal, the same frames break continuity (what the issue reported)
    plain = Continuity(ContinuityConfig())
    assert any(plain.update(o) is not None for o in observations)


@pytest.mark.dataset
def test_a_print_swapped_in_behind_the_hand_is_caught_when_uncovered(vision, datasets: Path):
    pipeline = vision.pipeline
    live = sequence(datasets, *LIVE, n=30, skip_s=1.0)
    before = observe(pipeline, live[:15] + covered_copy(pipeline.detector, live[15:30],
                                                        ramp=False))
    last = before[14].face  # the last uncovered live face
    assert last is not None
    t0 = before[-1].t + 1 / 15
    photo = []
    for i, (_, image) in enumerate(sequence(datasets, *PHOTO, n=6)):
        [face] = pipeline.detector.detect(image)
        photo.append((t0 + i / 15, aligned(image, face, last)))
    # the print shows up covered first, then the hand goes away
    swapped = observe(pipeline, covered_copy(pipeline.detector, photo[:3], ramp=False)
                      + photo[3:])
    observations = before + [dataclasses.replace(o, index=len(before) + i)
                             for i, o in enumerate(swapped)]
    found = breaks(observations)
    assert found, "the swap behind the hand was not caught"
    assert found[0][0] == len(before) + 3 and found[0][1] in CUES, found
