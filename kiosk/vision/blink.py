"""Blink detection over time: open -> closed -> open of both eyes within human blink timing.

Each frame's `Eyes` is classified with hysteresis thresholds:

- an eye is *open* when p(closed) <= `open_at` (0.25) and *closed* when p(closed) >=
  `close_at` (0.5); in between it is undecided. The band sits low because the eye-state model
  scores open eyes near 0 but closed eyes of people and cameras it has not seen lower than
  those it was trained on (models/eye_state.md), and a short blink at 25 fps is often caught
  half-way on its single closed frame. A frame is OPEN when both eyes are open, CLOSED when both
  are closed, otherwise undecided (a half-closed eye, a wink, a covered eye).
- Undecided frames never change the phase, so an eye hovering in the band cannot make blinks,
  and a wink or a one-eye occlusion (one eye open, the other closed or unreadable) never
  gives a CLOSED frame.

A blink is counted on the first OPEN frame after at least one CLOSED frame that itself followed
an OPEN frame, when the timing fits a human blink (work on timestamps, not frame counts, so
6-30 fps and dropped frames behave the same):

- the eyes were seen closed for at most `max_closed_s` (0.5 s: first to last CLOSED frame);
- the closure may have lasted at least `min_closed_s` (0.05 s: last OPEN before to first OPEN
  after) — at 6 fps a blink is often a single CLOSED frame between two open ones;
- the whole open -> open cycle took at most `max_cycle_s` (0.9 s), which also ends a closure
  that goes on too long: eyes kept closed are not a blink, and need OPEN again first.

`update` returns a `Blink(start, end)` on the completing frame and None otherwise: `start` is
the time of the first CLOSED frame, `end` the time of the OPEN frame that completed it (when
the blink is counted). The liveness challenge times its response windows on these.

A lost face (`None`), time going backwards, or a gap between frames above `max_gap_s` (0.4 s:
too long to know what the eyes did) resets the phase; the blink count is kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from kiosk.domain import Eyes


@dataclass(frozen=True)
class Blink:
    """One counted blink: first frame seen closed, and the frame seen open again."""

    start: float
    end: float


@dataclass(frozen=True)
class BlinkParams:
    open_at: float = 0.25
    close_at: float = 0.5
    min_closed_s: float = 0.05
    max_closed_s: float = 0.5
    max_cycle_s: float = 0.9
    max_gap_s: float = 0.4

    def __post_init__(self) -> None:
        if not 0.0 <= self.open_at < self.close_at <= 1.0:
            raise ValueError("need 0 <= open_at < close_at <= 1 (the hysteresis band)")
        if not 0.0 <= self.min_closed_s <= self.max_closed_s <= self.max_cycle_s:
            raise ValueError("need 0 <= min_closed_s <= max_closed_s <= max_cycle_s")


class _Phase(Enum):
    UNKNOWN = "unknown"  # no OPEN frame seen since the last reset
    OPEN = "open"
    CLOSED = "closed"
    TOO_LONG = "too_long"  # closure outlasted a blink: wait for OPEN without counting


class BlinkDetector:
    """Feed `update(t, eyes)` once per frame; a `Blink` exactly on the frame one completes."""

    def __init__(self, params: BlinkParams | None = None) -> None:
        self.params = params or BlinkParams()
        self._count = 0
        self.reset()

    @property
    def count(self) -> int:
        return self._count

    def reset(self) -> None:
        """Forget the phase and the count (a new session)."""
        self._count = 0
        self._reset_phase()
        self._last_t: float | None = None

    def _reset_phase(self) -> None:
        self._phase = _Phase.UNKNOWN
        self._last_open = 0.0
        self._first_closed = 0.0
        self._last_closed = 0.0

    def _state(self, eyes: Eyes) -> _Phase | None:
        p = self.params
        hi, lo = max(eyes.left_closed, eyes.right_closed), min(eyes.left_closed, eyes.right_closed)
        if hi <= p.open_at:
            return _Phase.OPEN
        if lo >= p.close_at:
            return _Phase.CLOSED
        return None

    def update(self, t: float, eyes: Eyes | None) -> Blink | None:
        p = self.params
        if eyes is None or (self._last_t is not None and not 0 <= t - self._last_t <= p.max_gap_s):
            self._reset_phase()
        self._last_t = t
        if eyes is None:
            return None
        state = self._state(eyes)
        if self._phase in (_Phase.CLOSED, _Phase.TOO_LONG) and t - self._last_open > p.max_cycle_s:
            self._phase = _Phase.TOO_LONG
        if state is _Phase.OPEN:
            counted = self._phase is _Phase.CLOSED and (
                self._last_closed - self._first_closed <= p.max_closed_s
                and t - self._last_open >= p.min_closed_s
            )
            self._phase, self._last_open = _Phase.OPEN, t
            if not counted:
                return None
            self._count += 1
            return Blink(self._first_closed, t)
        if state is _Phase.CLOSED:
            if self._phase is _Phase.OPEN:
                self._phase, self._first_closed = _Phase.CLOSED, t
            if self._phase is _Phase.CLOSED:
                self._last_closed = t
        return None
