"""The fixed-rate loop on a fake clock: deadlines, dropped periods, watchdog only when healthy."""

from __future__ import annotations

import threading

import pytest

from kiosk.loop import FixedRateLoop

pytestmark = pytest.mark.unit


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class FakeStop(threading.Event):
    """`wait(s)` advances the fake clock instead of sleeping."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__()
        self.clock = clock

    def wait(self, timeout: float | None = None) -> bool:
        self.clock.now += timeout or 0
        return self.is_set()


def test_runs_on_deadlines_not_sleep_period():
    clock = FakeClock()
    starts = []

    def work(now):
        starts.append(now)
        clock.now += 0.02  # 20 ms of work in a 100 ms period
        return True

    loop = FixedRateLoop(0.1, work, clock, stop=FakeStop(clock))
    stats = loop.run(max_iterations=10)
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert all(abs(g - 0.1) < 1e-9 for g in gaps)  # work time does not stretch the period
    assert stats.overruns == 0 and abs(stats.fps - 10) < 1e-6


def test_slow_iterations_drop_deadlines_instead_of_queueing():
    clock = FakeClock()
    starts = []

    def work(now):
        starts.append(now)
        clock.now += 0.25 if len(starts) == 3 else 0.01
        return True

    loop = FixedRateLoop(0.1, work, clock, stop=FakeStop(clock))
    stats = loop.run(max_iterations=6)
    assert stats.overruns == 1 and stats.skipped == 1
    # after the slow one the loop is back on the 100 ms grid, with no burst of catch-up calls
    gaps = [round(b - a, 6) for a, b in zip(starts, starts[1:], strict=False)]
    assert min(gaps) >= 0.05


def test_watchdog_only_after_healthy_iterations():
    clock = FakeClock()
    pings = []
    results = iter([True, False, True, False, False])
    loop = FixedRateLoop(0.1, lambda now: next(results), clock,
                         on_healthy=lambda: pings.append(clock.now), stop=FakeStop(clock))
    loop.run(max_iterations=5)
    assert len(pings) == 2


def test_stop_event_ends_the_loop():
    clock = FakeClock()
    stop = FakeStop(clock)

    def work(now):
        if now > 100.45:
            stop.set()
        return True

    stats = FixedRateLoop(0.1, work, clock, stop=stop).run()
    assert 5 <= stats.iterations <= 6
