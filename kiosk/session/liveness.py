"""The cued blink challenge of the LIVENESS stage: random cues, response windows, a pure tracker.

`new_challenge` draws when the kiosk will say "Blink now": the first cue `lead_s` plus up to
`first_jitter_s` after the instruction appears, each next one `gap_min_s` plus up to
`gap_jitter_s` after the previous. `cues + spare_cues` cue times are drawn; only as many are
shown as the person needs. `LivenessCheck` then judges the blinks the detector reports by
their *start* (`Blink.start`, the first frame seen closed):

- a blink that starts `window_start_s`..`window_end_s` after a cue appeared answers it; a
  second blink in an answered window (a double blink) is part of the same answer;
- a blink that starts anywhere else after the first cue is a stray; more than `max_strays`
  fail the attempt (`"off_cue"`). Blinks before the first cue (people blink when a new
  instruction appears) are ignored: they cannot answer anything;
- a cue whose window closed unanswered is missed; more misses than `spare_cues` fail the
  attempt (`"missed"`). A blink is reported when the eyes reopen, so a cue is judged missed
  only `answer_grace_s` (the detector's longest blink) after its window closed;
- the attempt passes on the blink that answers the `cues`-th cue.

Why: a recording blinks when its subject happened to blink, independent of cues it cannot
see. To pass it must have a blink start inside every window (each a fraction of a second,
placed at random over more than a second) without blinking much anywhere else; people blink
every few seconds on their own, which is why strays are counted and few are allowed. The
window is measured from human reaction times and the detector's timing (models/liveness.md).
Times are the frames' (monotonic seconds), so a replay judges exactly like the kiosk.

Pure: no clock reads; seed `random.Random` for tests, demos and replays.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Literal

from kiosk.config import LivenessConfig
from kiosk.vision.blink import Blink

Status = Literal["pending", "passed", "failed"]
Reason = Literal["missed", "off_cue"]


@dataclass(frozen=True)
class Challenge:
    cues: tuple[float, ...]  # seconds after the start at which each cue is due, in order
    required: int  # cues that must be answered
    window: tuple[float, float]  # a blink starting this long after a cue appeared answers it
    max_strays: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.required <= len(self.cues):
            raise ValueError("a challenge needs 1..len(cues) answers")
        lo, hi = self.window
        if not 0 <= lo < hi:
            raise ValueError("the response window must be 0 <= start < end")
        if any(b - a <= hi for a, b in zip(self.cues, self.cues[1:], strict=False)):
            raise ValueError("each window must close before the next cue is due")

    @property
    def spare(self) -> int:
        return len(self.cues) - self.required


def new_challenge(rng: random.Random, cfg: LivenessConfig) -> Challenge:
    """A random challenge from the config (cue times rounded to the millisecond)."""
    t = cfg.lead_s + rng.uniform(0.0, cfg.first_jitter_s)
    cues = [t]
    for _ in range(cfg.cues + cfg.spare_cues - 1):
        t += cfg.gap_min_s + rng.uniform(0.0, cfg.gap_jitter_s)
        cues.append(t)
    return Challenge(tuple(round(c, 3) for c in cues), cfg.cues,
                     (cfg.window_start_s, cfg.window_end_s), cfg.max_strays)


@dataclass
class Cue:
    shown: float  # time of the frame on which it first appeared
    answer: Blink | None = None
    missed: bool = False


@dataclass
class LivenessCheck:
    """Tracks one challenge; call `update(t, blink)` every frame with the detector's output."""

    challenge: Challenge
    started_at: float
    answer_grace_s: float = 0.9
    shown: list[Cue] = field(default_factory=list)  # the cues shown so far
    seen: list[Blink] = field(default_factory=list)  # every blink reported during the challenge
    strays: int = 0
    status: Status = "pending"
    reason: Reason | None = None

    @property
    def required(self) -> int:
        return self.challenge.required

    @property
    def done(self) -> int:
        """Cues answered so far."""
        return sum(c.answer is not None for c in self.shown)

    @property
    def progress(self) -> float:
        return min(1.0, self.done / self.required)

    def cue_on(self, t: float) -> bool:
        """Is "Blink now" showing: the last cue is neither answered nor past its window."""
        if self.status != "pending" or not self.shown:
            return False
        last = self.shown[-1]
        return last.answer is None and t <= last.shown + self.challenge.window[1]

    def _fail(self, reason: Reason) -> Status:
        self.status, self.reason = "failed", reason
        return self.status

    def _window_of(self, start: float) -> Cue | None:
        lo, hi = self.challenge.window
        return next((c for c in self.shown if c.shown + lo <= start <= c.shown + hi), None)

    def update(self, t: float, blink: Blink | None, face: bool = True) -> Status:
        """`face`: someone is in front of the camera; a cue due while nobody is waits."""
        if self.status != "pending":
            return self.status
        due = self.challenge.cues
        if (face and len(self.shown) < len(due) and t >= self.started_at + due[len(self.shown)]
                and self.done < self.required):
            self.shown.append(Cue(t))
        if blink is not None:
            self.seen.append(blink)
            self._judge(blink)
            if self.status != "pending":
                return self.status
            if self.done >= self.required:
                self.status = "passed"
                return self.status
        hi = self.challenge.window[1]
        for cue in self.shown:
            if cue.answer is None and not cue.missed and t > cue.shown + hi + self.answer_grace_s:
                cue.missed = True
        if sum(c.missed for c in self.shown) > self.challenge.spare:
            return self._fail("missed")
        return self.status

    def _judge(self, blink: Blink) -> None:
        if not self.shown or blink.start < self.shown[0].shown:
            return  # before the first cue: nothing to answer, nothing to give away
        cue = self._window_of(blink.start)
        if cue is None:
            self.strays += 1
            if self.strays > self.challenge.max_strays:
                self._fail("off_cue")
        elif cue.answer is None and not cue.missed:
            cue.answer = blink
