"""Attempt limits: failures within a sliding window pause the kiosk; failures outlive a pause."""

from __future__ import annotations

import pytest

from kiosk.config import AttemptsConfig
from kiosk.session.attempts import AttemptLimiter

pytestmark = pytest.mark.unit


def test_n_failures_within_m_minutes_pause_for_the_configured_time():
    lim = AttemptLimiter(AttemptsConfig(max_failures=3, within_min=10, pause_min=5))
    assert not lim.failed(0.0) and not lim.failed(100.0)
    assert not lim.paused(200.0)
    assert lim.failed(500.0)  # the third within 10 minutes
    assert lim.paused(500.0) and lim.paused(799.0)
    assert not lim.paused(800.0)  # 5 minutes later


def test_failures_older_than_the_window_are_forgotten():
    lim = AttemptLimiter(AttemptsConfig(max_failures=3, within_min=10, pause_min=5))
    lim.failed(0.0)
    lim.failed(300.0)
    assert lim.recent(599.0) == 2 and lim.recent(601.0) == 1
    assert not lim.failed(601.0)  # the first one is more than 10 minutes old


def test_one_more_failure_right_after_a_pause_pauses_again():
    lim = AttemptLimiter(AttemptsConfig(max_failures=2, within_min=10, pause_min=1))
    lim.failed(0.0)
    assert lim.failed(10.0) and lim.paused(30.0)
    assert not lim.paused(70.0)
    assert lim.failed(80.0) and lim.paused(80.0)  # three within ten minutes
