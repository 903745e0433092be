"""The cued challenge of the LIVENESS stage: random "Blink now" / "Close your eyes" cues, response
windows, a pure tracker.

`new_challenge` draws when the kiosk will show each cue and what it asks: `cues` cues, of
which `closures`..`closures_max` (how many and where drawn at random) ask to close the eyes for
a moment and the rest to blink.
The first comes `lead_s` plus up to `first_jitter_s` after the instruction appears, each next
one `gap_min_s` (after a closure `close_gap_s`, time to open the eyes again) plus up to
`gap_jitter_s` after the previous. `spare_cues` more are drawn for people who miss one; a spare
asks for what was missed. `LivenessCheck` judges what the eyes do by when it *starts*:

- a blink (the detector's `Blink`, judged by `Blink.start`) answers a blink cue when it
  starts `window_start_s`..`window_end_s` after the cue appeared; a second blink in an
  answered window (a double blink) is part of the same answer;
- a closure (both eyes seen closed from `close_min_s` up to `close_max_s`, judged by its first
  closed frame) answers a close cue in the same window;
- anything else after the first cue is a stray (a blink or a closure at the wrong time, or of
  the wrong kind); more than `max_strays` fail the attempt (`"off_cue"`). What happens before
  the first cue (people blink when a new instruction appears) answers nothing and is ignored;
- a cue whose window closed unanswered is missed; more misses than `spare_cues` fail the
  attempt (`"missed"`). Blinks and closures are known when the eyes reopen, so a cue is judged
  missed only that long after its window closed;
- the attempt passes on the answer to the `cues`-th cue.

A cue is shown only on a frame with a face whose eyes are not closed: nobody would see it.

Why: a recording blinks when its subject happened to blink, independent of cues it cannot
see. To pass it must have a blink start inside every blink window (each a fraction of a second,
placed at random over more than a second) without blinking anywhere else, and its subject must
have held their eyes shut exactly when a close cue came: people do not close their eyes for
most of a second unless asked, so a recording of natural blinking cannot answer a close cue at
all. A recording made to answer one schedule still passes when another schedule happens to put
its cues in the same places, the same kinds in the same order; the attempt limits and the
presentation-attack model stand against that. The windows are measured from human reaction
times and the detector's timing (models/liveness.md). Times are the frames' (monotonic
seconds), so a replay judges exactly like the kiosk.

Pure: no clock reads; seed `random.Random` for tests, demos and replays.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Literal

from kiosk.config import LivenessConfig
from kiosk.vision.blink import Blink, EyeState

Status = Literal["pending", "passed", "failed"]
Reason = Literal["missed", "off_cue"]
Kind = Literal["blink", "close"]


@dataclass(frozen=True)
class Closure:
    """Eyes held shut: first frame seen closed, first frame seen open again."""

    start: float
    end: float


@dataclass(frozen=True)
class Challenge:
    cues: tuple[float, ...]  # seconds after the start at which each cue is due, in order
    required: int  # cues that must be answered
    window: tuple[float, float]  # an answer starting this long after a cue appeared
    max_strays: int = 0
    kinds: tuple[Kind, ...] = ()  # what the first `required` cues ask ("blink" if empty)
    close_s: tuple[float, float] = (0.6, 3.0)  # how long a closure must last (min, max)

    def __post_init__(self) -> None:
        if not 1 <= self.required <= len(self.cues):
            raise ValueError("a challenge needs 1..len(cues) answers")
        lo, hi = self.window
        if not 0 <= lo < hi:
            raise ValueError("the response window must be 0 <= start < end")
        if any(b - a <= hi for a, b in zip(self.cues, self.cues[1:], strict=False)):
            raise ValueError("each window must close before the next cue is due")
        if self.kinds and len(self.kinds) != self.required:
            raise ValueError("one kind per required cue")
        if not 0 < self.close_s[0] < self.close_s[1]:
            raise ValueError("need 0 < close_min < close_max")

    @property
    def spare(self) -> int:
        return len(self.cues) - self.required

    def kind(self, i: int) -> Kind:
        return self.kinds[i] if i < len(self.kinds) else "blink"


def new_challenge(rng: random.Random, cfg: LivenessConfig) -> Challenge:
    """A random challenge from the config (cue times rounded to the millisecond)."""
    n_close = rng.randint(cfg.closures, max(cfg.closures, cfg.closures_max))
    closes = set(rng.sample(range(cfg.cues), min(n_close, cfg.cues)))
    kinds: tuple[Kind, ...] = tuple("close" if i in closes else "blink" for i in range(cfg.cues))
    t = cfg.lead_s + rng.uniform(0.0, cfg.first_jitter_s)
    cues = [t]
    for i in range(cfg.cues + cfg.spare_cues - 1):
        after_close = i < cfg.cues and kinds[i] == "close"
        t += (cfg.close_gap_s if after_close else cfg.gap_min_s) + rng.uniform(
            0.0, cfg.gap_jitter_s)
        cues.append(t)
    return Challenge(tuple(round(c, 3) for c in cues), cfg.cues,
                     (cfg.window_start_s, cfg.window_end_s), cfg.max_strays, kinds,
                     (cfg.close_min_s, cfg.close_max_s))


@dataclass
class Cue:
    shown: float  # time of the frame on which it first appeared
    kind: Kind = "blink"
    answer: Blink | Closure | None = None
    missed: bool = False


@dataclass
class LivenessCheck:
    """Tracks one challenge; call `update` every frame with the detector's blink and the
    eyes' state (for closures)."""

    challenge: Challenge
    started_at: float
    answer_grace_s: float = 0.9  # the longest a blink takes to be reported
    shown: list[Cue] = field(default_factory=list)  # the cues shown so far
    seen: list[Blink] = field(default_factory=list)  # every blink reported during the challenge
    closures: list[Closure] = field(default_factory=list)  # every closure seen during it
    strays: int = 0
    status: Status = "pending"
    reason: Reason | None = None
    _open: bool = False  # eyes seen open since the last closure
    _closed_from: float | None = None

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

    def showing(self, t: float) -> Cue | None:
        """The cue on screen: the last one, neither answered nor past its window."""
        if self.status != "pending" or not self.shown:
            return None
        last = self.shown[-1]
        on = last.answer is None and t <= last.shown + self.challenge.window[1]
        return last if on else None

    def _fail(self, reason: Reason) -> Status:
        self.status, self.reason = "failed", reason
        return self.status

    def _next_kind(self) -> Kind:
        i = len(self.shown)
        if i < self.required:
            return self.challenge.kind(i)
        # a spare cue asks again for what was missed (a closure cannot be swapped for a blink)
        missed = [c.kind for c in self.shown if c.missed or c.answer is None]
        return "close" if "close" in missed else "blink"

    def update(self, t: float, blink: Blink | None, face: bool = True,
               eyes: EyeState = None) -> Status:
        """`face`: someone is in front of the camera; `eyes`: both open / both closed /
        undecided (None) on this frame. A cue due while nobody could see it waits."""
        if self.status != "pending":
            return self.status
        due = self.challenge.cues
        if (face and eyes != "closed" and len(self.shown) < len(due)
                and t >= self.started_at + due[len(self.shown)] and self.done < self.required):
            self.shown.append(Cue(t, self._next_kind()))
        closure = self._track(t, eyes if face else None, face)
        if closure is not None:
            self.closures.append(closure)
            self._judge(closure, "close")
        elif blink is not None:  # a closure's end is never also a blink
            self.seen.append(blink)
            self._judge(blink, "blink")
        if self.status != "pending":
            return self.status
        if self.done >= self.required:
            self.status = "passed"
            return self.status
        hi = self.challenge.window[1]
        grace = max(self.answer_grace_s, self.challenge.close_s[1])
        for cue in self.shown:
            late = self.answer_grace_s if cue.kind == "blink" else grace
            if cue.answer is None and not cue.missed and t > cue.shown + hi + late:
                cue.missed = True
        if sum(c.missed for c in self.shown) > self.challenge.spare:
            return self._fail("missed")
        return self.status

    def _track(self, t: float, eyes: EyeState, face: bool) -> Closure | None:
        """Both eyes closed from an open state for close_min..close_max seconds."""
        lo, hi = self.challenge.close_s
        if not face:
            self._open, self._closed_from = False, None
            return None
        if eyes == "closed" and self._open and self._closed_from is None:
            self._closed_from = t
        if self._closed_from is not None and t - self._closed_from > hi:
            self._open, self._closed_from = False, None  # eyes kept shut: not an answer
            return None
        if eyes != "open":
            return None
        start, self._open, self._closed_from = self._closed_from, True, None
        if start is not None and t - start >= lo:
            return Closure(start, t)
        return None

    def _judge(self, event: Blink | Closure, kind: Kind) -> None:
        if not self.shown or event.start < self.shown[0].shown:
            return  # before the first cue: nothing to answer, nothing to give away
        lo, hi = self.challenge.window
        cue = next((c for c in self.shown if c.shown + lo <= event.start <= c.shown + hi), None)
        if cue is not None and cue.kind == kind and not cue.missed:
            if cue.answer is None:
                cue.answer = event
            return  # or a second blink of an answered window
        self.strays += 1
        if self.strays > self.challenge.max_strays:
            self._fail("off_cue")
