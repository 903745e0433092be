"""Attempt limits: too many failed liveness attempts in a while pause the kiosk.

A recording passes the blink challenge only by chance, so an attacker's one lever is to try
again and again. `AttemptLimiter` keeps the times of failed attempts (a challenge that showed
a cue and was not passed: failed, restarted or walked away from) over the last `within_min`
minutes; at `max_failures` the kiosk pauses for `pause_min` minutes ("Please ask staff for
help"). Failures are not forgotten when the pause ends: one more failure while the earlier
ones are still within the window pauses it again, so the rate of attempts stays bounded.

Pure: times are passed in; the limiter lives as long as the Session (a service restart, which
needs staff with SSH access, clears it).
"""

from __future__ import annotations

from collections import deque

from kiosk.config import AttemptsConfig


class AttemptLimiter:
    def __init__(self, cfg: AttemptsConfig) -> None:
        self.max_failures = cfg.max_failures
        self.within_s = cfg.within_min * 60.0
        self.pause_s = cfg.pause_min * 60.0
        self._failures: deque[float] = deque()
        self.paused_until: float | None = None

    def recent(self, now: float) -> int:
        """Failed attempts within the window ending now."""
        while self._failures and self._failures[0] <= now - self.within_s:
            self._failures.popleft()
        return len(self._failures)

    def failed(self, now: float) -> bool:
        """Record a failed attempt; True when this one starts a pause."""
        self._failures.append(now)
        if self.recent(now) >= self.max_failures:
            self.paused_until = now + self.pause_s
            return True
        return False

    def paused(self, now: float) -> bool:
        if self.paused_until is not None and now >= self.paused_until:
            self.paused_until = None
        return self.paused_until is not None
