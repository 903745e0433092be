"""Continuity: the face that blinked is the face that gets photographed (no swap after liveness).

Four checks, each frame from the start of LIVENESS until the selfie is stored (thresholds and
the measurements behind them: models/continuity.md):

- presence: no face for longer than `lost_grace_s` breaks it;
- one person: a second face of comparable size breaks it;
- motion: the face centre and size may change only as fast as a person moves; the allowance
  grows with the time since the face was last seen, so any loop rate and dropped frames work;
- appearance: the grey face patch (`Observation.signature`) and the face colour (Lab chroma,
  saturation) must match the previous face or a running reference of this face. A printed
  photo, even of the same person, differs in colour rendition; another person differs in both.

A covered face (`update(obs, covered=True)`: a hand or an object over part of it, see
kiosk.session.covered) is not a swap: its look and its keypoints change because of the cover.
Once an uncovered face has been seen, a covered spell puts appearance on *hold* for at most
`max_covered_s`: the look and the reference stay as they were before the cover, a missing face
is allowed, and the face, when found, may move only as fast as a person moves (the motion
limit plus COVER_JITTER: the keypoints of a covered face are partly guessed, so its size is not
trusted either). The first uncovered frame must then match the look from before the cover and
its size (within PLACE_SCALE, and never stricter than a frame-to-frame step): a swap made
behind the cover is compared with the face that was there. A face covered from the start has
no uncovered look to hold on to, so it is checked frame by frame as usual (uncovering it then
reads as a change of face).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from kiosk.config import Config, ContinuityConfig
from kiosk.domain import Face, Observation
from kiosk.session.guidance import second_person

# Below this frame interval the motion limits would be dominated by detector jitter.
MIN_DT = 1 / 30
# During and right after a covered spell: extra centre movement allowed per frame, in eye
# distances of the last uncovered face (covered keypoints wander: YuNet and BlazeFace disagree
# by up to 0.23 on clear faces, p90); the |log size| change allowed on uncovering, plus the
# scale-rate limit over at most SCALE_GROWTH_S of the time covered. Chosen on the validation
# subjects of models/continuity_eval.py --covers --sweep: fewest live clips broken, then most
# swaps behind a cover caught (models/continuity.md).
COVER_JITTER = 0.25
PLACE_SCALE = 0.2
SCALE_GROWTH_S = 0.0


@dataclass(frozen=True)
class Look:
    """What the appearance check compares: grey patch (unit norm) and face colour."""

    signature: np.ndarray
    chroma: tuple[float, float]  # Lab a*, b*
    saturation: float

    @classmethod
    def of(cls, obs: Observation) -> Look | None:
        if obs.signature is None or obs.quality is None:
            return None
        q = obs.quality
        return cls(obs.signature, (q.chroma_a, q.chroma_b), q.saturation)

    def blend(self, other: Look, weight: float) -> Look:
        """Moves this reference `weight` of the way towards `other` (exponential average)."""
        sig = (1 - weight) * self.signature + weight * other.signature
        sig = sig / max(float(np.linalg.norm(sig)), 1e-9)
        a = (1 - weight) * self.chroma[0] + weight * other.chroma[0]
        b = (1 - weight) * self.chroma[1] + weight * other.chroma[1]
        sat = (1 - weight) * self.saturation + weight * other.saturation
        return Look(sig, (a, b), sat)


def differences(a: Look, b: Look) -> tuple[float, float, float]:
    """(1 - patch correlation, largest chroma shift, saturation shift) between two looks."""
    corr = float(np.dot(a.signature, b.signature))
    chroma = max(abs(a.chroma[0] - b.chroma[0]), abs(a.chroma[1] - b.chroma[1]))
    return 1.0 - corr, chroma, abs(a.saturation - b.saturation)


CUES = ("face pattern changed", "face colour changed", "face saturation changed")


def limits(cfg: ContinuityConfig) -> tuple[float, float, float]:
    return 1.0 - cfg.min_correlation, cfg.max_chroma_shift, cfg.max_saturation_shift


class Continuity:
    """Tracks one face from the start of LIVENESS; `update` names the break, or None."""

    def __init__(self, cfg: ContinuityConfig) -> None:
        self.cfg = cfg
        self.reset()

    @classmethod
    def from_config(cls, cfg: Config) -> Continuity:
        return cls(cfg.continuity)

    def reset(self) -> None:
        self._face: Face | None = None  # the last face (the last uncovered one during a hold)
        self._t: float | None = None
        self._look: Look | None = None
        self._reference: Look | None = None
        self._clear_seen = False  # an uncovered face was accepted: a hold has a look to keep
        self._held_since: float | None = None  # start of the current covered spell
        self._moving: tuple[float, Face] | None = None  # the last face seen while covered

    def update(self, obs: Observation, covered: bool = False) -> str | None:
        why = self._check(obs, covered)
        if why is not None:
            self.reset()
        return why

    def _check(self, obs: Observation, covered: bool) -> str | None:
        if covered and self._clear_seen and self._face is not None:
            return self._hold(obs)
        if obs.face is None:
            if self._t is not None and obs.t - self._t > self.cfg.lost_grace_s:
                return "face lost"
            return None
        if second_person(obs):
            return "second face"
        look = Look.of(obs)
        if self._face is not None and self._t is not None:
            dt = obs.t - self._t  # includes dropped frames and short face-less gaps
            if self._held_since is not None:
                # uncovered: the face that was there before the cover, looking as it did then
                why = self._covered_moved(obs) or self._resized(obs)
                self._held_since = self._moving = None
            else:
                why = self._jump(self._face, obs.face, max(dt, MIN_DT))
            if why is not None:
                return why
            off = self.appearance(look)
            for cue, d, limit in zip(CUES, off or (), limits(self.cfg), strict=False):
                if d > limit:
                    return cue
            self._follow(look, dt)
        else:
            self._look = self._reference = look
        self._face, self._t = obs.face, obs.t
        self._clear_seen |= not covered
        return None

    def _hold(self, obs: Observation) -> str | None:
        """A covered frame after an uncovered face: presence, one person, no jumps."""
        if self._held_since is None:
            self._held_since = obs.t
        if obs.t - self._held_since > self.cfg.max_covered_s:
            return "covered too long"
        if obs.face is None:
            return None
        if second_person(obs):
            return "second face"
        why = self._covered_moved(obs)
        self._moving = (obs.t, obs.face)
        return why

    def _covered_moved(self, obs: Observation) -> str | None:
        """Centre motion since the last face seen (covered or not), in the uncovered face's
        eye distances: the motion limit plus COVER_JITTER."""
        assert self._face is not None and self._t is not None and obs.face is not None
        t, before = self._moving or (self._t, self._face)
        (bx, by), (ax, ay) = before.center, obs.face.center
        allowed = self.cfg.max_speed * max(obs.t - t, MIN_DT) + COVER_JITTER
        if math.hypot(ax - bx, ay - by) / self._face.eye_distance > allowed:
            return "face jumped while covered"
        return None

    def _resized(self, obs: Observation) -> str | None:
        """Uncovered: the size against the last uncovered face (a covered face's is a guess),
        never stricter than the frame-to-frame limit since the last face seen."""
        assert self._face is not None and self._t is not None and obs.face is not None
        last_seen = (self._moving or (self._t, self._face))[0]
        allowed = max(PLACE_SCALE + self.cfg.max_scale_rate * min(obs.t - self._t,
                                                                   SCALE_GROWTH_S),
                      self.cfg.max_scale_rate * max(obs.t - last_seen, MIN_DT))
        if abs(math.log(max(obs.face.eye_distance, 1e-3) / self._face.eye_distance)) > allowed:
            return "face size changed while covered"
        return None

    def appearance(self, look: Look | None) -> tuple[float, float, float] | None:
        """Per cue, the smaller difference to the last face and to the running reference.

        The last face follows quick real changes (turning, a smile); the reference keeps the
        track after a borderline frame (motion blur, a glint on glasses) became the last face.
        A swap is off against both.
        """
        if look is None or self._look is None or self._reference is None:
            return None
        near, far = differences(look, self._look), differences(look, self._reference)
        return min(near[0], far[0]), min(near[1], far[1]), min(near[2], far[2])

    def _follow(self, look: Look | None, dt: float) -> None:
        if look is None:
            return
        self._look = look
        if self._reference is None:
            self._reference = look
            return
        tau = self.cfg.reference_tau_s
        self._reference = self._reference.blend(look, 1 - math.exp(-dt / tau) if tau > 0 else 1)

    def _jump(self, before: Face, after: Face, dt: float) -> str | None:
        d = before.eye_distance
        (bx, by), (ax, ay) = before.center, after.center
        if math.hypot(ax - bx, ay - by) / d > self.cfg.max_speed * dt:
            return "face jumped"
        if abs(math.log(max(after.eye_distance, 1e-3) / d)) > self.cfg.max_scale_rate * dt:
            return "face size jumped"
        return None
