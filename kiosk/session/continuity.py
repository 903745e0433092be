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
        self._face: Face | None = None
        self._t: float | None = None
        self._look: Look | None = None
        self._reference: Look | None = None

    def update(self, obs: Observation) -> str | None:
        why = self._check(obs)
        if why is not None:
            self.reset()
        return why

    def _check(self, obs: Observation) -> str | None:
        if obs.face is None:
            if self._t is not None and obs.t - self._t > self.cfg.lost_grace_s:
                return "face lost"
            return None
        if second_person(obs):
            return "second face"
        look = Look.of(obs)
        if self._face is not None and self._t is not None:
            dt = obs.t - self._t  # includes dropped frames and short face-less gaps
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
