"""A second look with YuNet when BlazeFace misses: around the face just seen, or a slow scan.

BlazeFace misses faces that are mostly covered (a hand, a bottle, a mask, a balaclava), the
very faces whose covered parts the kiosk must name. YuNet finds most of them
(models/face_detector.md) but costs as much as BlazeFace, so it runs only on frames where
BlazeFace found nothing near the face last seen: on a window around that face, or, when no face
was seen lately, on the whole frame at most every SCAN_S (a person who walks up already
covered is found within a few frames; an empty scene costs one extra call in a few).
"""

from __future__ import annotations

import math

import numpy as np

from kiosk.domain import Box, Face
from kiosk.vision.yunet import YuNet

# How long after the face was last seen the fallback keeps looking for it (a person standing
# still behind a hand is found again every frame, so this only bounds a search for nobody).
SEARCH_S = 1.0
# With no face seen lately, the whole frame is searched this often (seconds), scaled to SCAN_PX.
SCAN_S = 0.2
SCAN_PX = 160
# The window searched: a square of this many eye distances of the last seen face (a face box
# is about 2.3 eye distances wide, so the face fills ~45% of it, ~60 px of a 128 px input).
WINDOW_EYE_DISTANCES = 5.0
# A face counts as the one last seen within this shift (eye distances) and size ratio; the
# continuity check then applies the real motion limits.
MAX_SHIFT = 1.5
MAX_SCALE = 1.6


def prior_window(prior: Face) -> Box:
    side = WINDOW_EYE_DISTANCES * prior.eye_distance
    cx, cy = prior.center
    return (cx - side / 2, cy - side / 2, side, side)


class Fallback:
    """Finds the face last seen again with YuNet; None when it is not there."""

    def __init__(self, yunet: YuNet, scan_min_score: float | None = None) -> None:
        self.yunet = yunet
        # a face found with no face seen before it needs more confidence: in an empty scene a
        # false one would start a session (models/face_detector.md)
        self.scan_min_score = max(scan_min_score or 0.0, yunet.min_score)

    @staticmethod
    def near(faces: list[Face], prior: Face) -> Face | None:
        """The face of `faces` that is `prior` moved a little (closest first), or None."""
        d = max(prior.eye_distance, 1e-3)
        px, py = prior.center
        best, best_shift = None, MAX_SHIFT
        for f in faces:
            shift = math.hypot(f.center[0] - px, f.center[1] - py) / d
            scale = abs(math.log(max(f.eye_distance, 1e-3) / d))
            if shift <= best_shift and scale <= math.log(MAX_SCALE):
                best, best_shift = f, shift
        return best

    def find(self, image: np.ndarray, prior: Face) -> Face | None:
        return self.near(self.yunet.detect(image, prior_window(prior)), prior)

    def scan(self, image: np.ndarray) -> list[Face]:
        """Every face in the whole frame, largest first."""
        faces = [f for f in self.yunet.detect(image, size=SCAN_PX)
                 if f.score >= self.scan_min_score]
        return sorted(faces, key=lambda f: -f.eye_distance)
