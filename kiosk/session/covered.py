"""Is the face in front of the camera covered right now? The signal that keeps the kiosk from
going silent (or blaming a swap) when a hand or an object comes over the face.

`CoverWatch.update(obs)` is fed every frame of an active stage and gives a `Cover`:

- `covered`: part of the face is hidden on this frame: a region's p(blocked) is at or above
  the occlusion threshold; or the face was found only by the fallback detector (BlazeFace
  lost it: most of it is hidden); or no face is found at all since a face that was covered,
  or stood well inside the frame, vanished within VANISH_S (a hand over the whole face hides
  it from both detectors; a person leaving crosses an edge). It stays so until a face is seen
  again; the session's walk-away time bounds it. Continuity reads it frame by frame: a
  covered frame only postpones the appearance check to the next uncovered one, so a noisy
  frame costs nothing.
- `lasting`: covered on this frame and the one before (what sends CAPTURE back to OCCLUSION:
  one noisy frame is not a cover).
- `heavy`: the detectors struggle (fallback face, or no face): the person must be told even
  outside the OCCLUSION stage, with the parts named when the region model sees them, or at
  least "Please take your hand away from your face" -- never a distance or position hint.
- `parts`: the regions blocked on this frame (subject's point of view), top to bottom.

Pure: no clock reads, no model calls.
"""

from __future__ import annotations

from dataclasses import dataclass

from kiosk.domain import REGIONS, Observation

# A face that was seen this recently (seconds) and vanished in place counts as covered.
VANISH_S = 0.5
# "In place": the last face's box kept at least this share of its width from every frame edge.
EDGE_MARGIN = 0.1


@dataclass(frozen=True)
class Cover:
    covered: bool = False
    heavy: bool = False
    parts: tuple[str, ...] = ()
    lasting: bool = False


NONE = Cover()


class CoverWatch:
    """Remembers the last face and the last frame's blocked regions; see the module docstring."""

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold
        self.reset()

    def reset(self) -> None:
        self._last_t: float | None = None  # when a face was last seen
        self._last_in_place = False
        self._last_covered = False
        self._hidden = False

    def update(self, obs: Observation) -> Cover:
        if obs.face is None:
            recent = self._last_t is not None and obs.t - self._last_t <= VANISH_S
            self._hidden = self._hidden or (recent and (self._last_covered or
                                                        self._last_in_place))
            lasting = self._last_covered
            self._last_covered = self._hidden
            return Cover(True, True, (), lasting) if self._hidden else NONE
        self._hidden = False
        blocked = {r for r, p in (obs.regions or {}).items() if p >= self.threshold}
        parts = tuple(r for r in REGIONS if r in blocked)
        fallback = obs.face.detector != "blazeface"
        covered = fallback or bool(blocked)
        lasting = covered and self._last_covered
        self._last_t = obs.t
        self._last_in_place = in_place(obs)
        self._last_covered = covered
        return Cover(covered, fallback, parts, lasting)


def in_place(obs: Observation) -> bool:
    """The face's box is well inside the frame (not leaving across an edge)."""
    assert obs.face is not None
    x, y, w, h = obs.face.box
    fw, fh = obs.frame_size
    m = EDGE_MARGIN * w
    return x >= m and y >= m and x + w <= fw - m and y + h <= fh - m
