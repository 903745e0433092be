"""The blink challenge of the LIVENESS stage: a randomised request and its pure tracker.

`new_challenge` draws how many blinks to ask for (`blinks_min..blinks_max`) and the time
window for them (`window_min_s..window_max_s`, measured from the prompt). `LivenessCheck`
then follows the blinks the detector reports:

- blinks in the first `settle_s` after the prompt are ignored (people blink when a new
  prompt appears; those blinks were not asked for);
- the challenge **passes** when exactly the requested number of blinks happened before the
  deadline and no further blink followed for `quiet_s` (the verdict may come up to `quiet_s`
  after the deadline);
- it **fails** with reason `"too_many"` on any blink beyond the requested number (including
  during the quiet period), and with `"timeout"` when the deadline passes with too few.

Why: a replayed clip of a person blinking naturally blinks every few seconds regardless of
the prompt. With a random count, an exact-count rule and a quiet period after the last
requested blink, such a clip passes only when its blinks happen to match both the count and
the timing; a printed photo never blinks at all. This is a statistical barrier against
replays, not proof of life on its own (a replay can be tried again), so the session also
keeps tracking the face after liveness.

Pure: no clock reads; times are monotonic seconds passed in. Seed `random.Random` for tests.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

from kiosk.config import LivenessConfig

Status = Literal["pending", "passed", "failed"]
Reason = Literal["timeout", "too_many"]


@dataclass(frozen=True)
class Challenge:
    blinks: int  # how many blinks are asked for
    window_s: float  # seconds from the prompt in which they must happen
    settle_s: float = 0.4
    quiet_s: float = 1.0

    def __post_init__(self) -> None:
        if self.blinks < 1:
            raise ValueError("a challenge asks for at least one blink")
        if self.window_s <= self.settle_s:
            raise ValueError("the challenge window must be longer than the settle time")


def new_challenge(rng: random.Random, cfg: LivenessConfig) -> Challenge:
    """A random challenge from the config's ranges (window rounded to 0.1 s for prompts)."""
    return Challenge(
        blinks=rng.randint(cfg.blinks_min, cfg.blinks_max),
        window_s=round(rng.uniform(cfg.window_min_s, cfg.window_max_s), 1),
        settle_s=cfg.settle_s,
        quiet_s=cfg.quiet_s,
    )


class LivenessCheck:
    """Tracks one challenge; call `update` every frame with whether a blink completed."""

    def __init__(self, challenge: Challenge, started_at: float) -> None:
        self.challenge = challenge
        self.started_at = started_at
        self.deadline = started_at + challenge.window_s
        self._done = 0
        self._last_blink: float | None = None
        self._status: Status = "pending"
        self.reason: Reason | None = None

    @property
    def required(self) -> int:
        return self.challenge.blinks

    @property
    def done(self) -> int:
        """Blinks counted so far (those in the settle time are not)."""
        return self._done

    @property
    def progress(self) -> float:
        """Counted / required, 0..1 (for the progress display)."""
        return min(1.0, self._done / self.required)

    @property
    def status(self) -> Status:
        return self._status

    def remaining(self, t: float) -> float:
        """Seconds left until the deadline (for the prompt), never negative."""
        return max(0.0, self.deadline - t)

    def _fail(self, reason: Reason) -> Status:
        self._status, self.reason = "failed", reason
        return self._status

    def update(self, t: float, blink: bool) -> Status:
        if self._status != "pending":
            return self._status
        if blink and t >= self.started_at + self.challenge.settle_s:
            if self._done >= self.required:
                return self._fail("too_many")
            if t > self.deadline:
                return self._fail("timeout")
            self._done += 1
            self._last_blink = t
        if self._done < self.required:
            return self._fail("timeout") if t >= self.deadline else "pending"
        assert self._last_blink is not None
        if t - self._last_blink >= self.challenge.quiet_s:
            self._status = "passed"
        return self._status
