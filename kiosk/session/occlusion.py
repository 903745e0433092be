"""The OCCLUSION stage's pure logic: smoothed per-region verdicts and the prompt that names them.

`OcclusionCheck` is fed p(blocked) per region every frame (or None when there is no face):

- each region's probability is averaged over the last `window_s` seconds, and only once at
  least `min_frames` frames are in the window: one noisy frame is never a verdict;
- a region is *blocked* while its average is at or above `threshold`, and stays named until
  its average drops below `threshold - hysteresis`, so the prompt does not flicker;
- the stage passes ("clear") after `duration_s` of continuous clear face; any blocked region,
  or losing the face, restarts that count. An occluder that comes and goes therefore keeps
  the stage from passing, and is named whenever it is there.

Pure: no clock reads (times are the observation's monotonic seconds), no model calls.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Literal

from kiosk.config import OcclusionConfig
from kiosk.domain import REGIONS
from kiosk.messages import Catalogue
from kiosk.messages import load as load_catalogue

Status = Literal["checking", "clear", "blocked"]

MASK = {"nose", "mouth"}  # both covered, nothing above: a face mask (the chin may be too)
LOWER = {"nose", "mouth", "chin"}
EYES = {"left_eye", "right_eye"}


class OcclusionCheck:
    """Tracks smoothed p(blocked) per region; see the module docstring for the rules."""

    def __init__(self, duration_s: float = 2.0, threshold: float = 0.5, window_s: float = 0.5,
                 min_frames: int = 3, hysteresis: float = 0.1) -> None:
        self.duration_s = duration_s
        self.threshold = threshold
        self.window_s = window_s
        self.min_frames = min_frames
        self.hysteresis = hysteresis
        self._history: dict[str, deque[tuple[float, float]]] = {}
        self._blocked: set[str] = set()
        self._clear_since: float | None = None
        self._last_t: float | None = None
        self.status: Status = "checking"

    @classmethod
    def from_config(cls, cfg: OcclusionConfig) -> OcclusionCheck:
        return cls(duration_s=cfg.duration_s, threshold=cfg.threshold, window_s=cfg.window_s,
                   min_frames=cfg.min_frames)

    @property
    def blocked_parts(self) -> list[str]:
        """Blocked regions in a fixed top-to-bottom order (REGIONS order)."""
        return [r for r in REGIONS if r in self._blocked] + sorted(self._blocked - set(REGIONS))

    @property
    def progress(self) -> float:
        """0..1: how much of the required clear time has been seen."""
        if self._clear_since is None or self._last_t is None:
            return 0.0
        if self.duration_s <= 0:
            return 1.0
        return min(1.0, (self._last_t - self._clear_since) / self.duration_s)

    def smoothed(self) -> dict[str, float]:
        """The window average per region (only regions with enough frames)."""
        return {r: sum(p for _, p in h) / len(h) for r, h in self._history.items()
                if len(h) >= self.min_frames}

    def update(self, t: float, regions: dict[str, float] | None) -> Status:
        self._last_t = t
        if regions is None:
            # no face, no evidence: the clear count restarts, the named parts stay named
            self._history.clear()
            self._clear_since = None
            self.status = "blocked" if self._blocked else "checking"
            return self.status
        for name, p in regions.items():
            h = self._history.setdefault(name, deque())
            h.append((t, float(p)))
            while h and h[0][0] <= t - self.window_s:
                h.popleft()
        for name, avg in self.smoothed().items():
            if avg >= self.threshold:
                self._blocked.add(name)
            elif avg < self.threshold - self.hysteresis:
                self._blocked.discard(name)
        settled = all(len(self._history.get(r, ())) >= self.min_frames for r in regions)
        if self._blocked or not settled:
            self._clear_since = None
        elif self._clear_since is None:
            self._clear_since = t
        if self._blocked:
            self.status = "blocked"
        elif self._clear_since is not None and t - self._clear_since >= self.duration_s:
            self.status = "clear"
        else:
            self.status = "checking"
        return self.status


def prompt(blocked: list[str], catalogue: Catalogue | None = None) -> tuple[str, dict[str, Any]]:
    """(message key, params) for the one most useful thing to say about the blocked parts.

    Region names in params are already in the catalogue's language (pass the session's
    catalogue; English by default)."""
    parts = set(blocked)
    if not parts:
        return "occlusion.checking", {}
    cat = catalogue or load_catalogue()
    ordered = [r for r in REGIONS if r in parts] + sorted(parts - set(REGIONS))
    if MASK <= parts <= LOWER:
        return "occlusion.mask", {"parts": cat.join(ordered)}
    if parts == EYES or parts == EYES | {"forehead"}:
        return "occlusion.sunglasses", {}
    if parts == {"mouth"}:
        # the mouth alone, nose free: not a worn mask; usually a hand, a phone or a drink
        return "occlusion.hand_mouth", {}
    if len(parts) == 1:
        (part,) = parts
        if part in EYES:
            return f"occlusion.{part}", {}
        return "occlusion.one", {"part": cat.region(part) if part in REGIONS else part}
    return "occlusion.many", {"parts": cat.join(ordered)}
