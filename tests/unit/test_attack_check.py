"""The presentation-attack accumulator: mean of an attempt's scores, rate limit, latching."""

from __future__ import annotations

import pytest

from kiosk.config import AttackConfig
from kiosk.session.attack import AttackCheck

pytestmark = pytest.mark.unit


def feed(check: AttackCheck, scores: list[float | None], fps: float = 15.0) -> list[str]:
    return [check.update(i / fps, s) for i, s in enumerate(scores)]


def test_no_verdict_before_min_frames_then_the_mean_decides() -> None:
    check = AttackCheck(threshold=0.6, min_frames=4)
    assert feed(check, [0.9, 0.9, 0.9]) == ["pending"] * 3
    assert check.update(1.0, 0.9) == "attack"


def test_live_faces_with_odd_frames_stay_live() -> None:
    check = AttackCheck(threshold=0.6, min_frames=4)
    verdicts = feed(check, [0.05, 0.95, 0.1, 0.02, 0.9, 0.05, 0.03, 0.1])
    assert verdicts[3:] == ["live"] * 5 and check.mean == pytest.approx(0.275)


def test_mean_exactly_at_the_threshold_is_an_attack() -> None:
    check = AttackCheck(threshold=0.5, min_frames=2)
    assert feed(check, [0.25, 0.75])[-1] == "attack"


def test_attack_verdict_stays_until_reset() -> None:
    check = AttackCheck(threshold=0.6, min_frames=2)
    feed(check, [0.9, 0.9])
    assert feed(check, [0.0] * 20)[-1] == "attack" and check.count == 2
    check.reset()
    assert check.verdict == "pending" and check.mean is None
    assert feed(check, [0.1, 0.1])[-1] == "live"


def test_unscored_frames_count_for_nothing() -> None:
    check = AttackCheck(threshold=0.6, min_frames=2)
    assert feed(check, [None, 0.9, None, None, 0.9])[-1] == "attack" and check.count == 2


def test_rate_limit_scores_every_second_frame_at_15_fps() -> None:
    check = AttackCheck.from_config(AttackConfig(rate_hz=7.5))
    due = []
    for n in range(12):
        t = n / 15
        due.append(check.due(t))
        check.update(t, 0.1 if due[-1] else None)
    assert due == [True, False] * 6


def test_rate_limit_keeps_counting_after_an_attack_verdict() -> None:
    """The schedule must not turn into every frame once the verdict is latched."""
    check = AttackCheck(threshold=0.5, min_frames=1, interval_s=0.2)
    due = []
    for n in range(10):
        t = n / 10
        due.append(check.due(t))
        check.update(t, 0.9 if due[-1] else None)
    assert check.verdict == "attack" and due == [True, False] * 5


def test_a_frame_without_a_face_is_due_again_next_frame() -> None:
    check = AttackCheck(threshold=0.5, interval_s=0.2)
    check.update(0.0, 0.1)
    assert check.due(0.2)
    check.update(0.2, None)  # no face: nothing scored
    assert check.due(0.25)
