"""CAPTURE: which frames may become the selfie, and which of them is best."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict

from kiosk.config import CaptureConfig
from kiosk.domain import Observation


def failures(obs: Observation, cfg: CaptureConfig) -> list[str]:
    """Why this frame cannot be the selfie; empty when it can."""
    q = obs.quality
    if obs.face is None or q is None:
        return ["no_face"]
    out = []
    if obs.eyes is None or max(obs.eyes.left_closed, obs.eyes.right_closed) > cfg.max_eye_closed:
        out.append("eyes_closed")
    if q.eye_distance_px < cfg.min_eye_distance_px:
        out.append("face_too_small")
    if abs(q.yaw) > cfg.max_yaw or abs(q.roll_deg) > cfg.max_roll_deg:
        out.append("not_frontal")
    if q.sharpness < cfg.min_sharpness:
        out.append("blurred")
    if q.clipped > cfg.max_clipped or q.luma_range < cfg.min_luma_range:
        out.append("badly_exposed")
    return out


def best(candidates: Iterable[Observation]) -> Observation | None:
    """The sharpest eligible frame; ties go to the later frame."""
    chosen = None
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
        "quality": obs.quality.to_json(),
        "eyes": obs.eyes.to_json() if obs.eyes else None,
        "regions": {k: round(v, 4) for k, v in (obs.regions or {}).items()},
        "thresholds": asdict(cfg),
    }
