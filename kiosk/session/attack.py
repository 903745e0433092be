"""The presentation-attack verdict of one liveness attempt: the mean p(attack) of its frames.

From LIVENESS through CAPTURE the pipeline scores the face at `rate_hz` (not every frame:
the model costs about as much as the rest of the pipeline) and the session feeds the scores
here. Once `min_frames` scores are in, the attempt is an attack as soon as their running mean
reaches `threshold`; the verdict then stays. The mean, not single frames, decides: one odd
frame of a live face (motion blur, a glare) must not end a session, while a print or a
screen scores high on nearly every frame. A new attempt (the face was lost or swapped and
LIVENESS starts again) starts a new mean, so the frames of a live person cannot dilute
those of a photo swapped in later.

`threshold` and `min_frames` were chosen on validation subjects of NUAA, and the same code
computes the sequence-level numbers of models/presentation_attack.md. Pure: no clock reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from kiosk.config import AttackConfig

Verdict = Literal["pending", "live", "attack"]

# Frame times are multiples of the loop period: compare with a little slack so that at 15 fps
# and 7.5 Hz every second frame is scored, not every third.
_SLACK_S = 1e-3


@dataclass
class AttackCheck:
    threshold: float
    min_frames: int = 4
    interval_s: float = 0.0  # at least this long between scored frames
    count: int = field(default=0, init=False)
    total: float = field(default=0.0, init=False)
    attack: bool = field(default=False, init=False)
    _last_t: float | None = field(default=None, init=False)

    @classmethod
    def from_config(cls, cfg: AttackConfig) -> AttackCheck:
        return cls(cfg.threshold, cfg.min_frames, 1.0 / cfg.rate_hz)

    def reset(self) -> None:
        self.count, self.total, self.attack, self._last_t = 0, 0.0, False, None

    @property
    def mean(self) -> float | None:
        return self.total / self.count if self.count else None

    @property
    def verdict(self) -> Verdict:
        if self.attack:
            return "attack"
        return "live" if self.count >= self.min_frames else "pending"

    def due(self, t: float) -> bool:
        """Whether the frame at `t` should be scored (rate limit from the last scored frame)."""
        return self._last_t is None or t - self._last_t >= self.interval_s - _SLACK_S

    def update(self, t: float, score: float | None) -> Verdict:
        """Add the score of the frame at `t` (None: not scored, or no face)."""
        if score is None:
            return self.verdict
        self._last_t = t
        if not self.attack:
            self.count += 1
            self.total += score
            self.attack = self.count >= self.min_frames and self.total >= (
                self.threshold * self.count)
        return self.verdict
