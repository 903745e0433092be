"""The presentation-attack verdict in the session: it ends the attempt with its own reason,
overrides a passed blink challenge, and is asked for only from LIVENESS through CAPTURE."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable

import pytest

from kiosk.config import AttackConfig, Config
from kiosk.domain import Observation
from kiosk.session.machine import Session, Stage, TakeSelfie
from tests.unit.test_session import Run, face_at, obs

pytestmark = pytest.mark.unit


def scored(run: Run, p: float, script: Callable[[float], Observation] | None = None
           ) -> Callable[[float], Observation]:
    """Observations whose face the pipeline scored `p` whenever the session asked for it."""
    base = script or (lambda t: obs(t, face_at()))

    def step(t: float) -> Observation:
        return dataclasses.replace(base(t), attack=p if run.session.wants_attack(t) else None)

    return step


def test_a_print_or_screen_ends_liveness_with_its_own_reason() -> None:
    run = Run()
    run.to_liveness()
    started = run.t
    run.until(scored(run, 0.97), 3, lambda s: s.stage == Stage.RESULT)
    [end] = run.ended()
    assert (end.outcome, end.reason, end.liveness_passed) == (
        "rejected", "presentation_attack", False)
    assert run.t - started < 1.0  # min_frames at 7.5 Hz: about half a second
    assert run.session.prompt.key == "reason.presentation_attack"
    assert run.session.leds == "fail"


def test_live_scores_let_the_whole_session_through() -> None:
    run = Run()
    run.to_liveness()
    run.until(scored(run, 0.05), 0.5)
    run.blink_as_asked()
    assert run.session.stage == Stage.OCCLUSION
    run.until(scored(run, 0.05), 6, lambda s: s.stage == Stage.RESULT)
    [end] = run.ended()
    assert end.outcome == "captured" and end.liveness_passed
    [selfie] = [e for e in run.events if isinstance(e, TakeSelfie)]
    assert selfie.metadata["attack_mean"] == pytest.approx(0.05)  # kept for audits


def test_an_attack_verdict_after_the_challenge_takes_the_pass_back() -> None:
    run = Run()
    # a slow verdict, so that it comes after the blink challenge has passed
    run.session = Session(dataclasses.replace(Config(), attack=AttackConfig(min_frames=20)),
                          random.Random(1))
    run.to_liveness()
    run.blink_as_asked()
    assert run.session.stage == Stage.OCCLUSION
    run.until(scored(run, 0.97), 12, lambda s: s.stage == Stage.RESULT)
    [end] = run.ended()
    assert (end.reason, end.liveness_passed) == ("presentation_attack", False)
    assert not [e for e in run.events if isinstance(e, TakeSelfie)]


def test_the_model_is_asked_for_only_in_judged_stages_at_its_rate() -> None:
    run = Run()
    asked: list[tuple[Stage, bool]] = []

    def script(t: float) -> Observation:
        asked.append((run.session.stage, run.session.wants_attack(t)))
        return dataclasses.replace(obs(t, face_at()), attack=0.05 if asked[-1][1] else None)

    run.until(script, 4)
    assert not any(wanted for stage, wanted in asked if stage in (Stage.IDLE, Stage.POSITION))
    judged = [wanted for stage, wanted in asked if stage == Stage.LIVENESS]
    assert len(judged) > 10 and judged[:6] == [True, False] * 3  # 7.5 Hz at 15 fps
