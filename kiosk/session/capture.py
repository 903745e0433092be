"""CAPTURE: which frames may become the selfie, and which of them is best.

Every check reads scores the pipeline already measured (kiosk.vision.quality, the eye-state
model); the thresholds are `CaptureConfig`, measured in models/continuity.md. The chosen
frame's scores and the thresholds go into the capture metadata, so a back end (or a person
reviewing a rejected verification) sees why this frame was taken.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict

from kiosk.config import CaptureConfig
from kiosk.domain import Observation

CHECKS = ("eyes_open", "face_size", "centred", "frontal", "sharp", "exposure")


def scores(obs: Observation) -> dict[str, float]:
    """The value each check looks at, for the main face of `obs` (which must have one)."""
    q = obs.quality
    assert q is not None
    closed = max(obs.eyes.left_closed, obs.eyes.right_closed) if obs.eyes else 1.0
    return {
        "eye_closed": closed,
        "eye_distance_px": q.eye_distance_px,
        "offset": max(abs(q.offset_x), abs(q.offset_y)),
        "yaw": q.yaw,
        "roll_deg": q.roll_deg,
        "sharpness": q.sharpness,
        "luma_range": q.luma_range,
        "clipped": q.clipped,
    }


def failures(obs: Observation, cfg: CaptureConfig) -> list[str]:
    """Why this frame cannot be the selfie; empty when it can."""
    if obs.face is None or obs.quality is None:
        return ["no_face"]
    s = scores(obs)
    out = []
    if obs.eyes is None or s["eye_closed"] > cfg.max_eye_closed:
        out.append("eyes_closed")
    if s["eye_distance_px"] < cfg.min_eye_distance_px:
        out.append("face_too_small")
    if s["offset"] > cfg.max_offset:
        out.append("off_centre")
    if abs(s["yaw"]) > cfg.max_yaw or abs(s["roll_deg"]) > cfg.max_roll_deg:
        out.append("not_frontal")
    if s["sharpness"] < cfg.min_sharpness:
        out.append("blurred")
    if s["clipped"] > cfg.max_clipped or s["luma_range"] < cfg.min_luma_range:
        out.append("badly_exposed")
    return out


class Shot:
    """The one owner of the capture window and of eligibility.

    The selfie is the sharpest eligible frame of the last `buffer_s` before the shot (the end
    of the countdown); past the shot, the first eligible frame. The window is fixed when
    CAPTURE starts, so the best frame so far can never leave it: only that frame's
    full-resolution still ever needs keeping.
    """

    def __init__(self, cfg: CaptureConfig, started: float) -> None:
        self.cfg = cfg
        self.opens = started + cfg.countdown_s - cfg.buffer_s
        self.best: Observation | None = None

    def offer(self, obs: Observation) -> bool:
        """True if `obs` is the new best candidate (its still is the one worth keeping)."""
        if obs.t < self.opens or failures(obs, self.cfg):
            return False
        if self.best is not None and best([self.best, obs]) is self.best:
            return False
        self.best = obs
        return True


def best(candidates: Iterable[Observation]) -> Observation | None:
    """The sharpest frame among eligible candidates; ties go to the later frame."""
    chosen: Observation | None = None
    for obs in candidates:
        assert obs.quality is not None
        if chosen is None or obs.quality.sharpness >= chosen.quality.sharpness:  # type: ignore[union-attr]
            chosen = obs
    return chosen


def metadata(obs: Observation, cfg: CaptureConfig) -> dict[str, object]:
    """Scores of the chosen frame and the thresholds it passed, stored with the capture."""
    assert obs.face is not None and obs.quality is not None
    return {
        "frame_index": obs.index,
        "t": obs.t,
        "face": obs.face.to_json(),
        "scores": {k: round(v, 4) for k, v in scores(obs).items()},
        "checks": list(CHECKS),
        "quality": obs.quality.to_json(),
        "eyes": obs.eyes.to_json() if obs.eyes else None,
        "regions": {k: round(v, 4) for k, v in (obs.regions or {}).items()},
        "thresholds": asdict(cfg),
    }
