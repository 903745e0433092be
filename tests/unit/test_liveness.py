"""The blink challenge: seeded draws, settle time, exact count, quiet period, timeout."""

from __future__ import annotations

import random

import pytest

from kiosk.config import LivenessConfig
from kiosk.session.liveness import Challenge, LivenessCheck, new_challenge

pytestmark = pytest.mark.unit

FPS = 15


def replay(check: LivenessCheck, blinks: list[float], until: float) -> list[tuple[float, str]]:
    """Feed frames at FPS with blink flags at the given times; returns status changes."""
    changes, last = [], None
    pending = sorted(blinks)
    for i in range(int((until - check.started_at) * FPS) + 1):
        t = check.started_at + i / FPS
        blink = bool(pending) and pending[0] <= t
        if blink:
            pending.pop(0)
        status = check.update(t, blink)
        if status != last:
            changes.append((round(t, 3), status))
            last = status
    return changes


def test_new_challenge_draws_from_the_config_ranges() -> None:
    cfg = LivenessConfig(blinks_min=1, blinks_max=2, window_min_s=5.0, window_max_s=8.0)
    draws = [new_challenge(random.Random(seed), cfg) for seed in range(200)]
    assert {c.blinks for c in draws} == {1, 2}
    assert all(5.0 <= c.window_s <= 8.0 for c in draws)
    assert len({c.window_s for c in draws}) > 10
    assert all(c.settle_s == cfg.settle_s and c.quiet_s == cfg.quiet_s for c in draws)


def test_new_challenge_is_seedable() -> None:
    cfg = LivenessConfig()
    a = [new_challenge(random.Random(42), cfg) for _ in range(3)]
    b = [new_challenge(random.Random(42), cfg) for _ in range(3)]
    assert a == b
    rng = random.Random(3)
    seq1 = [new_challenge(rng, cfg) for _ in range(5)]
    rng = random.Random(3)
    assert seq1 == [new_challenge(rng, cfg) for _ in range(5)]


def test_passes_after_the_requested_blinks_and_a_quiet_period() -> None:
    check = LivenessCheck(Challenge(blinks=2, window_s=6.0, settle_s=0.4, quiet_s=1.0), 10.0)
    assert (check.required, check.done, check.progress) == (2, 0, 0.0)
    assert check.update(11.0, True) == "pending"
    assert (check.done, check.progress) == (1, 0.5)
    assert check.update(12.0, True) == "pending"
    assert check.progress == 1.0
    assert check.update(12.9, False) == "pending"  # quiet period still running
    assert check.update(13.0, False) == "passed"
    assert check.reason is None


def test_blinks_in_the_settle_time_do_not_count() -> None:
    check = LivenessCheck(Challenge(blinks=1, window_s=5.0, settle_s=0.4, quiet_s=1.0), 0.0)
    check.update(0.3, True)
    assert check.done == 0
    assert replay(check, [2.0], until=6.0) == [(0.0, "pending"), (3.0, "passed")]


def test_too_many_blinks_fail() -> None:
    check = LivenessCheck(Challenge(blinks=1, window_s=6.0), 0.0)
    changes = replay(check, [1.0, 1.6], until=6.0)
    assert changes == [(0.0, "pending"), (1.6, "failed")]
    assert check.reason == "too_many"


def test_blink_in_quiet_period_after_the_deadline_fails() -> None:
    check = LivenessCheck(Challenge(blinks=1, window_s=5.0, quiet_s=1.0), 0.0)
    assert check.update(4.8, True) == "pending"
    assert check.update(5.2, False) == "pending"  # quiet period may run past the deadline
    assert check.update(5.5, True) == "failed"
    assert check.reason == "too_many"


def test_last_blink_near_the_deadline_passes_after_quiet() -> None:
    check = LivenessCheck(Challenge(blinks=1, window_s=5.0, quiet_s=1.0), 0.0)
    t, status = replay(check, [4.9], until=7.0)[-1]  # the blink lands on frame 4.933
    assert status == "passed"
    assert t == pytest.approx(5.933, abs=1e-3)


def test_timeout_with_too_few_blinks() -> None:
    check = LivenessCheck(Challenge(blinks=2, window_s=5.0), 100.0)
    assert replay(check, [101.0], until=107.0) == [(100.0, "pending"), (105.0, "failed")]
    assert check.reason == "timeout"
    assert check.remaining(106.0) == 0.0


def test_a_blink_after_the_deadline_does_not_count() -> None:
    check = LivenessCheck(Challenge(blinks=1, window_s=5.0), 0.0)
    assert check.update(4.0, False) == "pending"
    assert check.update(5.1, True) == "failed"
    assert (check.done, check.reason) == (0, "timeout")


def test_a_photo_never_passes() -> None:
    check = LivenessCheck(Challenge(blinks=1, window_s=8.0), 0.0)
    assert replay(check, [], until=10.0)[-1] == (8.0, "failed")


@pytest.mark.parametrize(("blinks", "times", "reason"), [
    (1, [0.1, 0.3], "timeout"),  # only right at the prompt (settle time)
    (2, [0.2, 2.0, 5.5], "timeout"),  # one in the window, the next too late
    (1, [1.0, 1.7, 2.4, 3.1], "too_many"),  # a clip blinking faster than the quiet period
    (2, [1.0, 1.7, 2.4, 3.1], "too_many"),
    (1, [2.0, 2.5], "too_many"),  # a double blink when one was asked for
])
def test_replayed_blinks_at_the_wrong_times_fail(blinks: int, times: list[float],
                                                 reason: str) -> None:
    check = LivenessCheck(Challenge(blinks=blinks, window_s=5.0), 0.0)
    assert replay(check, times, until=7.0)[-1][1] == "failed"
    assert check.reason == reason


def test_final_status_is_sticky() -> None:
    check = LivenessCheck(Challenge(blinks=1, window_s=3.0, quiet_s=0.5), 0.0)
    check.update(1.0, True)
    assert check.update(1.5, False) == "passed"
    assert check.update(1.6, True) == "passed"
    assert check.done == 1


def test_challenge_is_validated() -> None:
    with pytest.raises(ValueError):
        Challenge(blinks=0, window_s=5.0)
    with pytest.raises(ValueError):
        Challenge(blinks=1, window_s=0.3, settle_s=0.4)
