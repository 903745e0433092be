"""Continuity: the face that blinked is the face that gets photographed (no swap after liveness)."""

from __future__ import annotations

import math

from kiosk.config import Config, ContinuityConfig
from kiosk.domain import Face, Observation
from kiosk.session.guidance import second_person

# Below this frame interval the per-frame limits would be dominated by detector jitter.
MIN_DT = 1 / 30


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

    def update(self, obs: Observation) -> str | None:
        if obs.face is None:
            if self._t is not None and obs.t - self._t > self.cfg.lost_grace_s:
                self.reset()
                return "face lost"
            return None
        if second_person(obs):
            self.reset()
            return "second face"
        why = None
        if self._face is not None and self._t is not None:
            why = self._jump(self._face, obs.face, max(obs.t - self._t, MIN_DT))
        self._face, self._t = obs.face, obs.t
        if why:
            self.reset()
        return why

    def _jump(self, before: Face, after: Face, dt: float) -> str | None:
        d = before.eye_distance
        (bx, by), (ax, ay) = before.center, after.center
        if math.hypot(ax - bx, ay - by) / d > self.cfg.max_speed * dt:
            return "face jumped"
        if abs(math.log(max(after.eye_distance, 1e-3) / d)) > self.cfg.max_scale_rate * dt:
            return "face size jumped"
        return None
