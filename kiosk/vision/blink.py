"""Blink detection over time: open -> closed -> open of both eyes within human blink timing.

Each frame gives a *closure* per eye in [0, 1]: the eye-state model's p(closed) measured
against the person's own open-eye level, c = (p - ref) / (1 - ref), where ref is a low
quantile (`reference_q`) of p over the last `reference_s` seconds of frames on which no eye
read closed (a low quantile, not the median, so that a blink or a long closure during
POSITION, which feeds every frame, cannot raise the level). New people and
cameras differ most in how their open eyes score (glasses, squints, light), so the level is
per session: the POSITION stage feeds it (`calibrate()`) before the challenge, and nothing
is counted before there is one. An eye whose level is above `max_reference` reads closed
even at rest (glare, a covered eye, a photo's eye): it is unreadable and counts as open, so
it can never make a CLOSED frame (a one-eyed closure is not a blink).

An eye is *open* when its closure <= `open_at` and *closed* when >= `close_at`; in between
it is undecided. A frame is CLOSED when both eyes are closed; a closure ends on the first
frame on which an eye is open again (`reopen_either`; behind glasses one eye often keeps
reading closed for a few frames after the other reopened). A wink or a one-eye occlusion
never gives a CLOSED frame, and undecided frames never change the phase.

A blink is counted on the frame that ends a closure which followed an open frame, when
the timing fits a human blink (timestamps, not frame counts, so 6-30 fps and dropped
frames behave the same):

- the eyes were seen closed for at most `max_closed_s` (first to last CLOSED frame);
- the closure lasted at least `min_closed_s` (last open frame before to the first after):
  at 6 fps a blink is often a single CLOSED frame between two open ones;
- the whole open -> open cycle took at most `max_cycle_s`, which also ends a closure that
  goes on too long: eyes kept closed are not a blink, and need to open again first.

A closure that starts less than `merge_s` after the last counted blink ended is the second
half of a double blink: it is part of that blink and not counted again.

`update` returns a `Blink(start, end)` on the completing frame and None otherwise: `start`
is the first frame on which an eye was no longer open (the eyes closing), `end` the frame
that ended the closure (when the blink is counted). The liveness challenge times its
response windows on these.

A lost face (`None`), time going backwards, or a gap between frames above `max_gap_s`
resets the phase (not the open-eye level); the blink count is kept. The defaults are
chosen on the validation people of the ZJU benchmark (models/blink.md).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import Enum
from typing import Literal

from kiosk.domain import Eyes


@dataclass(frozen=True)
class Blink:
    """One counted blink: eyes seen closing, and the frame seen open again."""

    start: float
    end: float


EyeState = Literal["open", "closed"] | None  # both eyes open / both closed / in between


@dataclass(frozen=True)
class BlinkParams:
    open_at: float = 0.1
    close_at: float = 0.3
    min_closed_s: float = 0.05
    # longer closures answer the liveness "Close your eyes" cue instead: keep below its
    # close_min_s (the blink benchmark treats longer values as unsafe)
    max_closed_s: float = 0.5
    max_cycle_s: float = 0.9
    max_gap_s: float = 0.4
    calibrate: bool = True  # closure relative to the session's open-eye level
    reference_s: float = 2.0  # open-eye reference: over this many seconds of frames ...
    reference_q: float = 0.3  # ... this quantile of p (0.5: the median)
    reference_min: int = 3  # frames needed before there is a reference
    max_reference: float = 0.5  # an eye whose open level is above this is unreadable
    reopen_either: bool = True  # a closure ends when either eye is open (else: both)
    merge_s: float = 0.1  # a closure starting this soon after a blink ended is part of it

    def __post_init__(self) -> None:
        if not 0.0 <= self.open_at < self.close_at <= 1.0:
            raise ValueError("need 0 <= open_at < close_at <= 1 (the hysteresis band)")
        if not 0.0 <= self.min_closed_s <= self.max_closed_s <= self.max_cycle_s:
            raise ValueError("need 0 <= min_closed_s <= max_closed_s <= max_cycle_s")
        if not 0.0 <= self.max_reference < 1.0:
            raise ValueError("need 0 <= max_reference < 1")
        if self.reference_s <= 0 or self.reference_min < 1:
            raise ValueError("need reference_s > 0 and reference_min >= 1")
        if not 0.0 <= self.reference_q <= 1.0 or self.merge_s < 0:
            raise ValueError("need 0 <= reference_q <= 1 and merge_s >= 0")


def _unit(v: float) -> float:
    return min(1.0, max(0.0, v))


class _Phase(Enum):
    UNKNOWN = "unknown"  # no OPEN frame seen since the last reset
    OPEN = "open"
    CLOSED = "closed"
    TOO_LONG = "too_long"  # closure outlasted a blink: wait for OPEN without counting


def _quantile(values: list[float], q: float) -> float:
    """Linear-interpolated quantile (q = 0.5 is the median)."""
    v = sorted(values)
    x = q * (len(v) - 1)
    i = min(int(x), len(v) - 2) if len(v) > 1 else 0
    return v[i] if len(v) == 1 else v[i] + (v[i + 1] - v[i]) * (x - i)


class _Reference:
    """Per-eye quantile of a signal over the last `seconds` of frames fed to it."""

    def __init__(self, seconds: float, minimum: int, q: float) -> None:
        self.seconds, self.minimum, self.q = seconds, minimum, q
        self._values: deque[tuple[float, float, float]] = deque()
        self._level: tuple[float, float] | None = None

    def add(self, t: float, left: float, right: float) -> None:
        self._values.append((t, left, right))
        while self._values and self._values[0][0] < t - self.seconds:
            self._values.popleft()
        self._level = None

    def get(self) -> tuple[float, float] | None:
        if len(self._values) < self.minimum:
            return None
        if self._level is None:
            self._level = (_quantile([v[1] for v in self._values], self.q),
                           _quantile([v[2] for v in self._values], self.q))
        return self._level

    def clear(self) -> None:
        self._values.clear()
        self._level = None


class BlinkDetector:
    """Feed `update(t, eyes)` once per frame; a `Blink` on the frame one completes."""

    def __init__(self, params: BlinkParams | None = None) -> None:
        self.params = params or BlinkParams()
        self._count = 0
        p = self.params
        self._ref = _Reference(p.reference_s, p.reference_min, p.reference_q)
        self.reset()

    @property
    def count(self) -> int:
        return self._count

    @property
    def closed(self) -> bool:
        """Inside a closure (the eyes were seen closed and have not opened since)."""
        return self._phase in (_Phase.CLOSED, _Phase.TOO_LONG)

    def reset(self) -> None:
        """Forget the phase and the count (a new challenge); keep the open-eye reference."""
        self._count = 0
        self._reset_phase()
        self._last_t: float | None = None
        self._last_end: float | None = None  # when the last counted blink ended

    def forget(self) -> None:
        """Also forget the open-eye reference (a new person)."""
        self.reset()
        self._ref.clear()

    def _reset_phase(self) -> None:
        self._phase = _Phase.UNKNOWN
        self._last_open = 0.0
        self._onset: float | None = None
        self._start = 0.0
        self._first_closed = 0.0
        self._last_closed = 0.0

    def calibrate(self, t: float, eyes: Eyes | None) -> None:
        """Feed a frame of the person looking at the screen (POSITION) without counting."""
        if eyes is not None:
            self._ref.add(t, eyes.left_closed, eyes.right_closed)

    def closure(self, eyes: Eyes) -> tuple[float, float]:
        """Closure of the left and right eye in [0, 1] against the current reference."""
        p = self.params
        c = [eyes.left_closed, eyes.right_closed]
        ref = self._ref.get() if p.calibrate else None
        if ref is not None:
            # an eye that reads closed even at rest (glare, a covered eye, a photo) says
            # nothing: it counts as open, so it can never make a CLOSED frame
            c = [(v - r) / (1.0 - r) if r <= p.max_reference else 0.0
                 for v, r in zip(c, ref, strict=True)]
        return _unit(c[0]), _unit(c[1])

    def state(self, eyes: Eyes) -> EyeState:
        """Both eyes open, both closed, or in between, read as `update` reads them (so a
        liveness closure and a blink see the eyes alike): "open" when both are open, or
        either with `reopen_either` (the rule that ends a closure)."""
        p = self.params
        lo, hi = sorted(self.closure(eyes))
        if (lo if p.reopen_either else hi) <= p.open_at:
            return "open"
        if lo >= p.close_at:
            return "closed"
        return None

    def update(self, t: float, eyes: Eyes | None) -> Blink | None:
        p = self.params
        if eyes is None or (self._last_t is not None and not 0 <= t - self._last_t <= p.max_gap_s):
            self._reset_phase()
        self._last_t = t
        if eyes is None:
            return None
        lo, hi = sorted(self.closure(eyes))
        ready = not p.calibrate or self._ref.get() is not None
        if not ready or (not self.closed and hi < p.close_at):
            self.calibrate(t, eyes)  # the level follows eyes that look open, not closures
        if not ready:
            return None  # no open-eye level yet: nothing to measure a closure against
        if self._phase in (_Phase.CLOSED, _Phase.TOO_LONG) and t - self._last_open > p.max_cycle_s:
            self._phase = _Phase.TOO_LONG
        if hi <= p.open_at:
            self._onset = None  # both eyes open: nothing is closing
        elif self._onset is None:
            self._onset = t  # the first frame on which an eye is no longer open
        if (lo if p.reopen_either else hi) <= p.open_at:  # open again: a closure has ended
            counted = self._phase is _Phase.CLOSED and (
                self._last_closed - self._first_closed <= p.max_closed_s
                and t - self._last_open >= p.min_closed_s
            )
            self._phase, self._last_open = _Phase.OPEN, t
            if not counted:
                return None
            merged = (self._last_end is not None  # (1e-6: a gap of exactly merge_s is not)
                      and self._start - self._last_end < p.merge_s - 1e-6)
            self._last_end = t
            if merged:
                return None  # the second closure of a double blink: part of the last blink
            self._count += 1
            return Blink(self._start, t)
        if lo >= p.close_at:  # both eyes closed
            if self._phase is _Phase.OPEN:
                self._phase, self._first_closed = _Phase.CLOSED, t
                onset = self._onset if self._onset is not None else t
                self._start = onset if t - onset <= p.max_closed_s else t
            if self._phase is _Phase.CLOSED:
                self._last_closed = t
        return None
