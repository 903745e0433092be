"""Fixed-rate loop on monotonic deadlines: drops frames when behind, never queues them."""

from __future__ import annotations

import logging
import math
import statistics
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


@dataclass
class LoopStats:
    iterations: int = 0
    overruns: int = 0  # iterations that started more than one period late
    skipped: int = 0  # deadlines given up because we were behind
    lag_s: float = 0.0  # how late the last iteration started
    busy: deque[float] = field(default_factory=lambda: deque(maxlen=100))
    starts: deque[float] = field(default_factory=lambda: deque(maxlen=100))

    @property
    def fps(self) -> float:
        if len(self.starts) < 2 or self.starts[-1] <= self.starts[0]:
            return 0.0
        return (len(self.starts) - 1) / (self.starts[-1] - self.starts[0])

    @property
    def busy_median_s(self) -> float:
        return statistics.median(self.busy) if self.busy else 0.0


class FixedRateLoop:
    """Calls `iteration(now) -> healthy` every `period` seconds until `stop` is set.

    The watchdog is fed only after a healthy iteration, so a stalled or failing loop lets
    systemd restart the service.
    """

    def __init__(
        self,
        period: float,
        iteration: Callable[[float], bool],
        clock: Callable[[], float],
        on_healthy: Callable[[], None] = lambda: None,
        stop: threading.Event | None = None,
        stats: LoopStats | None = None,
    ) -> None:
        self.period = period  # may be changed between iterations: the next deadline uses it
        self.iteration = iteration
        self.clock = clock
        self.on_healthy = on_healthy
        self.stop = stop or threading.Event()
        self.stats = stats or LoopStats()

    def run(self, max_iterations: int | None = None) -> LoopStats:
        deadline = self.clock()
        while not self.stop.is_set():
            wait = deadline - self.clock()
            if wait > 0 and self.stop.wait(wait):
                break
            start = self.clock()
            lag = start - deadline
            self.stats.lag_s = lag
            if lag > self.period:
                missed = math.floor(lag / self.period)
                self.stats.overruns += 1
                self.stats.skipped += missed
                deadline += missed * self.period
            healthy = self.iteration(start)
            self.stats.busy.append(self.clock() - start)
            self.stats.starts.append(start)
            self.stats.iterations += 1
            if healthy:
                self.on_healthy()
            deadline += self.period
            if max_iterations is not None and self.stats.iterations >= max_iterations:
                break
        return self.stats
