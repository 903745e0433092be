"""Retry timing and bandwidth pacing: pure functions of injected clocks and randomness."""

from __future__ import annotations

from collections.abc import Callable


def backoff_delay(failures: int, base: float, cap: float, rand: Callable[[], float]) -> float:
    """Exponential back-off with "equal jitter": half of it fixed, so retries never hammer.

    `failures` counts consecutive failures (1 = first); `rand` returns a float in [0, 1).
    """
    if failures <= 0:
        return 0.0
    ceiling = min(cap, base * 2.0 ** min(failures - 1, 60))
    return ceiling / 2 + rand() * ceiling / 2


class Pacer:
    """Keeps the average upload rate at or below `bytes_per_s` (0 = unlimited).

    Each send books the line for size/rate seconds after the previous booking ends;
    `delay(n)` is how long to wait before sending n bytes.
    """

    def __init__(self, bytes_per_s: float, clock: Callable[[], float]) -> None:
        self.rate = bytes_per_s
        self._clock = clock
        self._free_at = clock()

    def delay(self, nbytes: int) -> float:
        if self.rate <= 0:
            return 0.0
        now = self._clock()
        start = max(now, self._free_at)
        self._free_at = start + nbytes / self.rate
        return start - now
